"""Roles and what they may do, as data.

A user has one role in one agency. An API token carries scopes; what a request may do is the
intersection of the user's role and the token's scopes (a session has the whole role).
"""

from __future__ import annotations

from dataclasses import dataclass

PERMISSIONS: dict[str, str] = {
    "cases:read": "list and read case records (personal fields redacted)",
    "cases:read-personal": "see personal fields of the agency's own records",
    "cases:write": "add case records",
    "cases:erase": "erase case records, with their shared copies",
    "shares:read": "see the agency's shares and share requests",
    "shares:manage": "offer, request, approve, reject and revoke shares",
    "subjects:manage": "subject-access export and erasure on request",
    "audit:read": "read the agency's audit entries and breach reports",
    "users:manage": "see the agency's users",
    "pprl:deposit": "deposit and withdraw the agency's linkage encodings (CLKs)",
    "pprl:query": "ask which other agencies hold a record like one of ours (encodings only)",
    "pprl:contact": "set the agency's contact route for linkage questions",
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "investigator": frozenset(
        {
            "cases:read",
            "cases:read-personal",
            "cases:write",
            "shares:read",
            "shares:manage",
            "pprl:deposit",
            "pprl:query",
        }
    ),
    "analyst": frozenset({"cases:read", "cases:write", "shares:read", "pprl:deposit"}),
    "auditor": frozenset({"audit:read", "shares:read"}),
    "viewer": frozenset({"cases:read"}),
}
ROLES = tuple(ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Principal:
    """Who is calling, for which agency, with what they may do."""

    user_id: str
    agency_id: str
    email: str
    role: str
    permissions: frozenset[str]
    via: str  # "token", "session" or "cli"
    credential_id: str = ""
    csrf_hash: bytes = b""
    client: str = ""

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def effective_permissions(role: str, scopes: list[str] | None) -> frozenset[str]:
    allowed = ROLE_PERMISSIONS.get(role, frozenset())
    return allowed if scopes is None else allowed & frozenset(scopes)

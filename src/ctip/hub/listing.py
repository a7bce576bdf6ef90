"""Listing case records: filters, blind-index look-ups and keyset pagination.

Newest first, by (imported_at, id) for the agency's own records and (shared_at, case_id) for
copies shared with it; the cursor is opaque to clients and checked when it comes back.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ctip.hub.cases import (
    CASE_COLUMNS,
    case_view,
    decrypt_own,
    entry,
    is_uuid,
    require,
    shared_view,
)
from ctip.hub.crypto import blind_index
from ctip.hub.database import tenant
from ctip.hub.errors import InvalidError
from ctip.hub.permissions import Principal
from ctip.hub.runtime import Hub

LIST_FILTERS = {
    "gender": "record->>'gender' = :gender",
    "year_of_registration": "(record->>'year_of_registration')::int = :year_of_registration",
    "country_of_exploitation": "record->>'country_of_exploitation' = :country_of_exploitation",
    "exploitation_type": "record->'exploitation_types' ? :exploitation_type",
    "citizenship": "record->'citizenship' ? :citizenship",
}


@dataclass
class CaseQuery:
    limit: int = 50
    cursor: str | None = None
    scope: str = "own"
    include_personal: bool = False
    external_id: str | None = None
    collection: str | None = None
    legal_basis: str | None = None
    gender: str | None = None
    year_of_registration: int | None = None
    country_of_exploitation: str | None = None
    exploitation_type: str | None = None
    citizenship: str | None = None
    identity_number: str | None = None
    email: str | None = None
    phone: str | None = None


def _cursor(moment: datetime, case_id: str) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{case_id}".encode()).decode()


def _parse_cursor(text: str) -> tuple[datetime, str]:
    try:
        moment, case_id = base64.urlsafe_b64decode(text.encode()).decode().split("|")
        parsed = datetime.fromisoformat(moment)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidError("cursor is not one this server gave out") from error
    if not is_uuid(case_id) or parsed.tzinfo is None:
        raise InvalidError("cursor is not one this server gave out")
    return parsed, case_id


def list_cases(hub: Hub, principal: Principal, query: CaseQuery) -> dict[str, Any]:
    """A page of cases, newest first, with keyset pagination (``next_cursor``)."""
    require(principal, "cases:read")
    if query.include_personal:
        require(principal, "cases:read-personal")
    limit = max(1, min(query.limit, hub.settings.max_page_size))
    params: dict[str, Any] = {"a": principal.agency_id, "limit": limit + 1}
    clauses: list[str] = []
    for name, clause in LIST_FILTERS.items():
        value = getattr(query, name)
        if value is not None:
            clauses.append(clause)
            params[name] = value
    with tenant(hub.app, principal.agency_id) as connection:
        if query.scope == "shared":
            return _list_shared(hub, connection, principal, query, clauses, params, limit)
        for column in ("external_id", "collection", "legal_basis"):
            value = getattr(query, column)
            if value is not None:
                clauses.append(f"{column} = :{column}")
                params[column] = value
        lookups = {
            "identity_number": query.identity_number,
            "email": query.email,
            "phone": query.phone,
        }
        if any(v is not None for v in lookups.values()):
            index_key = hub.keys.index_key(connection, principal.agency_id)
            for kind, value in lookups.items():
                if value is not None:
                    clauses.append(f"bi_{kind} = :bi_{kind}")
                    params[f"bi_{kind}"] = blind_index(index_key, kind, value) or b""
        if query.cursor:
            moment, last_id = _parse_cursor(query.cursor)
            clauses.append("(imported_at, id) < (:c_at, :c_id)")
            params.update(c_at=moment, c_id=last_id)
        where = " AND ".join(["agency_id = :a", *clauses])
        rows = (
            connection.execute(
                sa.text(
                    f"SELECT {CASE_COLUMNS} FROM cases WHERE {where}"
                    " ORDER BY imported_at DESC, id DESC LIMIT :limit"
                ),
                params,
            )
            .mappings()
            .all()
        )
        page = rows[:limit]
        items = [
            case_view(
                row,
                decrypt_own(hub, connection, principal.agency_id, row)
                if query.include_personal
                else None,
                None,
            )
            for row in page
        ]
    if query.include_personal and items:
        hub.batcher.append(
            entry(
                principal,
                "cases.read-personal",
                "case-list",
                "",
                case_ids=[item["id"] for item in items],
            )
        )
    next_cursor = (
        _cursor(page[-1]["imported_at"], str(page[-1]["id"])) if len(rows) > limit else None
    )
    return {"items": items, "next_cursor": next_cursor}


def _list_shared(
    hub: Hub,
    connection: Connection,
    principal: Principal,
    query: CaseQuery,
    clauses: list[str],
    params: dict[str, Any],
    limit: int,
) -> dict[str, Any]:
    clauses = [c.replace("record", "sc.record") for c in clauses]
    if query.cursor:
        moment, last_id = _parse_cursor(query.cursor)
        clauses.append("(sc.shared_at, sc.case_id) < (:c_at, :c_id)")
        params.update(c_at=moment, c_id=last_id)
    where = " AND ".join(
        ["sc.recipient_agency_id = :a", "s.status = 'active'", "sc.expires_at > now()", *clauses]
    )
    rows = (
        connection.execute(
            sa.text(
                "SELECT sc.case_id AS id, sc.owner_agency_id AS agency_id, sc.record,"
                " sc.personal, sc.expires_at, sc.shared_at, s.id AS share_id, s.purpose,"
                " s.legal_basis AS share_legal_basis, s.fields, s.wrapped_key"
                f" FROM shared_cases sc JOIN shares s ON s.id = sc.share_id WHERE {where}"
                " ORDER BY sc.shared_at DESC, sc.case_id DESC LIMIT :limit"
            ),
            params,
        )
        .mappings()
        .all()
    )
    page = rows[:limit]
    personal = query.include_personal and principal.can("cases:read-personal")
    items = [shared_view(hub, row, personal) for row in page]
    owners = {item["agency_id"] for item in items if item["share"]["fields"]}
    for owner in sorted(owners) if personal else []:
        hub.batcher.append(
            entry(
                principal,
                "cases.read-personal",
                "case-list",
                "",
                subject=owner,
                case_ids=[item["id"] for item in items if item["agency_id"] == owner],
            )
        )
    next_cursor = _cursor(page[-1]["shared_at"], str(page[-1]["id"])) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}

"""Data-protection duties: retention, subject access, erasure on request, breach reports.

- Retention: each agency sets how many days it keeps records, by legal basis or for all
  (``*``); ``ctip hub retention sweep`` erases what is older, with its shared copies, and
  drops expired shared copies and stale sessions.
- Subject access and erasure find a person's records through the blind indexes (identity
  number, email, phone, or name with birth date), never by decrypting the whole table.
- The breach report lists who touched which records in a time window, from the audit log,
  including other agencies reading copies shared with them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ctip.hub.admin import agency_id_by_name, audit_operator
from ctip.hub.audit import accessed_records, iter_entries
from ctip.hub.cases import case_view, check_legal_basis, decrypt_own, entry, require
from ctip.hub.crypto import blind_index, person_name
from ctip.hub.database import tenant
from ctip.hub.errors import InvalidError
from ctip.hub.permissions import Principal
from ctip.hub.runtime import Hub

# --- retention ---------------------------------------------------------------------------------


def set_retention(hub: Hub, agency: str, days: int, legal_basis: str | None) -> dict[str, Any]:
    if days <= 0:
        raise InvalidError("retention is a positive number of days")
    basis = (check_legal_basis(legal_basis) if legal_basis else None) or "*"
    with hub.owner.begin() as connection:
        agency_id = agency_id_by_name(connection, agency)
        connection.execute(
            sa.text(
                "INSERT INTO retention_policies (agency_id, legal_basis, days) VALUES (:a, :b, :d)"
                " ON CONFLICT (agency_id, legal_basis) DO UPDATE SET days = excluded.days"
            ),
            {"a": agency_id, "b": basis, "d": days},
        )
        audit_operator(
            hub, connection, "retention.set", agency_id, "retention-policy", basis, days=days
        )
    return {"agency": agency, "legal_basis": basis, "days": days}


def list_retention(hub: Hub) -> list[dict[str, Any]]:
    with hub.owner.connect() as connection:
        rows = (
            connection.execute(
                sa.text(
                    "SELECT a.name AS agency, r.legal_basis, r.days, r.created_at"
                    " FROM retention_policies r JOIN agencies a ON a.id = r.agency_id"
                    " ORDER BY a.name, r.legal_basis"
                )
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


EXPIRED_CASES = """
SELECT c.id::text FROM cases c
JOIN retention_policies r ON r.agency_id = c.agency_id
 AND r.legal_basis = CASE WHEN EXISTS (SELECT 1 FROM retention_policies x
     WHERE x.agency_id = c.agency_id AND x.legal_basis = c.legal_basis)
     THEN c.legal_basis ELSE '*' END
WHERE c.agency_id = :a AND c.imported_at < now() - make_interval(days => r.days)
"""


def sweep(hub: Hub, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """Erase records past their retention; drop expired shared copies and old sessions."""
    results = []
    with hub.owner.connect() as connection:
        agencies = connection.execute(sa.text("SELECT id::text, name FROM agencies")).all()
    for agency_id, name in agencies:
        with hub.owner.begin() as connection:
            ids = [r[0] for r in connection.execute(sa.text(EXPIRED_CASES), {"a": agency_id})]
            expired_copies = connection.execute(
                sa.text(
                    "SELECT count(*) FROM shared_cases WHERE owner_agency_id = :a"
                    " AND expires_at <= now()"
                ),
                {"a": agency_id},
            ).scalar_one()
            if not dry_run:
                if ids:
                    connection.execute(
                        sa.text("DELETE FROM cases WHERE id = ANY(CAST(:ids AS uuid[]))"),
                        {"ids": ids},
                    )
                connection.execute(
                    sa.text(
                        "DELETE FROM shared_cases WHERE owner_agency_id = :a"
                        " AND expires_at <= now()"
                    ),
                    {"a": agency_id},
                )
                connection.execute(
                    sa.text(
                        "DELETE FROM sessions WHERE agency_id = :a AND (expires_at < now()"
                        " OR revoked_at IS NOT NULL)"
                    ),
                    {"a": agency_id},
                )
                if ids or expired_copies:
                    audit_operator(
                        hub,
                        connection,
                        "retention.sweep",
                        agency_id,
                        "agency",
                        agency_id,
                        case_ids=ids,
                        expired_shared_copies=int(expired_copies),
                    )
        results.append(
            {
                "agency": name,
                "erased": len(ids),
                "expired_shared_copies": int(expired_copies),
                "dry_run": dry_run,
            }
        )
    return results


# --- subjects ----------------------------------------------------------------------------------


def _subject_clauses(
    connection: Connection, hub: Hub, agency_id: str, identifiers: dict[str, str | None]
) -> tuple[str, dict[str, Any]]:
    key = hub.keys.index_key(connection, agency_id)
    name = person_name(
        identifiers.get("first_name"), identifiers.get("last_name"), identifiers.get("birth_date")
    )
    values = {
        "identity_number": identifiers.get("identity_number"),
        "email": identifiers.get("email"),
        "phone": identifiers.get("phone"),
        "name": name,
    }
    clauses = []
    params: dict[str, Any] = {"a": agency_id}
    for kind, value in values.items():
        digest = blind_index(key, kind, value)
        if digest is not None:
            clauses.append(f"bi_{kind} = :{kind}")
            params[kind] = digest
    if not clauses:
        raise InvalidError(
            "identify the person: identity_number, email, phone, or first_name and"
            " last_name (with birth_date)"
        )
    return "(" + " OR ".join(clauses) + ")", params


def subject_access(
    hub: Hub, principal: Principal, identifiers: dict[str, str | None]
) -> dict[str, Any]:
    """Everything the agency holds on one person, who received it, and who read it."""
    require(principal, "subjects:manage")
    with tenant(hub.app, principal.agency_id) as connection:
        where, params = _subject_clauses(connection, hub, principal.agency_id, identifiers)
        rows = (
            connection.execute(
                sa.text(
                    "SELECT id, agency_id, external_id, collection, record, personal, key_version,"
                    " legal_basis, consent, source, import_id, file_sha256, row_number, imported_at"
                    f" FROM cases WHERE agency_id = :a AND {where} ORDER BY imported_at"
                ),
                params,
            )
            .mappings()
            .all()
        )
        records = [
            case_view(r, decrypt_own(hub, connection, principal.agency_id, r), None) for r in rows
        ]
        ids = [r["id"] for r in records]
        recipients = (
            connection.execute(
                sa.text(
                    "SELECT DISTINCT sc.case_id::text AS case_id, a.name AS recipient, s.purpose,"
                    " s.legal_basis, s.fields, sc.shared_at, sc.expires_at FROM shared_cases sc"
                    " JOIN shares s ON s.id = sc.share_id JOIN agencies a"
                    " ON a.id = sc.recipient_agency_id WHERE sc.case_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": ids},
            )
            .mappings()
            .all()
        )
        wanted = set(ids)
        accesses = (
            [
                {k: e[k] for k in ("seq", "at", "actor", "action", "agency_id")}
                for e in iter_entries(connection, agency_id=principal.agency_id)
                if wanted & set(accessed_records(e))
            ]
            if ids
            else []
        )
        hub.audit.append(
            connection, [entry(principal, "subject.export", "subject", "", case_ids=ids)]
        )
    return {"records": records, "recipients": [dict(r) for r in recipients], "accesses": accesses}


def subject_erase(
    hub: Hub, principal: Principal, identifiers: dict[str, str | None], reason: str
) -> dict[str, Any]:
    """Erase every record of one person, with every shared copy (cascade)."""
    require(principal, "subjects:manage")
    with tenant(hub.app, principal.agency_id) as connection:
        where, params = _subject_clauses(connection, hub, principal.agency_id, identifiers)
        copies = connection.execute(
            sa.text(
                f"SELECT count(*) FROM shared_cases WHERE case_id IN (SELECT id FROM cases"
                f" WHERE agency_id = :a AND {where})"
            ),
            params,
        ).scalar_one()
        ids = [
            str(r[0])
            for r in connection.execute(
                sa.text(f"DELETE FROM cases WHERE agency_id = :a AND {where} RETURNING id"), params
            )
        ]
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "subject.erase",
                    "subject",
                    "",
                    case_ids=ids,
                    reason=reason[:500],
                    shared_copies_removed=int(copies),
                )
            ],
        )
    return {"erased": len(ids), "case_ids": ids, "shared_copies_removed": int(copies)}


# --- breach report -----------------------------------------------------------------------------


def breach_report(
    connection: Connection, since: datetime, until: datetime, agency_id: str | None = None
) -> list[dict[str, Any]]:
    """Per actor and record: how often and when it was touched in [since, until)."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    actions: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for item in iter_entries(connection, since=since, until=until, agency_id=agency_id):
        for case_id in accessed_records(item):
            key = (item["actor"], item["agency_id"] or "", case_id)
            found = seen.get(key)
            if found is None:
                seen[key] = found = {
                    "actor": item["actor"],
                    "actor_agency_id": item["agency_id"],
                    "record_agency_id": item["subject_agency_id"] or item["agency_id"],
                    "case_id": case_id,
                    "accesses": 0,
                    "first_at": item["at"],
                    "last_at": item["at"],
                }
            found["accesses"] += 1
            found["last_at"] = item["at"]
            actions[key].add(item["action"])
    rows = []
    for key, row in seen.items():
        row["actions"] = sorted(actions[key])
        rows.append(row)
    return sorted(rows, key=lambda r: (r["first_at"], r["actor"], r["case_id"]))


def breach_report_for(
    hub: Hub, principal: Principal, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    require(principal, "audit:read")
    if until <= since:
        raise InvalidError("the window ends before it starts")
    with tenant(hub.app, principal.agency_id) as connection:
        rows = breach_report(connection, since, until, principal.agency_id)
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "audit.breach-report",
                    "audit",
                    "",
                    since=since.isoformat(),
                    until=until.isoformat(),
                )
            ],
        )
    return rows

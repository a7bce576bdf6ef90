"""Case records in the hub: add (checked, encrypted, idempotent), list, read, erase.

Every function takes the calling ``Principal`` and works inside ``tenant(...)`` for the
principal's agency, so row-level security applies on top of the explicit filters. Reads that
reveal personal fields append an audit entry naming the records before answering.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from ctip.hub.audit import AuditEntry
from ctip.hub.crypto import DecryptionError
from ctip.hub.database import tenant
from ctip.hub.errors import ForbiddenError, InvalidError, NotFoundError
from ctip.hub.permissions import Principal
from ctip.hub.records import (
    blind_indexes,
    decode,
    encode,
    nest,
    personal_keys,
    split_personal,
)
from ctip.hub.runtime import Hub
from ctip.hub.tables import cases as cases_table
from ctip.hub.tables import quarantine as quarantine_table
from ctip.hub.validate import RejectedRecord, check_records
from ctip.ingest.cleaners import code_lookup

PROVENANCE_KEY = "_provenance"
CASE_COLUMNS = (
    "id, agency_id, external_id, collection, record, personal, key_version, legal_basis,"
    " consent, source, import_id, file_sha256, row_number, imported_at"
)


def entry(
    principal: Principal,
    action: str,
    target_type: str = "",
    target_id: str = "",
    *,
    subject: str | None = None,
    **details: Any,
) -> AuditEntry:
    """An audit entry for the principal; ``subject`` is the other agency concerned, if any."""
    return AuditEntry(
        action,
        principal.email,
        agency_id=principal.agency_id,
        actor_id=principal.user_id,
        target_type=target_type,
        target_id=target_id,
        details=details,
        client=principal.client,
        subject_agency_id=subject if subject != principal.agency_id else None,
    )


def require(principal: Principal, permission: str) -> None:
    if not principal.can(permission):
        raise ForbiddenError(f"your role or token does not allow {permission}")


def check_legal_basis(value: str | None) -> str | None:
    if value is None:
        return None
    code = code_lookup("legal_basis").get(value) or code_lookup("legal_basis").get(value.lower())
    if code is None:
        raise InvalidError(f"'{value}' is not a legal_basis code")
    return code


# --- writing -----------------------------------------------------------------------------------


@dataclass
class CaseBatch:
    records: list[dict[str, Any]]
    source: str
    legal_basis: str | None = None
    collection: str | None = None


def _batch_sha256(batch: CaseBatch) -> str:
    body = json.dumps(
        [batch.source, batch.legal_basis, batch.collection, batch.records],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _provenance(raw: Any, position: int, batch_sha: str, batch: CaseBatch) -> dict[str, Any]:
    given = raw if isinstance(raw, dict) else {}
    sha = str(given.get("file_sha256") or batch_sha)[:128]
    row = given.get("row_number")
    imported = given.get("imported_at")
    try:
        imported_at = datetime.fromisoformat(str(imported)) if imported else None
    except ValueError:
        imported_at = None
    if imported_at is not None and imported_at.tzinfo is None:
        imported_at = imported_at.replace(tzinfo=UTC)
    return {
        "file_sha256": sha,
        "row_number": int(row) if isinstance(row, int) and row >= 0 else position + 1,
        "source": str(given.get("source") or batch.source)[:500],
        "imported_at": imported_at or datetime.now(UTC),
    }


def create_cases(hub: Hub, principal: Principal, batch: CaseBatch) -> dict[str, Any]:
    """Check, encrypt and store a batch; bad records go to quarantine. Re-sending is a no-op."""
    require(principal, "cases:write")
    if len(batch.records) > hub.settings.max_batch_records:
        raise InvalidError(f"at most {hub.settings.max_batch_records} records per request")
    default_basis = check_legal_basis(batch.legal_basis)
    batch_sha = _batch_sha256(batch)
    provenance = []
    plain = []
    for position, record in enumerate(batch.records):
        provenance.append(_provenance(record.get(PROVENANCE_KEY), position, batch_sha, batch))
        plain.append({k: v for k, v in record.items() if k != PROVENANCE_KEY})
    checked, rejected = check_records(plain)
    rejected_by_position = {r.position: r for r in rejected}
    for item in checked:
        if "legal_basis" not in item.values and default_basis is None:
            rejected_by_position[item.position] = _missing_basis(item.position)
    good = [r for r in checked if r.position not in rejected_by_position]
    import_id = str(uuid.uuid4())
    agency = principal.agency_id
    with tenant(hub.app, agency) as connection:
        data_key = hub.keys.data_key(connection, agency)
        index_key = hub.keys.index_key(connection, agency)
        connection.execute(
            sa.text(
                "INSERT INTO imports (id, agency_id, kind, source, file_sha256, read, created_by)"
                " VALUES (:i, :a, 'cases', :s, :f, :r, :u)"
            ),
            {
                "i": import_id,
                "a": agency,
                "s": batch.source[:500],
                "f": batch_sha,
                "r": len(batch.records),
                "u": principal.user_id,
            },
        )
        rows = []
        for checked_record in good:
            case_id = str(uuid.uuid4())
            public, private = split_personal(checked_record.values)
            origin = provenance[checked_record.position]
            rows.append(
                {
                    "id": case_id,
                    "agency_id": agency,
                    "external_id": public.get("external_id"),
                    "collection": batch.collection,
                    "record": public,
                    "personal": data_key.encrypt(encode(private), f"cases:{case_id}:personal")
                    if private
                    else None,
                    "key_version": data_key.version if private else None,
                    **blind_indexes(index_key, private),
                    "legal_basis": public.get("legal_basis") or default_basis,
                    "consent": public.get("consent"),
                    "source": origin["source"],
                    "import_id": import_id,
                    "file_sha256": origin["file_sha256"],
                    "row_number": origin["row_number"],
                    "imported_at": origin["imported_at"],
                    "created_by": principal.user_id,
                }
            )
        inserted: list[str] = []
        if rows:
            result = connection.execute(
                insert(cases_table)
                .on_conflict_do_nothing(index_elements=["agency_id", "file_sha256", "row_number"])
                .returning(cases_table.c.id),
                rows,
            )
            inserted = [str(r[0]) for r in result]
        quarantined = _quarantine(
            connection,
            hub,
            principal,
            import_id,
            batch,
            plain,
            provenance,
            list(rejected_by_position.values()),
            data_key.version,
        )
        duplicates = len(batch.records) - len(inserted) - quarantined
        connection.execute(
            sa.text(
                "UPDATE imports SET loaded = :l, quarantined = :q, duplicates = :d WHERE id = :i"
            ),
            {"l": len(inserted), "q": quarantined, "d": duplicates, "i": import_id},
        )
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "cases.create",
                    "import",
                    import_id,
                    loaded=len(inserted),
                    quarantined=quarantined,
                    duplicates=duplicates,
                    case_ids=inserted,
                )
            ],
        )
    return {
        "import_id": import_id,
        "read": len(batch.records),
        "loaded": len(inserted),
        "quarantined": quarantined,
        "duplicates": duplicates,
        "case_ids": inserted,
        "quarantine": [
            {"position": r.position, "errors": r.errors}
            for r in sorted(rejected_by_position.values(), key=lambda r: r.position)
        ],
    }


def _missing_basis(position: int) -> RejectedRecord:
    return RejectedRecord(
        position,
        [
            {
                "field": "legal_basis",
                "reason": "the hub needs a legal basis for every record:"
                " give legal_basis in the record or for the whole request",
            }
        ],
    )


def _quarantine(
    connection: Connection,
    hub: Hub,
    principal: Principal,
    import_id: str,
    batch: CaseBatch,
    plain: list[dict[str, Any]],
    provenance: list[dict[str, Any]],
    rejected: list[Any],
    key_version: int,
) -> int:
    """Store rejected records; their raw values may be personal, so they are encrypted."""
    if not rejected:
        return 0
    data_key = hub.keys.data_key(connection, principal.agency_id, key_version)
    rows = []
    for record in rejected:
        quarantine_id = str(uuid.uuid4())
        origin = provenance[record.position]
        raw = json.dumps(plain[record.position], default=str, ensure_ascii=False).encode()
        rows.append(
            {
                "id": quarantine_id,
                "agency_id": principal.agency_id,
                "import_id": import_id,
                "kind": "cases",
                "source": origin["source"],
                "file_sha256": origin["file_sha256"],
                "row_number": origin["row_number"],
                "errors": record.errors,
                "raw_enc": data_key.encrypt(raw, f"quarantine:{quarantine_id}:raw"),
                "key_version": key_version,
            }
        )
    result = connection.execute(
        insert(quarantine_table)
        .on_conflict_do_nothing(index_elements=["agency_id", "file_sha256", "row_number"])
        .returning(quarantine_table.c.id),
        rows,
    )
    return len(result.all())


# --- reading -----------------------------------------------------------------------------------


def case_view(row: Any, private: dict[str, Any] | None, granted: set[str] | None) -> dict[str, Any]:
    """A case as the API shows it: visible values, and the personal fields held back."""
    values = dict(row["record"])
    visible = set(personal_keys()) if granted is None else granted
    if private is not None:
        values.update({k: v for k, v in private.items() if k in visible})
    redacted = sorted(set(personal_keys()) - (visible if private is not None else set()))
    return {
        "id": str(row["id"]),
        "agency_id": str(row["agency_id"]),
        "external_id": values.get("external_id"),
        "collection": row.get("collection"),
        "legal_basis": row.get("legal_basis") or values.get("legal_basis"),
        "record": nest(values),
        "redacted": redacted,
        "provenance": {
            "source": row.get("source"),
            "import_id": str(row["import_id"]) if row.get("import_id") else None,
            "file_sha256": row.get("file_sha256"),
            "row_number": row.get("row_number"),
            "imported_at": row.get("imported_at"),
        },
        "share": None,
    }


def decrypt_own(hub: Hub, connection: Connection, agency_id: str, row: Any) -> dict[str, Any]:
    if row["personal"] is None:
        return {}
    key = hub.keys.data_key(connection, agency_id, int(row["key_version"]))
    return decode(key.decrypt(bytes(row["personal"]), f"cases:{row['id']}:personal"))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def get_case(hub: Hub, principal: Principal, case_id: str) -> dict[str, Any]:
    """One case: the agency's own, or a shared copy; anything else does not exist (404)."""
    require(principal, "cases:read")
    if not is_uuid(case_id):
        raise NotFoundError("no such case")
    personal = principal.can("cases:read-personal")
    with tenant(hub.app, principal.agency_id) as connection:
        row = (
            connection.execute(
                sa.text(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :i AND agency_id = :a"),
                {"i": case_id, "a": principal.agency_id},
            )
            .mappings()
            .first()
        )
        if row is not None:
            private = decrypt_own(hub, connection, principal.agency_id, row) if personal else None
            view = case_view(row, private, None)
        else:
            view = _shared_view(hub, connection, principal, case_id, personal)
    if personal and (view["share"] is None or view["share"]["fields"]):
        hub.batcher.append(
            entry(principal, "cases.read-personal", "case", view["id"], subject=view["agency_id"])
        )
    return view


def _shared_view(
    hub: Hub, connection: Connection, principal: Principal, case_id: str, personal: bool
) -> dict[str, Any]:
    row = (
        connection.execute(
            sa.text(
                "SELECT sc.case_id AS id, sc.owner_agency_id AS agency_id, sc.record,"
                " sc.personal, sc.expires_at, sc.shared_at, s.id AS share_id, s.purpose,"
                " s.legal_basis AS share_legal_basis, s.fields, s.wrapped_key"
                " FROM shared_cases sc JOIN shares s ON s.id = sc.share_id"
                " WHERE sc.case_id = :i AND sc.recipient_agency_id = :a AND s.status = 'active'"
                " AND sc.expires_at > now() ORDER BY sc.shared_at DESC LIMIT 1"
            ),
            {"i": case_id, "a": principal.agency_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError("no such case")
    return shared_view(hub, row, personal)


def shared_view(hub: Hub, row: Any, personal: bool) -> dict[str, Any]:
    granted = set(row["fields"])
    private: dict[str, Any] | None = None
    if personal and row["personal"] is not None and row["wrapped_key"] is not None:
        key = hub.keys.share_key(str(row["share_id"]), bytes(row["wrapped_key"]))
        try:
            private = decode(
                key.decrypt(bytes(row["personal"]), f"shared:{row['share_id']}:{row['id']}")
            )
        except DecryptionError:
            private = None
    view = case_view(dict(row, legal_basis=row["record"].get("legal_basis")), private, granted)
    if not personal:
        view["redacted"] = sorted(personal_keys())
    view["provenance"] = None
    view["share"] = {
        "share_id": str(row["share_id"]),
        "purpose": row["purpose"],
        "legal_basis": row["share_legal_basis"],
        "fields": sorted(granted) if personal else [],
        "expires_at": row["expires_at"],
        "shared_at": row["shared_at"],
    }
    return view


def erase_case(hub: Hub, principal: Principal, case_id: str, reason: str) -> dict[str, Any]:
    """Erase one of the agency's records and every shared copy of it (right to erasure)."""
    require(principal, "cases:erase")
    if not is_uuid(case_id):
        raise NotFoundError("no such case")
    with tenant(hub.app, principal.agency_id) as connection:
        copies = connection.execute(
            sa.text(
                "SELECT count(*) FROM shared_cases WHERE case_id = :i AND owner_agency_id = :a"
            ),
            {"i": case_id, "a": principal.agency_id},
        ).scalar_one()
        deleted = connection.execute(
            sa.text("DELETE FROM cases WHERE id = :i AND agency_id = :a RETURNING id"),
            {"i": case_id, "a": principal.agency_id},
        ).first()
        if deleted is None:
            raise NotFoundError("no such case")
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "case.erase",
                    "case",
                    case_id,
                    reason=reason[:500],
                    shared_copies_removed=int(copies),
                )
            ],
        )
    return {"id": case_id, "erased": True, "shared_copies_removed": int(copies)}

"""Need-to-know sharing between agencies: offers, requests, approval, revocation, expiry.

A share names its purpose, legal basis, expiry, the records (ids or a collection) and the
personal fields granted. When it becomes active the owner's records are copied into
``shared_cases`` for the recipient: non-personal fields as they are, granted personal fields
re-encrypted under a key of the share's own. The recipient reads only those copies (its row
level security never lets it near the owner's ``cases``); revoking deletes the copies and the
share key in one transaction, so it takes effect at once; expiry hides them from the next
query on (the policy compares ``expires_at`` with ``now()``) and the sweep deletes them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from ctip.hub.cases import check_legal_basis, decrypt_own, entry, is_uuid, require
from ctip.hub.database import tenant
from ctip.hub.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from ctip.hub.permissions import Principal
from ctip.hub.records import encode, expand_fields
from ctip.hub.runtime import Hub
from ctip.hub.tables import shared_cases

SHARE_COLUMNS = (
    "id, owner_agency_id, recipient_agency_id, status, purpose, legal_basis, fields, case_ids,"
    " collection, expires_at, requested_by, decided_by, created_at, decided_at, revoked_at"
)


@dataclass
class ShareTerms:
    other_agency: str  # the recipient for an offer, the owner for a request (id or name)
    purpose: str
    legal_basis: str
    expires_at: datetime
    case_ids: list[str] = field(default_factory=list)
    collection: str | None = None
    fields: list[str] = field(default_factory=list)


def _agency_id(connection: Connection, name_or_id: str) -> str:
    column = "id" if is_uuid(name_or_id) else "name"
    found = connection.execute(
        sa.text(f"SELECT id FROM agencies WHERE {column} = :v"), {"v": name_or_id}
    ).scalar()
    if found is None:
        raise NotFoundError(f"no agency {name_or_id}")
    return str(found)


def _check_terms(terms: ShareTerms) -> list[str]:
    if not terms.purpose.strip():
        raise InvalidError("a share needs a purpose")
    if check_legal_basis(terms.legal_basis) is None:
        raise InvalidError("a share needs a legal basis")
    if terms.expires_at.tzinfo is None:
        raise InvalidError("expires_at needs a time zone, e.g. 2030-01-01T00:00:00Z")
    if terms.expires_at <= datetime.now(UTC):
        raise InvalidError("expires_at is in the past")
    if not terms.case_ids and not terms.collection:
        raise InvalidError("name the records to share: case_ids or a collection")
    bad = [c for c in terms.case_ids if not is_uuid(c)]
    if bad:
        raise InvalidError(f"'{bad[0][:60]}' is not a case id")
    return expand_fields(terms.fields)


def _view(row: Any, now: datetime | None = None) -> dict[str, Any]:
    moment = now or datetime.now(UTC)
    status = row["status"]
    if status == "active" and row["expires_at"] <= moment:
        status = "expired"
    return {
        "id": str(row["id"]),
        "owner_agency_id": str(row["owner_agency_id"]),
        "recipient_agency_id": str(row["recipient_agency_id"]),
        "status": status,
        "purpose": row["purpose"],
        "legal_basis": row["legal_basis"],
        "fields": list(row["fields"]),
        "case_ids": [str(c) for c in row["case_ids"]],
        "collection": row["collection"],
        "expires_at": row["expires_at"],
        "created_at": row["created_at"],
        "decided_at": row["decided_at"],
        "revoked_at": row["revoked_at"],
        "records": row.get("records"),
    }


def _insert_share(
    connection: Connection,
    share_id: str,
    owner: str,
    recipient: str,
    status: str,
    terms: ShareTerms,
    fields: list[str],
    principal: Principal,
) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO shares (id, owner_agency_id, recipient_agency_id, status, purpose,"
            " legal_basis, fields, case_ids, collection, expires_at, requested_by)"
            " VALUES (:i, :o, :r, :s, :p, :l, :f, CAST(:c AS uuid[]), :col, :x, :u)"
        ),
        {
            "i": share_id,
            "o": owner,
            "r": recipient,
            "s": status,
            "p": terms.purpose.strip()[:1000],
            "l": check_legal_basis(terms.legal_basis),
            "f": fields,
            "c": terms.case_ids,
            "col": terms.collection,
            "x": terms.expires_at,
            "u": principal.user_id,
        },
    )


def offer_share(hub: Hub, principal: Principal, terms: ShareTerms) -> dict[str, Any]:
    """The owner shares records with another agency; active at once."""
    require(principal, "shares:manage")
    fields = _check_terms(terms)
    share_id = str(uuid.uuid4())
    with tenant(hub.app, principal.agency_id) as connection:
        recipient = _agency_id(connection, terms.other_agency)
        if recipient == principal.agency_id:
            raise InvalidError("an agency cannot share with itself")
        if terms.case_ids:
            held = connection.execute(
                sa.text(
                    "SELECT count(*) FROM cases WHERE agency_id = :a"
                    " AND id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"a": principal.agency_id, "ids": sorted(set(terms.case_ids))},
            ).scalar_one()
            if held != len(set(terms.case_ids)):
                raise NotFoundError("no such case")
        _insert_share(
            connection,
            share_id,
            principal.agency_id,
            recipient,
            "requested",
            terms,
            fields,
            principal,
        )
        copied = _activate(hub, connection, principal, share_id)
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "share.offer",
                    "share",
                    share_id,
                    subject=recipient,
                    fields=fields,
                    purpose=terms.purpose[:200],
                    case_ids=copied,
                )
            ],
        )
        return _get(connection, share_id)


def request_share(hub: Hub, principal: Principal, terms: ShareTerms) -> dict[str, Any]:
    """Ask another agency for records; nothing is shared until its owner approves."""
    require(principal, "shares:manage")
    fields = _check_terms(terms)
    share_id = str(uuid.uuid4())
    with tenant(hub.app, principal.agency_id) as connection:
        owner = _agency_id(connection, terms.other_agency)
        if owner == principal.agency_id:
            raise InvalidError("an agency cannot ask itself for records")
        _insert_share(
            connection, share_id, owner, principal.agency_id, "requested", terms, fields, principal
        )
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "share.request",
                    "share",
                    share_id,
                    subject=owner,
                    fields=fields,
                    purpose=terms.purpose[:200],
                )
            ],
        )
        return _get(connection, share_id)


def _get(connection: Connection, share_id: str) -> dict[str, Any]:
    row = (
        connection.execute(
            sa.text(
                f"SELECT {SHARE_COLUMNS}, (SELECT count(*) FROM shared_cases sc"
                " WHERE sc.share_id = shares.id) AS records FROM shares WHERE id = :i"
            ),
            {"i": share_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError("no such share")
    return _view(row)


def _activate(hub: Hub, connection: Connection, principal: Principal, share_id: str) -> list[str]:
    """Copy the share's records for the recipient; returns the ids copied."""
    share = (
        connection.execute(
            sa.text(f"SELECT {SHARE_COLUMNS} FROM shares WHERE id = :i FOR UPDATE"),
            {"i": share_id},
        )
        .mappings()
        .one()
    )
    agency = principal.agency_id
    rows = (
        connection.execute(
            sa.text(
                "SELECT id, record, personal, key_version FROM cases WHERE agency_id = :a"
                " AND (id = ANY(CAST(:ids AS uuid[])) OR (CAST(:col AS text) IS NOT NULL"
                " AND collection = :col))"
            ),
            {"a": agency, "ids": [str(c) for c in share["case_ids"]], "col": share["collection"]},
        )
        .mappings()
        .all()
    )
    granted = set(share["fields"])
    share_key, wrapped = hub.keys.new_share_key(share_id)
    copies = []
    for row in rows:
        private = {
            k: v for k, v in decrypt_own(hub, connection, agency, row).items() if k in granted
        }
        copies.append(
            {
                "share_id": share_id,
                "case_id": str(row["id"]),
                "owner_agency_id": agency,
                "recipient_agency_id": str(share["recipient_agency_id"]),
                "record": row["record"],
                "personal": share_key.encrypt(encode(private), f"shared:{share_id}:{row['id']}")
                if private
                else None,
                "expires_at": share["expires_at"],
            }
        )
    if copies:
        connection.execute(insert(shared_cases), copies)
    connection.execute(
        sa.text(
            "UPDATE shares SET status = 'active', decided_by = :u, decided_at = now(),"
            " wrapped_key = :w, master_key_id = :m WHERE id = :i"
        ),
        {"u": principal.user_id, "w": wrapped, "m": hub.keys.master.key_id, "i": share_id},
    )
    return [c["case_id"] for c in copies]


def _locked_share(connection: Connection, share_id: str) -> Any:
    if not is_uuid(share_id):
        raise NotFoundError("no such share")
    row = (
        connection.execute(
            sa.text(f"SELECT {SHARE_COLUMNS} FROM shares WHERE id = :i FOR UPDATE"),
            {"i": share_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError("no such share")
    return row


def decide_share(
    hub: Hub,
    principal: Principal,
    share_id: str,
    approve: bool,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    """The owner approves (optionally granting fewer fields) or rejects a request."""
    require(principal, "shares:manage")
    with tenant(hub.app, principal.agency_id) as connection:
        share = _locked_share(connection, share_id)
        if str(share["owner_agency_id"]) != principal.agency_id:
            raise ForbiddenError("only the agency that holds the records can decide on a request")
        if share["status"] != "requested":
            raise ConflictError(f"this share is {share['status']}, not awaiting a decision")
        if approve:
            if fields is not None:
                narrowed = expand_fields(fields)
                extra = set(narrowed) - set(share["fields"])
                if extra:
                    raise InvalidError(f"cannot grant more than was requested ({sorted(extra)[0]})")
                connection.execute(
                    sa.text("UPDATE shares SET fields = :f WHERE id = :i"),
                    {"f": narrowed, "i": share_id},
                )
            copied = _activate(hub, connection, principal, share_id)
            details: dict[str, Any] = {"case_ids": copied}
        else:
            connection.execute(
                sa.text(
                    "UPDATE shares SET status = 'rejected', decided_by = :u, decided_at = now()"
                    " WHERE id = :i"
                ),
                {"u": principal.user_id, "i": share_id},
            )
            details = {}
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "share.approve" if approve else "share.reject",
                    "share",
                    share_id,
                    subject=str(share["recipient_agency_id"]),
                    **details,
                )
            ],
        )
        return _get(connection, share_id)


def revoke_share(hub: Hub, principal: Principal, share_id: str) -> dict[str, Any]:
    """Either party ends a share: copies and the share key are deleted in this transaction."""
    require(principal, "shares:manage")
    with tenant(hub.app, principal.agency_id) as connection:
        share = _locked_share(connection, share_id)
        if share["status"] in ("revoked", "rejected"):
            raise ConflictError(f"this share is already {share['status']}")
        removed = connection.execute(
            sa.text("DELETE FROM shared_cases WHERE share_id = :i"), {"i": share_id}
        ).rowcount
        connection.execute(
            sa.text(
                "UPDATE shares SET status = 'revoked', revoked_at = now(), wrapped_key = NULL,"
                " decided_by = coalesce(decided_by, :u) WHERE id = :i"
            ),
            {"u": principal.user_id, "i": share_id},
        )
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "share.revoke",
                    "share",
                    share_id,
                    copies_removed=removed,
                    subject=_other_party(share, principal),
                )
            ],
        )
        return _get(connection, share_id)


def _other_party(share: Any, principal: Principal) -> str:
    owner, recipient = str(share["owner_agency_id"]), str(share["recipient_agency_id"])
    return recipient if owner == principal.agency_id else owner


def get_share(hub: Hub, principal: Principal, share_id: str) -> dict[str, Any]:
    require(principal, "shares:read")
    if not is_uuid(share_id):
        raise NotFoundError("no such share")
    with tenant(hub.app, principal.agency_id) as connection:
        return _get(connection, share_id)


def list_shares(
    hub: Hub, principal: Principal, *, direction: str = "all", status: str | None = None
) -> list[dict[str, Any]]:
    require(principal, "shares:read")
    clauses = ["true"]
    if direction == "outgoing":
        clauses.append("owner_agency_id = :a")
    elif direction == "incoming":
        clauses.append("recipient_agency_id = :a")
    params: dict[str, Any] = {"a": principal.agency_id}
    if status in ("requested", "active", "rejected", "revoked"):
        clauses.append("status = :s")
        params["s"] = status
    with tenant(hub.app, principal.agency_id) as connection:
        rows = (
            connection.execute(
                sa.text(
                    f"SELECT {SHARE_COLUMNS}, (SELECT count(*) FROM shared_cases sc"
                    " WHERE sc.share_id = shares.id) AS records FROM shares"
                    f" WHERE {' AND '.join(clauses)} ORDER BY created_at DESC LIMIT 1000"
                ),
                params,
            )
            .mappings()
            .all()
        )
    now = datetime.now(UTC)
    views = [_view(row, now) for row in rows]
    if status == "expired":
        views = [v for v in views if v["status"] == "expired"]
    return views

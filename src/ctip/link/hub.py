"""The hub side of privacy-preserving record linkage: deposits, contact routes and questions.

"Does any other agency hold this person?" is asked with encodings only. Each agency deposits
the CLKs of its records (made on its own machine with ``ctip pprl encode`` and the secret the
agencies share, which the hub never has) and names a contact route. An agency then sends the
encodings of the records it asks about; the hub compares them with the other agencies'
deposits made with the same linkage schema and secret (``ctip.link.pprl.match_query``) and
answers, per queried record, which agency holds a similar one, how to reach it and how similar
it is. Never which record, nor anything in it: the references of other agencies' deposits never
leave the database (see migration 0002 for how the comparison reads them), and the asker's own
references stay in its own query log.

Everything an agency stores here is its own under row-level security. Deposited encodings are
personal data (Bloom filters can be attacked, see docs/linkage.md), so they are sealed at rest
with AES-256-GCM under a hub system key, bound to their agency, schema and key id. Deposits,
withdrawals, contact changes and questions are audited with counts, never encodings; each
agency named in an answer gets an audit entry of its own, so it can see who was told that it
holds a match.

The route handlers (``ctip.hub.api.routes_pprl``) and the dashboard call these functions.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from bitarray import bitarray
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from ctip.hub.audit import AuditEntry
from ctip.hub.cases import entry, require
from ctip.hub.crypto import NONCE_BYTES, open_sealed, seal
from ctip.hub.database import tenant
from ctip.hub.errors import ConflictError, InvalidError
from ctip.hub.permissions import Principal
from ctip.hub.runtime import Hub
from ctip.hub.tables import pprl_encodings
from ctip.link.pprl import HUB_THRESHOLD, match_query

SEAL_OVERHEAD = 1 + NONCE_BYTES + 16  # version byte, nonce, GCM tag (ctip.hub.crypto.seal)
MIN_CLK_BYTES = 8
MAX_CLK_BYTES = 1024  # 8,192 bits: clkhash schemas use 1,024 or 2,048
SCHEMA_SHA256 = re.compile(r"^[0-9a-f]{64}$")
KEY_ID = re.compile(r"^[0-9a-f]{8,64}$")
DEFAULT_THRESHOLD = HUB_THRESHOLD  # see ctip.link.pprl
MIN_THRESHOLD = 0.5  # below this Dice similarity almost everyone "matches": an oracle, not a link
LISTED_QUESTIONS = 200


class NotComparableError(ConflictError):
    """No other agency deposited encodings this question could be compared with."""

    title = "Encodings not comparable"
    slug = "pprl-not-comparable"


@dataclass(frozen=True)
class Encodings:
    """Checked encodings of one agency: made with one schema and one secret, equal lengths."""

    schema_sha256: str
    key_id: str
    refs: list[str]
    clks: list[bytes]

    @property
    def bits(self) -> int:
        return len(self.clks[0]) * 8 if self.clks else 0


def check_encodings(
    schema_sha256: str,
    key_id: str,
    items: Sequence[tuple[str, str]],
    bits: int | None = None,
) -> Encodings:
    """Decode and check ``(ref, base64 CLK)`` pairs sent to the hub.

    The API's models bound the sizes; this checks what they cannot: strict base64, one length
    for all (they must come from one schema), agreement with the header's bit count, and
    references given once (a repeated one would silently replace the first).
    """
    if not SCHEMA_SHA256.match(schema_sha256):
        raise InvalidError("schema_sha256 must be 64 lower-case hex digits (the encoded header's)")
    if not KEY_ID.match(key_id):
        raise InvalidError("key_id must be 8-64 lower-case hex digits (the encoded header's)")
    if not items:
        raise InvalidError("no encodings given")
    refs: list[str] = []
    clks: list[bytes] = []
    seen: set[str] = set()
    for position, (ref, text) in enumerate(items):
        if ref in seen:
            raise InvalidError(f"encodings[{position}]: reference '{ref[:50]}' is given twice")
        seen.add(ref)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidError(f"encodings[{position}]: clk is not base64") from error
        if not MIN_CLK_BYTES <= len(raw) <= MAX_CLK_BYTES:
            raise InvalidError(
                f"encodings[{position}]: clk has {len(raw) * 8} bits; between"
                f" {MIN_CLK_BYTES * 8} and {MAX_CLK_BYTES * 8} are accepted"
            )
        if clks and len(raw) != len(clks[0]):
            raise InvalidError(
                f"encodings[{position}]: clk has {len(raw) * 8} bits, the first"
                f" {len(clks[0]) * 8}: all must come from one linkage schema"
            )
        refs.append(ref)
        clks.append(raw)
    if bits is not None and -(-bits // 8) != len(clks[0]):
        raise InvalidError(f"the header says {bits} bits, the encodings have {len(clks[0]) * 8}")
    return Encodings(schema_sha256, key_id, refs, clks)


def _where(agency_id: str, schema_sha256: str, key_id: str) -> bytes:
    return f"pprl|{agency_id}|{schema_sha256}|{key_id}".encode()


def _contact(connection: Connection, agency_id: str) -> str | None:
    found = connection.execute(
        sa.text("SELECT contact FROM pprl_contacts WHERE agency_id = :a"), {"a": agency_id}
    ).scalar()
    return str(found) if found is not None else None


# --- the agency's own deposit ------------------------------------------------------------------


def deposit(
    hub: Hub, principal: Principal, encodings: Encodings, *, replace: bool
) -> dict[str, Any]:
    """Store the agency's encodings for one schema and key id.

    ``replace`` swaps the whole deposit for that schema and key id in one transaction (the
    usual case: an agency re-encodes its records and deposits them again); otherwise the
    encodings are added, a reference already there taking the new encoding, which is how a
    deposit larger than one request arrives. The agency's contact route must be set first: an
    answer naming an agency nobody can reach would be of no use to the asker.
    """
    require(principal, "pprl:deposit")
    agency = principal.agency_id
    schema, key = encodings.schema_sha256, encodings.key_id
    where = _where(agency, schema, key)
    with tenant(hub.app, agency) as connection:
        if _contact(connection, agency) is None:
            raise ConflictError(
                "set your agency's contact route for linkage questions first"
                " (PUT /api/v1/pprl/contact, or ctip pprl deposit --contact)"
            )
        replaced = 0
        if replace:
            replaced = connection.execute(
                sa.text(
                    "DELETE FROM pprl_encodings WHERE agency_id = :a AND schema_sha256 = :s"
                    " AND key_id = :k"
                ),
                {"a": agency, "s": schema, "k": key},
            ).rowcount
        else:
            width = connection.execute(
                sa.text(
                    "SELECT length(clk) FROM pprl_encodings WHERE agency_id = :a"
                    " AND schema_sha256 = :s AND key_id = :k LIMIT 1"
                ),
                {"a": agency, "s": schema, "k": key},
            ).scalar()
            if width is not None and int(width) - SEAL_OVERHEAD != len(encodings.clks[0]):
                raise InvalidError(
                    f"the deposit has {(int(width) - SEAL_OVERHEAD) * 8}-bit encodings, these"
                    f" have {encodings.bits}: replace the deposit instead of adding to it"
                )
        rows = [
            {"agency_id": agency, "schema_sha256": schema, "key_id": key, "ref": ref, "clk": sealed}
            for ref, sealed in zip(
                encodings.refs, (seal(hub.pprl_key, c, where) for c in encodings.clks), strict=True
            )
        ]
        statement = insert(pprl_encodings)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["agency_id", "schema_sha256", "key_id", "ref"],
                set_={"clk": statement.excluded.clk, "uploaded_at": sa.func.now()},
            ),
            rows,
        )
        counts = connection.execute(
            sa.text(
                "SELECT count(*) AS total, count(*) FILTER (WHERE schema_sha256 = :s"
                " AND key_id = :k) AS in_set FROM pprl_encodings WHERE agency_id = :a"
            ),
            {"a": agency, "s": schema, "k": key},
        ).one()
        limit = hub.settings.pprl_max_deposit_records
        if int(counts.total) > limit:
            raise InvalidError(
                f"the agency would keep {int(counts.total):,} encodings deposited; the hub"
                f" accepts {limit:,} (CTIP_PPRL_MAX_DEPOSIT_RECORDS)"
            )
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "pprl.deposit",
                    "pprl-deposit",
                    f"{schema[:16]}/{key}",
                    received=len(rows),
                    replaced=replaced,
                    records=int(counts.in_set),
                    schema_sha256=schema,
                    key_id=key,
                )
            ],
        )
    return {
        "schema_sha256": schema,
        "key_id": key,
        "bits": encodings.bits,
        "received": len(rows),
        "replaced": replaced,
        "records": int(counts.in_set),
    }


def withdraw(
    hub: Hub, principal: Principal, schema_sha256: str | None = None, key_id: str | None = None
) -> dict[str, Any]:
    """Delete the agency's deposited encodings: all, or those of one schema and/or key id."""
    require(principal, "pprl:deposit")
    clauses = ["agency_id = :a"]
    params: dict[str, Any] = {"a": principal.agency_id}
    if schema_sha256 is not None:
        clauses.append("schema_sha256 = :s")
        params["s"] = schema_sha256
    if key_id is not None:
        clauses.append("key_id = :k")
        params["k"] = key_id
    with tenant(hub.app, principal.agency_id) as connection:
        withdrawn = connection.execute(
            sa.text(f"DELETE FROM pprl_encodings WHERE {' AND '.join(clauses)}"), params
        ).rowcount
        hub.audit.append(
            connection,
            [
                entry(
                    principal,
                    "pprl.withdraw",
                    "pprl-deposit",
                    "",
                    withdrawn=withdrawn,
                    schema_sha256=schema_sha256,
                    key_id=key_id,
                )
            ],
        )
    return {"withdrawn": withdrawn}


def set_contact(hub: Hub, principal: Principal, contact: str) -> dict[str, Any]:
    """Set the route other agencies are given to reach this one about a match (its PPRL desk:
    a functional e-mail address or phone line, not a person's own). The audit entry records
    the change, not the text."""
    require(principal, "pprl:contact")
    text = " ".join(contact.split())
    if not 3 <= len(text) <= 300:
        raise InvalidError("the contact route must be 3 to 300 characters")
    with tenant(hub.app, principal.agency_id) as connection:
        connection.execute(
            sa.text(
                "INSERT INTO pprl_contacts (agency_id, contact, updated_by, updated_at)"
                " VALUES (:a, :c, :u, now()) ON CONFLICT (agency_id) DO UPDATE"
                " SET contact = excluded.contact, updated_by = excluded.updated_by,"
                " updated_at = now()"
            ),
            {"a": principal.agency_id, "c": text, "u": principal.user_id},
        )
        hub.audit.append(connection, [entry(principal, "pprl.contact", "pprl-contact", "")])
    return {"contact": text}


def list_deposits(hub: Hub, principal: Principal) -> dict[str, Any]:
    """The agency's contact route and its deposits: schema, key id, bits, count, last upload."""
    if not (principal.can("pprl:deposit") or principal.can("pprl:query")):
        require(principal, "pprl:deposit")
    with tenant(hub.app, principal.agency_id) as connection:
        rows = connection.execute(
            sa.text(
                "SELECT schema_sha256, key_id, (max(length(clk)) - :o) * 8 AS bits,"
                " count(*) AS records, max(uploaded_at) AS uploaded_at FROM pprl_encodings"
                " WHERE agency_id = :a GROUP BY schema_sha256, key_id ORDER BY 5 DESC"
            ),
            {"a": principal.agency_id, "o": SEAL_OVERHEAD},
        ).mappings()
        deposits = [dict(row) for row in rows]
        contact = _contact(connection, principal.agency_id)
    return {"contact": contact, "deposits": deposits}


# --- questions ---------------------------------------------------------------------------------


def ask(
    hub: Hub, principal: Principal, question: Encodings, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """Which other agencies hold a record like each of these? Answers name agency, contact
    route and Dice similarity, per queried reference; the question and its answers are logged
    for the asking agency only, and audited.

    Only deposits made with the question's schema and key id are compared. When there are
    none, the question is refused with the reason (nobody uses this schema, or they use it
    with another secret) rather than answered "no match", which would be false comfort.
    """
    require(principal, "pprl:query")
    if not MIN_THRESHOLD <= threshold <= 1.0:
        raise InvalidError(f"threshold must be between {MIN_THRESHOLD} and 1")
    limit = hub.settings.pprl_max_query_records
    if len(question.refs) > limit:
        raise InvalidError(
            f"{len(question.refs):,} encodings in one question; the hub takes {limit:,}"
            " (CTIP_PPRL_MAX_QUERY_RECORDS): split the file"
        )
    schema, key = question.schema_sha256, question.key_id
    params = {"s": schema, "k": key}
    with tenant(hub.app, principal.agency_id) as connection:
        sealed = connection.execute(
            sa.text("SELECT agency_id::text, clk FROM ctip_pprl_candidates(:s, :k)"), params
        ).all()
        if not sealed:
            _refuse(connection, schema, key)
        agencies = {
            row.agency_id: (str(row.name), str(row.contact))
            for row in connection.execute(
                sa.text(
                    "SELECT c.agency_id::text AS agency_id, a.name, c.contact"
                    " FROM ctip_pprl_contacts(:s, :k) c JOIN agencies a ON a.id = c.agency_id"
                ),
                params,
            )
        }
    candidates: dict[str, list[bitarray]] = {}
    for agency_id, blob in sealed:
        clk = open_sealed(hub.pprl_key, bytes(blob), _where(agency_id, schema, key))
        if len(clk) != len(question.clks[0]):
            raise NotComparableError(
                f"the other agencies' encodings have {len(clk) * 8} bits, these"
                f" {question.bits}: is the file encoded with the agreed linkage schema?"
            )
        candidates.setdefault(agency_id, []).append(_bits(clk))
    names = {
        agency_id: agencies.get(agency_id, ("", ""))[0] or agency_id for agency_id in candidates
    }
    answers = match_query(
        dict(zip(question.refs, (_bits(c) for c in question.clks), strict=True)),
        {
            names[agency_id]: (agencies.get(agency_id, ("", ""))[1], clks)
            for agency_id, clks in candidates.items()
        },
        threshold,
    )
    rows = [
        {"query": m.query, "agency": m.agency, "contact": m.contact, "score": m.score}
        for m in answers
    ]
    return _log_question(hub, principal, question, threshold, rows, names)


def _bits(raw: bytes) -> bitarray:
    array = bitarray(endian="big")  # as ctip.link.pprl.serialise writes them
    array.frombytes(raw)
    return array


def _refuse(connection: Connection, schema: str, key: str) -> None:
    sets = connection.execute(
        sa.text("SELECT schema_sha256, key_id, agencies FROM ctip_pprl_sets()")
    ).all()
    same_schema = {row.key_id: int(row.agencies) for row in sets if row.schema_sha256 == schema}
    if same_schema:
        others = ", ".join(f"{k} ({n} agencies)" for k, n in sorted(same_schema.items()))
        raise NotComparableError(
            f"no other agency deposited encodings made with this secret (key id {key});"
            f" with this linkage schema they used key id {others}: re-encode with the secret"
            " the agencies currently share"
        )
    raise NotComparableError(
        "no other agency has deposited encodings made with this linkage schema"
        f" ({schema[:16]}...): agree on one schema and have the agencies deposit first"
    )


def _log_question(
    hub: Hub,
    principal: Principal,
    question: Encodings,
    threshold: float,
    rows: list[dict[str, Any]],
    names: dict[str, str],
) -> dict[str, Any]:
    """Keep the question and its answers in the asker's log and audit it, in one transaction.

    The asker's entry carries counts; every agency named in the answers gets an entry of its
    own (``pprl.answered``, with it as the subject), so its auditors see who learned that it
    holds a match, and how many, though never which of its records.
    """
    per_agency: dict[str, int] = {}
    for row in rows:
        per_agency[row["agency"]] = per_agency.get(row["agency"], 0) + 1
    ids = {name: agency_id for agency_id, name in names.items()}
    with tenant(hub.app, principal.agency_id) as connection:
        logged = connection.execute(
            sa.text(
                "INSERT INTO pprl_queries (agency_id, asked_by, schema_sha256, key_id, threshold,"
                " queried, agencies_compared, answers) VALUES (:a, :u, :s, :k, :t, :q, :n,"
                " CAST(:answers AS jsonb)) RETURNING id::text AS id, asked_at"
            ),
            {
                "a": principal.agency_id,
                "u": principal.user_id,
                "s": question.schema_sha256,
                "k": question.key_id,
                "t": threshold,
                "q": len(question.refs),
                "n": len(names),
                "answers": json.dumps(rows),
            },
        ).one()
        entries: list[AuditEntry] = [
            entry(
                principal,
                "pprl.query",
                "pprl-query",
                logged.id,
                queried=len(question.refs),
                threshold=threshold,
                agencies_compared=len(names),
                answers=len(rows),
                schema_sha256=question.schema_sha256,
                key_id=question.key_id,
            )
        ]
        entries += [
            entry(
                principal,
                "pprl.answered",
                "pprl-query",
                logged.id,
                subject=ids[name],
                matches=count,
            )
            for name, count in sorted(per_agency.items())
        ]
        hub.audit.append(connection, entries)
    return {
        "id": logged.id,
        "asked_at": logged.asked_at,
        "agencies_compared": len(names),
        "answers": rows,
    }


def list_queries(
    hub: Hub, principal: Principal, limit: int = LISTED_QUESTIONS
) -> list[dict[str, Any]]:
    """The agency's own questions with their answers, newest first."""
    require(principal, "pprl:query")
    with tenant(hub.app, principal.agency_id) as connection:
        rows = connection.execute(
            sa.text(
                "SELECT id::text AS id, asked_at, schema_sha256, key_id, threshold, queried,"
                " agencies_compared, answers FROM pprl_queries WHERE agency_id = :a"
                " ORDER BY asked_at DESC, id LIMIT :n"
            ),
            {"a": principal.agency_id, "n": limit},
        ).mappings()
        return [dict(row) for row in rows]


def list_requests(
    hub: Hub, principal: Principal, limit: int = LISTED_QUESTIONS
) -> list[dict[str, Any]]:
    """The dashboard's rows: one per answer (asked_at, query, agency, contact, score), and one
    per question nobody matched, so an empty answer is seen as one. Users who may not ask
    see none: the log says which of the agency's records other agencies hold."""
    if not principal.can("pprl:query"):
        return []
    found: list[dict[str, Any]] = []
    for question in list_queries(hub, principal, limit):
        answers = question["answers"] or []
        for answer in answers:
            found.append({"asked_at": question["asked_at"], **answer})
        if not answers:
            found.append(
                {
                    "asked_at": question["asked_at"],
                    "query": f"{question['queried']:,} records asked",
                    "agency": "none",
                    "contact": f"no match at Dice >= {question['threshold']:g}",
                    "score": None,
                }
            )
    return found

"""The tamper-evident audit log: every entry carries a keyed hash of the one before.

``hash[n] = BLAKE2b-256(key = audit key, hash[n-1] || canonical(entry n))``, with ``seq`` numbered
without gaps. Changing any stored field of an entry breaks its own hash; deleting an entry
leaves a gap in ``seq`` and breaks the next entry's link; swapping two entries breaks both.
The audit key is a system key wrapped by the master key, so someone who can write to the
database but does not hold the master key cannot recompute the chain after an edit.

Appends are serialised by locking the single ``audit_head`` row. Writes append inside their
own transaction (the change and its audit entry commit together); reads of personal data go
through ``AuditBatcher``, which commits the entries of many concurrent requests in one
transaction (group commit) and makes each request wait until its entry is durable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("ctip.hub.audit")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AuditEntry:
    action: str
    actor: str
    agency_id: str | None = None
    actor_id: str | None = None
    target_type: str = ""
    target_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    client: str = ""
    subject_agency_id: str | None = None  # whose records were touched, when not the actor's


def micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical(
    seq: int,
    at_us: int,
    agency_id: str | None,
    subject_agency_id: str | None,
    actor_id: str | None,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    details: str,
    client: str,
) -> bytes:
    """The exact bytes hashed for one entry: the fields joined by NUL, a character PostgreSQL
    text cannot hold, so field boundaries are unambiguous."""
    return "\x00".join(
        (
            str(seq),
            str(at_us),
            agency_id or "",
            subject_agency_id or "",
            actor_id or "",
            actor,
            action,
            target_type,
            target_id,
            details,
            client,
        )
    ).encode()


def link(key: bytes, previous: bytes, content: bytes) -> bytes:
    """Keyed BLAKE2b-256 (a MAC by design) of the previous hash and this entry's content."""
    return hashlib.blake2b(previous + content, key=key, digest_size=32).digest()


class AuditLog:
    """Appends entries to the chain inside the caller's transaction."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def append(self, connection: Connection, entries: list[AuditEntry]) -> None:
        if not entries:
            return
        head = connection.execute(
            sa.text("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
        ).one()
        seq, previous = int(head[0]), bytes(head[1])
        rows = []
        now = datetime.now(UTC)
        at_us = micros(now)
        for entry in entries:
            seq += 1
            details = json.dumps(entry.details, sort_keys=True, separators=(",", ":"))
            content = canonical(
                seq,
                at_us,
                entry.agency_id,
                entry.subject_agency_id,
                entry.actor_id,
                entry.actor,
                entry.action,
                entry.target_type,
                entry.target_id,
                details,
                entry.client,
            )
            digest = link(self.key, previous, content)
            rows.append(
                {
                    "seq": seq,
                    "at": now,
                    "agency_id": entry.agency_id,
                    "subject_agency_id": entry.subject_agency_id,
                    "actor_id": entry.actor_id,
                    "actor": entry.actor,
                    "action": entry.action,
                    "target_type": entry.target_type,
                    "target_id": entry.target_id,
                    "details": details,
                    "client": entry.client,
                    "prev_hash": previous,
                    "hash": digest,
                }
            )
            previous = digest
        connection.execute(
            sa.text(
                "INSERT INTO audit_log (seq, at, agency_id, subject_agency_id, actor_id, actor,"
                " action, target_type, target_id, details, client, prev_hash, hash) VALUES"
                " (:seq, :at, :agency_id, :subject_agency_id, :actor_id, :actor, :action,"
                " :target_type, :target_id, :details, :client, :prev_hash, :hash)"
            ),
            rows,
        )
        connection.execute(
            sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
            {"s": seq, "h": previous},
        )


class AuditBatcher:
    """Group commit for audit entries of reads: one transaction for many requests.

    ``append`` blocks until the entry is committed, so a request never answers before its
    audit entry is durable; concurrent requests share the commit.
    """

    def __init__(self, engine: Engine, audit: AuditLog, max_batch: int = 1000) -> None:
        self.engine = engine
        self.audit = audit
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[AuditEntry, Future[None]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def append(self, entry: AuditEntry) -> None:
        self._ensure_started()
        done: Future[None] = Future()
        self._queue.put((entry, done))
        done.result()

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="ctip-audit", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                with self.engine.begin() as connection:
                    self.audit.append(connection, [entry for entry, _ in batch])
            except Exception as error:  # every waiting request fails with it
                log.exception("audit append failed")
                for _, done in batch:
                    done.set_exception(error)
            else:
                for _, done in batch:
                    done.set_result(None)
            if stop:
                return

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None


# --- verification ------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


VERIFY_QUERY_RANGE = (
    "SELECT seq, (EXTRACT(EPOCH FROM at) * 1000000)::bigint, agency_id::text,"
    " subject_agency_id::text, actor_id::text, actor, action, target_type, target_id, details,"
    " client, prev_hash, hash"
    " FROM audit_log WHERE seq >= %s AND seq < %s ORDER BY seq"
)


def _check_range(url: str, key: bytes, low: int, high: int, max_problems: int) -> dict[str, Any]:
    """Check entries with low <= seq < high: each entry's own hash and the links inside."""
    import psycopg

    problems: list[dict[str, Any]] = []
    first_prev: bytes | None = None
    first_seq: int | None = None
    previous = b""
    expected = low
    count = 0
    with psycopg.connect(url) as connection, connection.cursor(name="ctip_verify") as cursor:
        cursor.itersize = 20_000
        cursor.execute(VERIFY_QUERY_RANGE, (low, high))
        for row in cursor:
            seq = row[0]
            stored_prev, stored_hash = bytes(row[11]), bytes(row[12])
            if first_seq is None:
                first_seq, first_prev = seq, stored_prev
            elif stored_prev != previous and len(problems) < max_problems:
                problems.append(
                    {
                        "seq": seq,
                        "problem": "does not follow the entry before it"
                        " (an entry before it was edited, deleted or reordered)",
                    }
                )
            if seq != expected and len(problems) < max_problems:
                if seq > expected:
                    missing = f"{expected}" + (f"-{seq - 1}" if seq - 1 > expected else "")
                    problems.append(
                        {"seq": expected, "problem": f"entries {missing} are missing (deleted)"}
                    )
                else:
                    problems.append({"seq": seq, "problem": "out of order or duplicated"})
            edited = link(key, stored_prev, canonical(*row[:11])) != stored_hash
            if edited and len(problems) < max_problems:
                problems.append({"seq": seq, "problem": "content does not match its hash (edited)"})
            previous = stored_hash
            expected = seq + 1
            count += 1
    return {
        "low": low,
        "high": high,
        "count": count,
        "first_seq": first_seq,
        "first_prev": first_prev,
        "last_seq": expected - 1,
        "last_hash": previous,
        "problems": problems,
    }


def verify(
    owner: Engine, key: bytes, *, max_problems: int = 20, workers: int | None = None
) -> VerifyResult:
    """Walk the whole chain; report each entry whose content, link or position is wrong.

    Every entry stores the hash it follows, so ranges of the chain can be checked in
    parallel (one process per core); the joins between ranges are checked afterwards.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor

    result = VerifyResult()
    url = owner.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with owner.connect() as connection:
        head = connection.execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
        bounds = connection.execute(sa.text("SELECT min(seq), max(seq) FROM audit_log")).one()
    result.head_seq, result.head_hash = int(head[0]), bytes(head[1]).hex()
    top = max(int(bounds[1] or 0), result.head_seq) + 1
    low_bound = min(int(bounds[0] or 1), 1)
    parts = max(1, min(workers or os.cpu_count() or 1, (top - low_bound) // 100_000 or 1))
    step = -(-(top - low_bound) // parts)
    ranges = [(low_bound + i * step, min(top, low_bound + (i + 1) * step)) for i in range(parts)]
    ranges[0] = (min(1, ranges[0][0]), ranges[0][1])
    if parts == 1:
        checked = [_check_range(url, key, ranges[0][0], ranges[0][1], max_problems)]
    else:
        with ProcessPoolExecutor(parts) as pool:
            futures = [
                pool.submit(_check_range, url, key, lo, hi, max_problems) for lo, hi in ranges
            ]
            checked = [f.result() for f in futures]
    previous_hash, previous_seq = b"", 0
    problems = result.problems
    for part in checked:
        if part["first_seq"] is not None:
            if part["first_seq"] != previous_seq + 1:
                gap = f"{previous_seq + 1}" + (
                    f"-{part['first_seq'] - 1}" if part["first_seq"] - 1 > previous_seq + 1 else ""
                )
                problems.append(
                    {"seq": previous_seq + 1, "problem": f"entries {gap} are missing (deleted)"}
                )
            elif part["first_prev"] != previous_hash:
                problems.append(
                    {
                        "seq": part["first_seq"],
                        "problem": "does not follow the entry before it"
                        " (an entry before it was edited, deleted or reordered)",
                    }
                )
            previous_hash, previous_seq = part["last_hash"], part["last_seq"]
        problems.extend(
            p for p in part["problems"] if p["seq"] != part["low"] or "missing" not in p["problem"]
        )
        result.entries += part["count"]
    problems.sort(key=lambda p: p["seq"])
    del problems[max_problems:]
    if not problems and (result.head_seq != previous_seq or bytes(head[1]) != previous_hash):
        problems.append(
            {
                "seq": result.head_seq,
                "problem": "the chain head does not match the last entry"
                " (entries at the end were deleted or the head was altered)",
            }
        )
    return result


def add_time_window(
    clauses: list[str], params: dict[str, Any], since: datetime | None, until: datetime | None
) -> None:
    """Narrow an ``audit_log`` query to entries at or after ``since`` and before ``until``.

    The audit export and the web audit page filter by the same half-open window, so that an
    entry at a day's boundary lands in the same window on both; either end may be left open.
    """
    if since is not None:
        clauses.append("at >= :since")
        params["since"] = since
    if until is not None:
        clauses.append("at < :until")
        params["until"] = until


def iter_entries(
    connection: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    agency_id: str | None = None,
    actions: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Audit entries in order, filtered by time window, agency and action prefix."""
    clauses = ["true"]
    params: dict[str, Any] = {}
    add_time_window(clauses, params, since, until)
    if agency_id is not None:
        clauses.append(":agency IN (agency_id, subject_agency_id)")
        params["agency"] = agency_id
    if actions:
        clauses.append("action LIKE ANY(:actions)")
        params["actions"] = [f"{a}%" for a in actions]
    rows = connection.execute(
        sa.text(
            "SELECT seq, at, agency_id::text AS agency_id,"
            " subject_agency_id::text AS subject_agency_id, actor_id::text AS actor_id, actor,"
            " action, target_type, target_id, details, client, encode(hash, 'hex') AS hash"
            f" FROM audit_log WHERE {' AND '.join(clauses)} ORDER BY seq"
        ).execution_options(stream_results=True, yield_per=5000),
        params,
    )
    for row in rows.mappings():
        entry = dict(row)
        entry["details"] = json.loads(entry["details"])
        yield entry


def accessed_records(entry: dict[str, Any]) -> list[str]:
    """The case ids an entry says were read or changed."""
    details = entry.get("details") or {}
    ids = list(details.get("case_ids", []))
    if entry.get("target_type") == "case" and entry.get("target_id"):
        ids.append(entry["target_id"])
    return ids

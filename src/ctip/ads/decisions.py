"""Analyst decisions on flags, clusters and links: stored with who and when, respected later.

As in nomenklatura's judgements, a decision is data. The latest decision on a target wins.

- ``flag``  target ``AD:CODE`` (the ad's id or key, an indicator code). Rejected: the
  indicator is left out of that ad's flags and score on later screening runs. Confirmed: it
  stays and is shown as confirmed.
- ``cluster`` target ``CLUSTER_ID``; the members at decision time are stored. Rejected: later
  clustering never groups those ads together by text. Confirmed: later runs keep them together.
- ``link`` target ``KIND:VALUE`` ("phone:+17025550123"). Rejected: that identifier no longer
  links ads into networks (a hotline or agency number, a shared template phrase). Confirmed:
  kept and shown as confirmed.
"""

from __future__ import annotations

import getpass
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError, NotFoundError

TARGET_KINDS = ("flag", "cluster", "link")
DECISIONS = ("confirm", "reject")


@dataclass(frozen=True)
class Decision:
    target_kind: str
    target: str
    decision: str
    members: tuple[str, ...]
    analyst: str
    decided_at: datetime


def default_analyst() -> str:
    return os.environ.get("CTIP_ANALYST") or getpass.getuser() or "analyst"


def record(
    engine: DuckDBEngine,
    target_kind: str,
    target: str,
    decision: str,
    *,
    analyst: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Store one decision after checking its target exists; returns the stored row."""
    if target_kind not in TARGET_KINDS:
        raise BadInputError(
            f"unknown decision target '{target_kind}'", hint="flag, cluster or link"
        )
    if decision not in DECISIONS:
        raise BadInputError(f"unknown decision '{decision}'", hint="confirm or reject")
    members = _members(engine, target_kind, target)
    row = {
        "decision_id": "dec-" + uuid.uuid4().hex[:12],
        "target_kind": target_kind,
        "target": target,
        "members": members,
        "decision": decision,
        "analyst": analyst or default_analyst(),
        "decided_at": datetime.now(UTC),
        "note": note,
    }
    engine.sql(
        "INSERT INTO ad_decisions (decision_id, target_kind, target, members, decision, analyst,"
        " decided_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        list(row.values()),
    )
    return row


def _members(engine: DuckDBEngine, target_kind: str, target: str) -> list[str]:
    if target_kind == "flag":
        ad, _, code = target.rpartition(":")
        if not ad or not code:
            raise BadInputError(f"flag target '{target}' should be AD:CODE (e.g. ad-17:SX-YOUTH)")
        keys = [
            str(r[0])
            for r in engine.rows("SELECT ad_key FROM ads WHERE id = ? OR ad_key = ?", [ad, ad])
        ]
        if not keys:
            raise NotFoundError(f"no ad '{ad}' in the workspace", hint="see 'ctip ads screen'")
        return keys
    if target_kind == "cluster":
        keys = [
            str(r[0])
            for r in engine.rows(
                "SELECT ad_key FROM ad_clusters WHERE cluster_id = ? ORDER BY ad_key", [target]
            )
        ]
        if len(keys) < 2:
            raise NotFoundError(
                f"no cluster '{target}' with two or more ads",
                hint="see 'ctip ads cluster --summary'",
            )
        return keys
    kind, _, value = target.partition(":")
    if not kind or not value:
        raise BadInputError(
            f"link target '{target}' should be KIND:VALUE (e.g. phone:+17025550123)"
        )
    return []


def active(engine: DuckDBEngine, target_kind: str | None = None) -> list[Decision]:
    """The latest decision on each target (optionally of one kind)."""
    rows = engine.rows(
        "SELECT target_kind, target, decision, members, analyst, decided_at FROM ("
        " SELECT *, row_number() OVER (PARTITION BY target_kind, target"
        "   ORDER BY decided_at DESC, decision_id DESC) AS rank FROM ad_decisions"
        " ) WHERE rank = 1"
        + (" AND target_kind = ?" if target_kind else "")
        + " ORDER BY decided_at",
        [target_kind] if target_kind else None,
    )
    return [Decision(r[0], r[1], r[2], tuple(r[3]), r[4], r[5]) for r in rows]


def flag_decisions(engine: DuckDBEngine) -> dict[tuple[str, str], str]:
    """(ad_key, code) -> confirm/reject."""
    found: dict[tuple[str, str], str] = {}
    for item in active(engine, "flag"):
        code = item.target.rpartition(":")[2]
        for key in item.members:
            found[(key, code)] = item.decision
    return found


def link_decisions(engine: DuckDBEngine) -> dict[str, str]:
    """ "kind:value" -> confirm/reject."""
    return {item.target: item.decision for item in active(engine, "link")}


def list_decisions(engine: DuckDBEngine) -> list[dict[str, Any]]:
    return engine.records(
        "SELECT decision_id, target_kind, target, decision, analyst, decided_at, note,"
        " len(members) AS members FROM ad_decisions ORDER BY decided_at"
    )

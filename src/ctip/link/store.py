"""Entity resolution in the workspace: runs, canonical entity ids, judgements, the review queue.

Analyst decisions are data (as in nomenklatura's judgements): who decided, when, why, and the
latest decision on a pair is what later runs respect. Canonical ids are kept per record in
``link_entities`` and every id ever issued in ``link_entity_ids``, so an id retired by a split
is never handed to a different person later.
"""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ctip.engine import DuckDBEngine
from ctip.errors import BadInputError, NotFoundError
from ctip.link.cluster import Judgement

VERDICTS = ("same", "not-same", "unsure")


def new_run_id() -> str:
    return "run-" + uuid.uuid4().hex[:12]


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user database entry (containers)
        return "unknown"


def latest_judgements(engine: DuckDBEngine) -> list[Judgement]:
    rows = engine.rows(
        "SELECT id_a, id_b, arg_max(verdict, judged_at) FROM link_judgements GROUP BY 1, 2"
        " ORDER BY 1, 2"
    )
    return [Judgement(str(a), str(b), str(v)) for a, b, v in rows]


def previous_entities(engine: DuckDBEngine) -> dict[str, str]:
    table = engine.to_arrow("SELECT record_id, entity_id FROM link_entities")
    return dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))


def issued_ids(engine: DuckDBEngine) -> set[str]:
    return {str(r[0]) for r in engine.rows("SELECT entity_id FROM link_entity_ids")}


def save_run(
    engine: DuckDBEngine,
    run: dict[str, Any],
    records: pa.Table,
    review: Sequence[dict[str, Any]],
    minted: set[str],
) -> None:
    """Store one run: its statistics, each record's canonical id, its borderline pairs."""
    now = datetime.now(UTC)
    run_id = run["run_id"]
    stored = records.select(["id", "cluster", "match_probability", "source"])
    engine.register("link_new_entities", stored)
    review_table = pa.table(
        {
            "id_l": [p["id_l"] for p in review],
            "id_r": [p["id_r"] for p in review],
            "match_probability": pa.array([p["match_probability"] for p in review], pa.float64()),
            "match_weight": pa.array([p["match_weight"] for p in review], pa.float64()),
            "explanation": [json.dumps(p["explanation"], ensure_ascii=False) for p in review],
        },
        schema=pa.schema(
            [
                ("id_l", pa.string()),
                ("id_r", pa.string()),
                ("match_probability", pa.float64()),
                ("match_weight", pa.float64()),
                ("explanation", pa.string()),
            ]
        ),
    )
    engine.register("link_new_review", review_table)
    try:
        with engine.transaction():
            engine.sql(
                "INSERT INTO link_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    run["started_at"],
                    now,
                    run["input_kind"],
                    json.dumps(run["inputs"]),
                    json.dumps(run["columns"]),
                    run["engine"],
                    run["threshold"],
                    run["records_read"],
                    run["records_linked"],
                    run["records_excluded"],
                    run["pairs_scored"],
                    run["clusters"],
                    run["judgements_applied"],
                    json.dumps(run["blocking_rules"]),
                    json.dumps(run["training"]),
                    json.dumps(run["model"]),
                    json.dumps(run["seconds"]),
                ],
            )
            engine.sql(
                "DELETE FROM link_entities WHERE record_id IN (SELECT id FROM link_new_entities)"
            )
            engine.sql(
                "INSERT INTO link_entities SELECT id, cluster, match_probability, source, ?, ?"
                " FROM link_new_entities",
                [run_id, now],
            )
            for entity in sorted(minted):
                engine.sql("INSERT INTO link_entity_ids VALUES (?, ?)", [entity, run_id])
            engine.sql(
                "INSERT INTO link_review SELECT ?, id_l, id_r, match_probability, match_weight,"
                " explanation FROM link_new_review",
                [run_id],
            )
    finally:
        engine.unregister("link_new_entities")
        engine.unregister("link_new_review")


def record_judgement(
    engine: DuckDBEngine, a: str, b: str, verdict: str, note: str | None, by: str | None
) -> dict[str, Any]:
    """Store a decision on the pair (a, b); both must be records the workspace knows."""
    if verdict not in VERDICTS:
        raise BadInputError(f"unknown verdict '{verdict}'", hint="use same, not-same or unsure")
    if a == b:
        raise BadInputError("a record is always the same as itself", hint="give two record ids")
    for record in (a, b):
        known = engine.scalar(
            "SELECT (SELECT count(*) FROM link_entities WHERE record_id = ?)"
            " + (SELECT count(*) FROM cases WHERE case_id = ?)",
            [record, record],
        )
        if not known:
            raise NotFoundError(
                f"no record '{record}' in this workspace's linkage runs or cases",
                hint="run 'ctip link dedupe' first; ids are those it prints",
            )
    first, second = sorted((a, b))
    judgement = {
        "id_a": first,
        "id_b": second,
        "verdict": verdict,
        "note": note,
        "judged_by": by or current_user(),
        "judged_at": datetime.now(UTC),
    }
    engine.sql("INSERT INTO link_judgements VALUES (?, ?, ?, ?, ?, ?)", list(judgement.values()))
    return judgement


def review_pairs(
    engine: DuckDBEngine, run_id: str | None, limit: int
) -> tuple[str, list[dict[str, Any]]]:
    """The borderline pairs of a run (default: the latest), nearest the threshold first."""
    if run_id is None:
        run_id = engine.scalar("SELECT run_id FROM link_runs ORDER BY started_at DESC LIMIT 1")
        if run_id is None:
            raise NotFoundError("no linkage run yet", hint="run 'ctip link dedupe' first")
    elif not engine.scalar("SELECT count(*) FROM link_runs WHERE run_id = ?", [run_id]):
        raise NotFoundError(f"no linkage run '{run_id}'", hint="see 'ctip link runs'")
    rows = engine.records(
        "SELECT r.id_l, r.id_r, r.match_probability, r.match_weight, r.explanation,"
        " j.verdict AS judged FROM link_review r"
        " LEFT JOIN (SELECT id_a, id_b, arg_max(verdict, judged_at) AS verdict"
        "   FROM link_judgements GROUP BY 1, 2) j"
        "   ON j.id_a = least(r.id_l, r.id_r) AND j.id_b = greatest(r.id_l, r.id_r)"
        " WHERE r.run_id = ? ORDER BY j.verdict IS NOT NULL, abs(r.match_weight"
        "  - (SELECT ln(threshold / (1 - least(threshold, 0.999999))) / ln(2)"
        "     FROM link_runs WHERE run_id = ?)), r.id_l, r.id_r LIMIT ?",
        [run_id, run_id, limit],
    )
    for row in rows:
        row["explanation"] = json.loads(row["explanation"])
    return str(run_id), rows


def list_runs(engine: DuckDBEngine, limit: int = 20) -> list[dict[str, Any]]:
    return engine.records(
        "SELECT run_id, started_at, input_kind, engine, threshold, records_read, records_linked,"
        " records_excluded, pairs_scored, clusters, judgements_applied FROM link_runs"
        " ORDER BY started_at DESC LIMIT ?",
        [limit],
    )

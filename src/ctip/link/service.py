"""``ctip link dedupe`` as a service function: prepare, resolve, give canonical ids, store.

With a workspace, judgements are read before the run and the result is stored, so cluster ids
are canonical and stable across runs. Without one (a quick look at a file), clusters are named
after their smallest record id and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ctip.engine import DuckDBEngine
from ctip.link import store
from ctip.link.cluster import canonical_ids
from ctip.link.prepare import PreparedRecords, read_cases, read_files
from ctip.link.resolve import DedupeOptions, DedupeResult, dedupe


@dataclass
class DedupeOutcome:
    rows: pa.Table  # id, cluster, match_probability, source
    run: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def load_records(
    engine: DuckDBEngine,
    files: Sequence[Path],
    *,
    id_column: str | None,
    specs: Sequence[tuple[str, str | None]],
) -> PreparedRecords:
    if files:
        return read_files(engine, files, id_column=id_column, specs=specs)
    return read_cases(engine, specs)


def run_dedupe(
    engine: DuckDBEngine,
    records: PreparedRecords,
    options: DedupeOptions,
    *,
    store_results: bool,
    input_kind: str,
) -> DedupeOutcome:
    started = datetime.now(UTC)
    judgements = store.latest_judgements(engine) if store_results else []
    result = dedupe(engine, records, options, judgements)
    minted: set[str] = set()
    if store_results:
        taken = store.issued_ids(engine)
        before = set(taken)
        cluster_ids = canonical_ids(result.clustering, store.previous_entities(engine), taken)
        minted = taken - before
    else:
        cluster_ids = _smallest_member_ids(result)
    rows = pa.table(
        {
            "id": pa.array(result.ids, pa.string()),
            "cluster": pa.array(cluster_ids, pa.string()),
            "match_probability": pa.array(result.clustering.probability, pa.float64()),
            "source": pa.array(result.sources, pa.string()),
        }
    )
    applied = sum(
        1 for j in judgements if j.verdict in ("same", "not-same") and j.a in set(result.ids)
    )
    run = _run_summary(result, records, options, started, input_kind, len(set(cluster_ids)))
    run["judgements_applied"] = applied
    if store_results:
        run["run_id"] = store.new_run_id()
        store.save_run(engine, run, rows, result.review, minted)
    notes = _notes(result, records, run)
    return DedupeOutcome(rows, run, notes)


def _smallest_member_ids(result: DedupeResult) -> list[str]:
    smallest: dict[int, str] = {}
    for record, root in zip(result.ids, result.clustering.cluster_of.tolist(), strict=True):
        if root not in smallest or record < smallest[root]:
            smallest[root] = record
    return [smallest[root] for root in result.clustering.cluster_of.tolist()]


def _run_summary(
    result: DedupeResult,
    records: PreparedRecords,
    options: DedupeOptions,
    started: datetime,
    input_kind: str,
    clusters: int,
) -> dict[str, Any]:
    return {
        "run_id": None,
        "started_at": started,
        "input_kind": input_kind,
        "inputs": records.inputs,
        "columns": [{"column": c.source, "role": c.role} for c in records.columns],
        "engine": options.engine,
        "threshold": options.threshold,
        "records_read": records.read,
        "records_linked": len(result.ids),
        "records_excluded": records.excluded,
        "pairs_scored": result.pairs_scored,
        "clusters": clusters,
        "multi_record_clusters": int(sum(1 for size in _sizes(result).values() if size > 1)),
        "split_by_model": result.clustering.split_by_model,
        "judgement_conflicts": result.clustering.conflicts,
        "blocking_rules": result.blocking,
        "training": result.training,
        "model": result.model,
        "seconds": result.seconds,
    }


def _sizes(result: DedupeResult) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for root in result.clustering.cluster_of.tolist():
        sizes[root] = sizes.get(root, 0) + 1
    return sizes


def _notes(result: DedupeResult, records: PreparedRecords, run: dict[str, Any]) -> list[str]:
    roles = ", ".join(f"{c.source}:{c.role}" for c in records.columns)
    notes = [f"compared columns: {roles}"]
    if records.excluded:
        notes.append(
            f"{records.excluded:,} of {records.read:,} records have no identifying field (name,"
            " date of birth, contact, identity number) and were not linked: records are never"
            " linked on demographics alone, and in k-anonymised data identical rows are"
            " different people"
        )
    notes.append(
        f"{run['records_linked']:,} records, {run['pairs_scored']:,} candidate pairs scored,"
        f" {run['clusters']:,} entities ({run['multi_record_clusters']:,} with several records)"
        f" at match probability >= {run['threshold']}"
    )
    if result.clustering.conflicts:
        notes.append(
            f"{len(result.clustering.conflicts)} 'not same' judgement(s) contradicted by 'same'"
            " judgements; the 'same' ones won"
        )
    if result.clustering.unrefined:
        notes.append(
            f"{result.clustering.unrefined} very large cluster(s) were not checked pair by pair;"
            " review them"
        )
    return notes

"""One entity-resolution run: train Splink, score pairs, cluster with judgements, explain.

The workspace engine prepares the records; Splink runs in its own in-memory DuckDB database
(or on Spark with ``engine="spark"``) so its many working tables never touch the workspace
file. What comes back is plain data: one row per record, the borderline pairs with their
per-comparison match weights, and the run's statistics.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ctip.engine import DuckDBEngine
from ctip.errors import CtipError
from ctip.link.cluster import Clustering, Judgement, cluster_records
from ctip.link.model import TrainedModel, arrow_of, predictions_table, train
from ctip.link.prepare import SOURCE, UID, PreparedRecords

REVIEW_LIMIT = 10_000
MAX_REFINED = 2_000  # largest cluster whose every inner pair is scored


@dataclass
class DedupeOptions:
    threshold: float = 0.95
    engine: str = "duckdb"
    review_low: float = 0.5
    review_high: float = 0.99
    separate_below: float = 0.001  # inner pairs of a cluster scored below this split it
    pair_budget: int | None = None  # default: max(250,000, 10 x records)
    spark_master: str = "local[*]"
    seed: int = 42


@dataclass
class DedupeResult:
    ids: list[str]
    sources: list[str]
    clustering: Clustering
    review: list[dict[str, Any]]
    pairs_scored: int
    model: dict[str, Any]
    blocking: list[dict[str, Any]]
    training: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def splink_backend(options: DedupeOptions) -> Iterator[Any]:
    """Splink's database API for the chosen engine, closed afterwards."""
    if options.engine == "duckdb":
        from splink import DuckDBAPI

        scratch = DuckDBEngine()
        try:
            yield DuckDBAPI(connection=scratch.connection)
        finally:
            scratch.close()
    elif options.engine == "spark":
        from ctip.link.spark import spark_api

        with spark_api(options.spark_master) as api:
            yield api
    else:
        raise CtipError(f"unknown engine '{options.engine}'", hint="use duckdb or spark")


def dedupe(
    engine: DuckDBEngine,
    records: PreparedRecords,
    options: DedupeOptions,
    judgements: Iterable[Judgement] = (),
) -> DedupeResult:
    """Resolve ``records``: see the module docstring."""
    n = records.table.num_rows
    if n < 2:
        raise CtipError(
            f"{n} record(s) with identifying fields: nothing to link",
            hint="records need a name, date of birth, contact or identity number",
        )
    budget = options.pair_budget or max(250_000, 10 * n)
    engine.register("link_prepared", records.table)
    try:
        with splink_backend(options) as api:
            table = api.register(records.table)
            model = train(
                table, records, engine, "link_prepared", pair_budget=budget, seed=options.seed
            )
            floor = min(options.threshold, options.review_low)
            predictions, predict_seconds = predictions_table(model, floor)
            model.seconds["predict"] = predict_seconds
            edges = arrow_of(
                model.linker,
                f"SELECT {UID}_l, {UID}_r, match_probability FROM {predictions.physical_name}",
            )
            review = _review_pairs(model, predictions.physical_name, records, options)
            model_json = model.model_json()
            started = time.perf_counter()
            ids = records.table.column(UID).to_pylist()
            given = list(judgements)
            clustering = _cluster_bounded(ids, edges, options.threshold, given)
            apart = _apart_within_clusters(api, model, predictions, clustering, options)
            if apart:
                first = clustering
                extra = [Judgement(a, b, "not-same") for a, b in apart]
                clustering = _cluster_bounded(ids, edges, options.threshold, given + extra)
                clustering.split_by_model = len(apart)
                clustering.conflicts, clustering.unrefined = first.conflicts, first.unrefined
    finally:
        engine.unregister("link_prepared")
    model.seconds["cluster"] = time.perf_counter() - started
    return DedupeResult(
        ids=ids,
        sources=records.table.column(SOURCE).to_pylist(),
        clustering=clustering,
        review=review,
        pairs_scored=edges.num_rows,
        model=model_json,
        blocking=[{"rule": b.label, "comparisons": b.pairs} for b in model.blocking],
        training=model.training,
        seconds={k: round(v, 3) for k, v in model.seconds.items()},
    )


def _cluster_bounded(
    ids: list[str], edges: pa.Table, threshold: float, judgements: list[Judgement]
) -> Clustering:
    """Clusters, with giant components re-clustered at stricter thresholds.

    A person has a handful of records; a component of thousands is a chain of weak links
    (namesakes with a missing date of birth ...). Edges inside a component larger than
    ``MAX_REFINED`` must clear a threshold ten times closer to 1, repeatedly, until every
    cluster is small enough for every inner pair to be scored.
    """
    probabilities = np.nan_to_num(edges.column("match_probability").to_numpy(zero_copy_only=False))
    left = edges.column(f"{UID}_l").to_pylist()
    right = edges.column(f"{UID}_r").to_pylist()
    position = {record: i for i, record in enumerate(ids)}
    left_index = np.array([position[r] for r in left], dtype=np.int64)
    strict = threshold
    clustering = cluster_records(ids, left, right, probabilities, threshold, judgements)
    while strict < 0.999999:
        sizes = np.bincount(clustering.cluster_of, minlength=len(ids))
        giant = sizes[clustering.cluster_of] > MAX_REFINED
        if not giant.any():
            break
        strict = 1 - (1 - strict) / 10
        probabilities = np.where(giant[left_index] & (probabilities < strict), 0.0, probabilities)
        clustering = cluster_records(ids, left, right, probabilities, threshold, judgements)
    return clustering


def _apart_within_clusters(
    api: Any, model: TrainedModel, predictions: Any, clustering: Clustering, options: DedupeOptions
) -> list[tuple[str, str]]:
    """Pairs inside one cluster that the model itself says are different people.

    Connected components chain: A links to B (B's date of birth is missing) and B to C, so A and
    C end up together although their dates of birth differ by twenty years. Every pair inside a
    cluster is scored, and pairs below ``options.separate_below`` become "not same" constraints
    for a second clustering pass. Clusters larger than ``MAX_REFINED`` are left as they are
    (counted in the run's statistics).
    """
    roots = clustering.cluster_of
    sizes = np.bincount(roots, minlength=len(roots))
    member = (sizes[roots] > 1) & (sizes[roots] <= MAX_REFINED)
    clustering.unrefined = int(np.count_nonzero(sizes > MAX_REFINED))
    if not member.any() or options.separate_below <= 0:
        return []
    score_missing = getattr(model.linker.inference, "_score_missing_cluster_edges", None)
    if score_missing is None:  # an older Splink: keep connected components
        return []
    positions = np.flatnonzero(member)
    clusters = pa.table(
        {
            UID: pa.array([clustering.ids[i] for i in positions], pa.string()),
            "cluster_id": pa.array(roots[positions].astype(np.int64)),
        }
    )
    registered = api.register(clusters)
    scored = score_missing(registered, predictions)
    low = arrow_of(
        model.linker,
        f"SELECT {UID}_l, {UID}_r FROM {scored.physical_name}"
        f" WHERE match_probability < {options.separate_below}",
    )
    return list(
        zip(low.column(f"{UID}_l").to_pylist(), low.column(f"{UID}_r").to_pylist(), strict=True)
    )


def level_labels(model_json: dict[str, Any]) -> dict[str, dict[int, str]]:
    """comparison output column -> gamma value -> level label (null level is -1)."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model_json.get("comparisons", []):
        levels = comparison["comparison_levels"]
        real = [lv for lv in levels if not lv.get("is_null_level")]
        mapping = {-1: "missing on one side"}
        for position, level in enumerate(real):
            mapping[len(real) - 1 - position] = level.get("label_for_charts", "")
        labels[comparison["output_column_name"]] = mapping
    return labels


def _review_pairs(
    model: TrainedModel, physical: str, records: PreparedRecords, options: DedupeOptions
) -> list[dict[str, Any]]:
    """Borderline pairs, nearest the threshold first, with each comparison's match weight."""
    centre = math.log2(options.threshold / (1 - options.threshold)) if options.threshold < 1 else 50
    model_json = model.model_json()
    labels = level_labels(model_json)
    names = [c["output_column_name"] for c in model_json.get("comparisons", [])]
    available = _columns(model, physical)
    select = [f"{UID}_l", f"{UID}_r", "match_probability", "match_weight"]
    for name in names:
        select.append(f"gamma_{name}")
        select.append(f"mw_{name}")
        if f"mw_tf_adj_{name}" in available:
            select.append(f"mw_tf_adj_{name}")
    value_columns = [c for c in available if c.endswith(("_l", "_r")) and not c.startswith("tf_")]
    select.extend(c for c in value_columns if c not in select and not c.startswith(UID))
    table = arrow_of(
        model.linker,
        f"SELECT {', '.join(select)} FROM {physical}"
        f" WHERE match_probability >= {options.review_low}"
        f" AND match_probability < {options.review_high}"
        f" ORDER BY abs(match_weight - {centre}), {UID}_l, {UID}_r LIMIT {REVIEW_LIMIT}",
    )
    source_of = {c.field: c.source for c in records.columns}
    pairs: list[dict[str, Any]] = []
    for row in table.to_pylist():
        explanation = []
        for name in names:
            weight = float(row.get(f"mw_{name}") or 0.0)
            adjustment = float(row.get(f"mw_tf_adj_{name}") or 0.0)
            gamma = int(row.get(f"gamma_{name}", -1))
            explanation.append(
                {
                    "comparison": source_of.get(name, name),
                    "left": row.get(f"{name}_l"),
                    "right": row.get(f"{name}_r"),
                    "level": labels.get(name, {}).get(gamma, str(gamma)),
                    "match_weight": round(weight + adjustment, 3),
                    "term_frequency_adjustment": round(adjustment, 3),
                }
            )
        pairs.append(
            {
                "id_l": row[f"{UID}_l"],
                "id_r": row[f"{UID}_r"],
                "match_probability": float(row["match_probability"]),
                "match_weight": float(row["match_weight"]),
                "explanation": explanation,
            }
        )
    return pairs


def _columns(model: TrainedModel, physical: str) -> list[str]:
    misc: Any = model.linker.misc  # query_sql carries no type hints
    frame = misc.query_sql(f"SELECT * FROM {physical} LIMIT 0", output_type="pandas")
    return [str(c) for c in frame.columns]


def explanation_json(pair: dict[str, Any]) -> str:
    return json.dumps(pair["explanation"], ensure_ascii=False)


def records_rows(result: DedupeResult, cluster_ids: list[str]) -> pa.Table:
    return pa.table(
        {
            "id": result.ids,
            "cluster": cluster_ids,
            "match_probability": result.clustering.probability,
            "source": result.sources,
        }
    )

"""The linkage step of ``ctip demo``: resolve generated people whose duplicates are known."""

from __future__ import annotations

from itertools import combinations

import pyarrow as pa

from ctip.capabilities import DemoContext
from ctip.link.people import generate_people
from ctip.link.prepare import SOURCE, clean_records
from ctip.link.resolve import DedupeOptions
from ctip.link.roles import assign_roles
from ctip.link.service import run_dedupe

DEMO_PEOPLE = 2_000


def pairwise_scores(
    ids: list[str], predicted: list[str], truth: dict[str, str]
) -> dict[str, float]:
    """Pairwise precision, recall and F1 of predicted clusters against true ones."""

    def pairs(labels: dict[str, list[str]]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for members in labels.values():
            found.update(combinations(sorted(members), 2))
        return found

    by_predicted: dict[str, list[str]] = {}
    by_truth: dict[str, list[str]] = {}
    for record, cluster in zip(ids, predicted, strict=True):
        by_predicted.setdefault(cluster, []).append(record)
        by_truth.setdefault(truth[record], []).append(record)
    found, true = pairs(by_predicted), pairs(by_truth)
    hits = len(found & true)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": len(true)}


def run_demo(context: DemoContext) -> None:
    people = generate_people(DEMO_PEOPLE, seed=7)
    table = people.append_column(SOURCE, pa.array(["generated people"] * people.num_rows))
    columns = [c for c in people.column_names if c not in ("record_id", "entity_id")]
    roles = assign_roles(columns, id_column="record_id")
    engine = context.workspace.engine
    records = clean_records(
        engine, table, "record_id", roles, inputs=[{"generated": "people", "rows": DEMO_PEOPLE}]
    )
    outcome = run_dedupe(
        engine, records, DedupeOptions(), store_results=True, input_kind="generated"
    )
    truth = dict(
        zip(
            people.column("record_id").to_pylist(),
            people.column("entity_id").to_pylist(),
            strict=True,
        )
    )
    scores = pairwise_scores(
        outcome.rows.column("id").to_pylist(), outcome.rows.column("cluster").to_pylist(), truth
    )
    context.say(
        f"entity resolution of {DEMO_PEOPLE:,} generated people ({scores['true_pairs']:,} true"
        f" duplicate pairs): precision {scores['precision']:.3f}, recall {scores['recall']:.3f},"
        f" F1 {scores['f1']:.3f}; borderline pairs: 'ctip link review'"
    )
    context.results.setdefault("next_steps", []).append(
        "Review borderline record pairs: ctip link review"
    )

"""Clustering with judgements and stable canonical ids."""

from __future__ import annotations

import numpy as np

from ctip.link.cluster import Judgement, canonical_ids, cluster_records, mint_id

IDS = ["a", "b", "c", "d", "e"]


def _clusters(result_roots: np.ndarray) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for record, root in zip(IDS, result_roots.tolist(), strict=True):
        groups.setdefault(root, set()).add(record)
    return {frozenset(g) for g in groups.values()}


def test_connected_components_at_the_threshold() -> None:
    result = cluster_records(
        IDS, ["a", "b", "d"], ["b", "c", "e"], np.array([0.99, 0.97, 0.5]), 0.9
    )
    assert _clusters(result.cluster_of) == {frozenset("abc"), frozenset("d"), frozenset("e")}
    assert result.probability[IDS.index("d")] is None


def test_not_same_keeps_apart_even_through_a_chain() -> None:
    # a-b and b-c link; a and c judged different: the weaker link (b-c) must give way
    result = cluster_records(
        IDS,
        ["a", "b"],
        ["b", "c"],
        np.array([0.99, 0.95]),
        0.9,
        [Judgement("a", "c", "not-same")],
    )
    assert _clusters(result.cluster_of) == {
        frozenset("ab"),
        frozenset("c"),
        frozenset("d"),
        frozenset("e"),
    }
    assert result.forced_apart == 1


def test_same_joins_whatever_the_model_says() -> None:
    result = cluster_records(IDS, [], [], np.array([]), 0.9, [Judgement("d", "e", "same")])
    assert frozenset("de") in _clusters(result.cluster_of)
    assert result.probability[IDS.index("d")] == 1.0
    unsure = cluster_records(IDS, [], [], np.array([]), 0.9, [Judgement("d", "e", "unsure")])
    assert frozenset("de") not in _clusters(unsure.cluster_of)


def test_contradicting_judgements_are_reported() -> None:
    result = cluster_records(
        IDS,
        [],
        [],
        np.array([]),
        0.9,
        [Judgement("a", "b", "same"), Judgement("a", "b", "not-same")],
    )
    assert result.conflicts == [("a", "b")]


def test_canonical_ids_survive_a_rerun_and_a_split() -> None:
    first = cluster_records(IDS, ["a", "b"], ["b", "c"], np.array([0.99, 0.99]), 0.9)
    taken: set[str] = set()
    ids1 = canonical_ids(first, {}, taken)
    assert ids1[0] == ids1[1] == ids1[2] and len(set(ids1)) == 3
    again = canonical_ids(first, dict(zip(IDS, ids1, strict=True)), set(taken))
    assert again == ids1
    # c splits off: a and b keep the old id, c gets a new one never issued before
    split = cluster_records(IDS, ["a"], ["b"], np.array([0.99]), 0.9)
    ids2 = canonical_ids(split, dict(zip(IDS, ids1, strict=True)), taken)
    assert ids2[0] == ids2[1] == ids1[0]
    assert ids2[2] not in ids1


def test_minted_ids_never_repeat() -> None:
    taken: set[str] = set()
    assert mint_id("x", taken) != mint_id("x", taken)

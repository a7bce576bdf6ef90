"""Clusters from scored pairs, with analysts' judgements as constraints, and stable cluster ids.

Splink's own clustering is connected components at a threshold. Judgements change that: a
"same" judgement joins two records whatever the model says, and a "not same" judgement must
keep two records apart even when a chain of other links would join them (removing the one edge
is not enough when A-C-B also links A and B). So clustering here is a constrained union-find:
"same" pairs first, then model edges from the most to the least probable, refusing any merge
that would put a "not same" pair into one cluster. Without "not same" judgements the result is
exactly connected components at the threshold.

Canonical ids stay stable across runs: each new cluster inherits the id most of its members had
before (each old id going to at most one cluster, the one keeping most of its members); only
genuinely new clusters get new ids, made from a hash of their smallest record id.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Judgement:
    a: str
    b: str
    verdict: str  # same | not-same | unsure


@dataclass
class Clustering:
    ids: list[str]
    cluster_of: np.ndarray  # index of the cluster's root record, per record
    probability: list[float | None]  # best accepted link into its cluster, per record
    forced_apart: int  # model edges refused because of "not same" judgements
    conflicts: list[tuple[str, str]]  # "not same" pairs that "same" judgements joined anyway
    split_by_model: int = 0  # inner pairs the model scored as different people
    unrefined: int = 0  # clusters too large to check every inner pair


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))  # a Python list: numpy scalar access is slower here
        self.apart: dict[int, set[int]] = {}  # root -> records it must not join

    def find(self, node: int) -> int:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    def allowed(self, a: int, b: int) -> bool:
        for left, right in ((a, b), (b, a)):
            for other in self.apart.get(left, ()):
                if self.find(other) == right:
                    return False
        return True

    def union(self, a: int, b: int) -> None:
        if a == b:
            return
        if a > b:
            a, b = b, a  # the smaller index stays root: deterministic
        self.parent[b] = a
        if b in self.apart:
            self.apart.setdefault(a, set()).update(self.apart.pop(b))


def cluster_records(
    ids: Sequence[str],
    left: Sequence[str],
    right: Sequence[str],
    probabilities: np.ndarray,
    threshold: float,
    judgements: Iterable[Judgement] = (),
) -> Clustering:
    """Cluster ``ids`` from scored pairs (``left[i]``, ``right[i]``, ``probabilities[i]``)."""
    index = {record: i for i, record in enumerate(ids)}
    sets = _UnionFind(len(ids))
    best: list[float | None] = [None] * len(ids)
    apart: list[tuple[int, int]] = []
    for judgement in judgements:
        a, b = index.get(judgement.a), index.get(judgement.b)
        if a is None or b is None or a == b:
            continue
        if judgement.verdict == "same":
            sets.union(sets.find(a), sets.find(b))
            best[a] = best[b] = 1.0
        elif judgement.verdict == "not-same":
            apart.append((a, b))
    conflicts = [(ids[a], ids[b]) for a, b in apart if sets.find(a) == sets.find(b)]
    for a, b in apart:
        sets.apart.setdefault(sets.find(a), set()).add(b)
        sets.apart.setdefault(sets.find(b), set()).add(a)
    refused = 0
    keep = np.flatnonzero(probabilities >= threshold)
    order = keep[np.argsort(-probabilities[keep], kind="stable")]
    constrained = bool(apart)
    for position in order:
        a, b = index[left[position]], index[right[position]]
        root_a, root_b = sets.find(a), sets.find(b)
        if root_a == root_b:
            continue
        if constrained and not sets.allowed(root_a, root_b):
            refused += 1
            continue
        sets.union(root_a, root_b)
        p = float(probabilities[position])
        for node in (a, b):
            if best[node] is None or p > (best[node] or 0.0):
                best[node] = p
    roots = np.array([sets.find(i) for i in range(len(ids))], dtype=np.int64)
    return Clustering(list(ids), roots, best, refused, conflicts)


def mint_id(seed: str, taken: set[str]) -> str:
    """A new canonical id from ``seed`` (a record id) that no earlier cluster has used."""
    attempt = 0
    while True:
        text = seed if attempt == 0 else f"{seed}#{attempt}"
        candidate = "ent-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        attempt += 1


def canonical_ids(
    clustering: Clustering, previous: Mapping[str, str], taken: set[str]
) -> list[str]:
    """One canonical id per record: inherited from the previous run where possible."""
    members: dict[int, list[int]] = {}
    for position, root in enumerate(clustering.cluster_of.tolist()):
        members.setdefault(root, []).append(position)
    claims: list[tuple[int, int, str, int]] = []  # (-overlap, -size, old id, root)
    for root, positions in members.items():
        counts = Counter(
            previous[clustering.ids[p]] for p in positions if clustering.ids[p] in previous
        )
        for old, overlap in counts.items():
            claims.append((-overlap, -len(positions), old, root))
    claims.sort()
    assigned: dict[int, str] = {}
    used: set[str] = set()
    for _, _, old, root in claims:
        if root not in assigned and old not in used:
            assigned[root] = old
            used.add(old)
    result: list[str] = []
    for root in clustering.cluster_of.tolist():
        if root not in assigned:
            first = min(clustering.ids[p] for p in members[root])
            assigned[root] = mint_id(first, taken)
        result.append(assigned[root])
    return result

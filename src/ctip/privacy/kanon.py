"""k-anonymous extracts: full-domain generalisation on a lattice, then local suppression.

Each quasi-identifier has a hierarchy (``ctip.privacy.hierarchy``); a *node* of the lattice
picks one level per quasi-identifier. For every node the records fall into equivalence classes
(records with equal generalised quasi-identifiers); classes smaller than k would have to be
suppressed. Among the nodes whose suppression stays within ``max_suppression`` of the records,
the one that loses least information is chosen: each record loses the mean generalisation
height of its quasi-identifiers (Sweeney's precision metric, 0 = as recorded, 1 = ``*``), a
suppressed record loses everything; ties go to the lower discernibility metric (Bayardo &
Agrawal). This trades coarser values against lost records the way CTDC's releases do: age
bands, regions instead of rare countries, year ranges, a few records suppressed. (Minimising
discernibility alone prefers to blank whole columns, such as citizenship, to keep exact ages.)

All nodes are scored on the table of distinct quasi-identifier combinations with their counts
(a few thousand rows even for millions of records), with numpy, so the search takes well under
a second for five quasi-identifiers.

What k-anonymity does not protect: everybody in a class may share the same sensitive value (an
exploitation type, say), and then being in the class discloses it. The result therefore
reports, for every other released column, how many classes are homogeneous (the l-diversity
caveat, Machanavajjhala et al. 2007).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ctip.errors import BadInputError
from ctip.privacy.hierarchy import HIERARCHIES, SUPPRESSED, Hierarchy, guess_kind

MAX_NODES = 50_000


@dataclass
class KanonResult:
    released: pd.DataFrame
    levels: dict[str, int]
    summary: dict[str, Any] = field(default_factory=dict)


def violations(frame: pd.DataFrame, quasi: Sequence[str], k: int) -> pd.DataFrame:
    """Quasi-identifier combinations occurring fewer than k times (missing counts as a value).

    Deliberately independent of the anonymiser: a plain group-by over the released table.
    """
    sizes = frame.groupby(list(quasi), dropna=False).size().reset_index(name="count")
    small: pd.DataFrame = sizes[sizes["count"] < k]
    return small


def _codes(values: np.ndarray, hierarchy: Hierarchy) -> list[np.ndarray]:
    """Per level, an integer code for each distinct value's generalisation."""
    per_level: list[np.ndarray] = []
    for level in range(hierarchy.height + 1):
        generalised = [hierarchy.apply(v, level) for v in values]
        codes, _ = pd.factorize(pd.Series(generalised, dtype=object), use_na_sentinel=False)
        per_level.append(codes.astype(np.int64))
    return per_level


def _score(
    level_codes: list[list[np.ndarray]],
    inverse: list[np.ndarray],
    counts: np.ndarray,
    node: tuple[int, ...],
    k: int,
) -> tuple[int, int, int]:
    """(suppressed records, discernibility, classes) of one lattice node."""
    key = np.zeros(len(counts), dtype=np.int64)
    for q, level in enumerate(node):
        codes = level_codes[q][level][inverse[q]]
        key = key * (int(level_codes[q][level].max()) + 1) + codes
    _, groups = np.unique(key, return_inverse=True)
    sizes = np.bincount(groups, weights=counts).astype(np.int64)
    small = sizes < k
    suppressed = int(sizes[small].sum())
    total = int(counts.sum())
    discernibility = int((sizes[~small] ** 2).sum()) + suppressed * total
    return suppressed, discernibility, int((~small).sum())


def k_anonymise(
    frame: pd.DataFrame,
    quasi: Sequence[str],
    k: int,
    *,
    kinds: Mapping[str, str] | None = None,
    max_suppression: float = 0.05,
    sensitive: Sequence[str] = (),
) -> KanonResult:
    """Generalise and suppress ``frame`` so every quasi-identifier combination occurs >= k times."""
    if k < 2:
        raise BadInputError("--k must be at least 2")
    missing = [q for q in quasi if q not in frame.columns]
    if missing:
        raise BadInputError(
            f"no column {', '.join(missing)} to use as quasi-identifier",
            hint="columns: " + ", ".join(map(str, frame.columns)),
        )
    total = len(frame)
    if total < k:
        raise BadInputError(f"{total} records: fewer than k={k}, nothing can be released")
    chosen = {q: (kinds or {}).get(q) or guess_kind(q, frame[q].tolist()) for q in quasi}
    hierarchies = [HIERARCHIES[chosen[q]] for q in quasi]
    combos = frame.groupby(list(quasi), dropna=False).size().reset_index(name="_n")
    counts = combos["_n"].to_numpy(dtype=np.int64)
    level_codes: list[list[np.ndarray]] = []
    inverse: list[np.ndarray] = []
    for q, hierarchy in zip(quasi, hierarchies, strict=True):
        column = combos[q].astype(object).where(combos[q].notna(), None)
        values, positions = np.unique(
            column.astype(str).where(column.notna(), "\x00"), return_inverse=True
        )
        originals = np.array([None if v == "\x00" else v for v in values], dtype=object)
        level_codes.append(_codes(originals, hierarchy))
        inverse.append(positions)
    nodes = list(itertools.product(*(range(h.height + 1) for h in hierarchies)))
    if len(nodes) > MAX_NODES:
        raise BadInputError(
            f"{len(quasi)} quasi-identifiers make {len(nodes):,} generalisations to try",
            hint="use fewer quasi-identifiers",
        )
    best: tuple[tuple[float, int, int], tuple[int, ...], int, int] | None = None
    feasible = 0
    for node in nodes:
        suppressed, discernibility, _ = _score(level_codes, inverse, counts, node, k)
        if suppressed > max_suppression * total:
            continue
        feasible += 1
        precision_loss = float(
            np.mean([lv / h.height for lv, h in zip(node, hierarchies, strict=True)])
        )
        # a suppressed record loses everything (loss 1); the others lose their node's share
        loss = (precision_loss * (total - suppressed) + suppressed) / total
        rank = (round(loss, 12), discernibility, sum(node))
        if best is None or rank < best[0]:
            best = (rank, node, suppressed, discernibility)
    assert best is not None  # the top node (everything "*") always has one class of all records
    _, node, _, _ = best
    released, dropped, suppressed = _apply(frame, quasi, hierarchies, node, k)
    levels = dict(zip(quasi, node, strict=True))
    summary = _summary(
        frame,
        released,
        quasi,
        hierarchies,
        chosen,
        node,
        k,
        suppressed,
        dropped,
        len(nodes),
        feasible,
        max_suppression,
        sensitive,
    )
    return KanonResult(released, levels, summary)


def _apply(
    frame: pd.DataFrame,
    quasi: Sequence[str],
    hierarchies: Sequence[Hierarchy],
    node: tuple[int, ...],
    k: int,
) -> tuple[pd.DataFrame, int, int]:
    released = frame.copy()
    for q, hierarchy, level in zip(quasi, hierarchies, node, strict=True):
        values = released[q].astype(object).where(released[q].notna(), None)
        mapping = {v: hierarchy.apply(v, level) for v in values.dropna().unique()}
        released[q] = values.map(
            lambda v, m=mapping, h=hierarchy, lv=level: m[v] if v is not None else h.apply(None, lv)
        )
    sizes = released.groupby(list(quasi), dropna=False)[quasi[0]].transform("size")
    small = sizes < k
    suppressed = int(small.sum())
    for q in quasi:
        released.loc[small, q] = SUPPRESSED
    dropped = 0
    if 0 < suppressed < k:
        # the suppressed records form one class of their own; too small to publish
        all_star = np.logical_and.reduce([released[q] == SUPPRESSED for q in quasi])
        if int(all_star.sum()) < k:
            dropped = int(all_star.sum())
            released = released[~all_star]
    released = released.sort_values(list(quasi), na_position="last", kind="stable").reset_index(
        drop=True
    )
    return released, dropped, suppressed


def _summary(
    original: pd.DataFrame,
    released: pd.DataFrame,
    quasi: Sequence[str],
    hierarchies: Sequence[Hierarchy],
    kinds: Mapping[str, str],
    node: tuple[int, ...],
    k: int,
    suppressed: int,
    dropped: int,
    nodes: int,
    feasible: int,
    max_suppression: float,
    sensitive: Sequence[str],
) -> dict[str, Any]:
    classes = released.groupby(list(quasi), dropna=False).size()
    total = len(original)
    generalisation = [
        {
            "column": q,
            "hierarchy": kinds[q],
            "level": level,
            "of": h.height,
            "as": h.names[level],
            "distinct_before": int(original[q].nunique(dropna=False)),
            "distinct_after": int(released[q].nunique(dropna=False)),
        }
        for q, h, level in zip(quasi, hierarchies, node, strict=True)
    ]
    diversity = []
    for column in sensitive:
        if column in released.columns and column not in quasi:
            distinct = released.groupby(list(quasi), dropna=False)[column].nunique(dropna=False)
            diversity.append(
                {
                    "column": column,
                    "min_distinct_values_in_a_class": int(distinct.min()) if len(distinct) else 0,
                    "homogeneous_classes": int((distinct <= 1).sum()),
                    "records_in_homogeneous_classes": int(classes[distinct <= 1].sum()),
                }
            )
    return {
        "k": k,
        "records_in": total,
        "records_out": len(released),
        "suppressed_records": suppressed,
        "dropped_records": dropped,
        "max_suppression": max_suppression,
        "generalisation": generalisation,
        "equivalence_classes": len(classes),
        "smallest_class": int(classes.min()) if len(classes) else 0,
        "average_class_size": round(float(classes.mean()), 2) if len(classes) else 0.0,
        "discernibility": int((classes**2).sum()) + dropped * total,
        "precision_loss": round(
            float(np.mean([lv / h.height for lv, h in zip(node, hierarchies, strict=True)])), 4
        ),
        "suppressed_cells": suppressed * len(quasi),
        "lattice_nodes": nodes,
        "feasible_nodes": feasible,
        "l_diversity": diversity,
    }

"""Taint policies inside one UTXO transaction, vectorised over many transactions at once.

A transaction mixes its inputs and splits the mix into outputs. How much of a tainted input
ends up in each output is a policy choice, not a fact (Möser, Böhme & Breuker 2014; Anderson
et al., "Bitcoin Redux", 2018):

- ``poison``: any taint in, every output fully tainted. Over-inclusive; good for not missing a
  path, useless for amounts after a few hops.
- ``haircut``: every output carries the tainted share of the inputs (tainted value / input
  value). Conserves value; spreads it thin.
- ``fifo``: coins keep their order: the inputs' value is laid end to end in input order, the
  outputs' likewise, and the first coin in is the first coin out. Taint is tracked as exact
  intervals inside each output, so later hops stay exact. The fee is the tail after the last
  output and takes its share of the taint out of circulation.

All functions take transactions in "batch coordinates": rows of inputs and outputs sorted by
transaction then index, each with the position of its transaction in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POLICIES = ("poison", "haircut", "fifo")


@dataclass
class Intervals:
    """Tainted intervals [start, end) inside items (outputs or inputs), relative to the item."""

    item: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def empty(cls) -> Intervals:
        return cls(np.empty(0, np.int64), np.empty(0), np.empty(0))

    @classmethod
    def whole(cls, values: np.ndarray) -> Intervals:
        return cls(
            np.arange(values.shape[0], dtype=np.int64),
            np.zeros(values.shape[0]),
            values.astype(float),
        )

    def take(self, keep: np.ndarray) -> Intervals:
        """Only the intervals of items where ``keep`` holds, renumbered 0..k-1."""
        new_index = np.cumsum(keep) - 1
        selected = keep[self.item]
        return Intervals(new_index[self.item[selected]], self.start[selected], self.end[selected])

    def totals(self, count: int) -> np.ndarray:
        totals: np.ndarray = np.bincount(
            self.item, weights=self.end - self.start, minlength=count
        ).astype(float)
        return totals


def offsets(tx_index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The start of each row's value range within its transaction (rows sorted by tx, index)."""
    cumulative: np.ndarray = np.cumsum(values) - values
    if tx_index.shape[0] == 0:
        return cumulative
    first = np.r_[True, tx_index[1:] != tx_index[:-1]]
    base = np.maximum.accumulate(np.where(first, cumulative, 0.0))
    result: np.ndarray = cumulative - base
    return result


def spread(
    source_tx: np.ndarray,
    source_values: np.ndarray,
    source_taint: np.ndarray,
    target_tx: np.ndarray,
    target_values: np.ndarray,
    transactions: int,
    policy: str,
) -> np.ndarray:
    """Taint of each target row (poison and haircut), from the taint of the source rows."""
    tainted = np.bincount(source_tx, weights=source_taint, minlength=transactions).astype(float)
    if policy == "poison":
        poisoned: np.ndarray = np.where(tainted[target_tx] > 0, target_values, 0.0)
        return poisoned
    total = np.bincount(source_tx, weights=source_values, minlength=transactions).astype(float)
    share = np.divide(tainted, total, out=np.zeros_like(tainted), where=total > 0)
    share = np.where((total <= 0) & (tainted > 0), 1.0, np.minimum(share, 1.0))
    result: np.ndarray = share[target_tx] * target_values
    return result


def fifo(
    source_tx: np.ndarray,
    source_values: np.ndarray,
    source_intervals: Intervals,
    target_tx: np.ndarray,
    target_values: np.ndarray,
    transactions: int,
) -> Intervals:
    """Map tainted intervals of source rows onto target rows, first coin in, first coin out."""
    size = np.maximum(
        np.bincount(source_tx, weights=source_values, minlength=transactions),
        np.bincount(target_tx, weights=target_values, minlength=transactions),
    )
    base = np.cumsum(size) - size  # each transaction gets its own stretch of the number line
    source_start = base[source_tx] + offsets(source_tx, source_values)
    target_start = base[target_tx] + offsets(target_tx, target_values)
    target_end = target_start + target_values
    start = source_start[source_intervals.item] + source_intervals.start
    end = source_start[source_intervals.item] + source_intervals.end
    first = np.searchsorted(target_end, start, side="right")
    last = np.searchsorted(target_start, end, side="left") - 1
    count = np.maximum(last - first + 1, 0)
    row = np.repeat(np.arange(start.shape[0]), count)
    target = np.repeat(first, count) + (
        np.arange(row.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    )
    lo = np.maximum(start[row], target_start[target])
    hi = np.minimum(end[row], target_end[target])
    # the number line is shared between transactions: keep overlaps inside the same one
    same = (target_tx[target] == source_tx[source_intervals.item[row]]) & (hi > lo)
    target = target[same]
    return Intervals(target, lo[same] - target_start[target], hi[same] - target_start[target])

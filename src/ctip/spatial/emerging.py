"""Emerging hotspots: how each cell's Gi* changes over consecutive periods.

Following the space-time pattern mining of ArcGIS's Emerging Hot Spot Analysis: Gi* is computed
for every period on the same grid and weights, a cell counts as hot in a period when its z is
positive with a two-sided normal p below 0.10, and the Mann-Kendall test (with the tie
correction) on the cell's series of z-scores gives its trend. The classes:

- new: hot in the last period and never before;
- intensifying: hot in at least 90% of periods, including the last, with a significant upward
  trend (Mann-Kendall p < 0.05);
- persistent: the same without a significant trend;
- diminishing: the same with a significant downward trend;
- sporadic: hot in the last period, on and off before;
- historical: hot in at least 90% of periods but not the last;
- an empty class for the rest.

Analytic z (not permutations) per period keeps the cost at one Gi* per period; the permutation
test belongs to the overall map. Periods are equal lengths ending at the last event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats

from ctip.spatial.geometry import FloatArray
from ctip.spatial.gistar import gi_star

HOT_P = 0.10
TREND_P = 0.05
MOST = 0.9
CLASSES = ("new", "intensifying", "persistent", "diminishing", "sporadic", "historical")


@dataclass(frozen=True)
class Emerging:
    classes: list[str]
    trend_z: FloatArray
    trend_p: FloatArray
    hot_periods: np.ndarray[tuple[int], np.dtype[np.int64]]
    periods: int


def mann_kendall(series: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mann-Kendall Z and two-sided p for each row of ``series`` (rows x periods)."""
    series = np.asarray(series, float)
    n = series.shape[1]
    upper = np.triu_indices(n, k=1)
    diffs = series[:, upper[1]] - series[:, upper[0]]
    s = np.sign(diffs).sum(axis=1)
    variance = np.full(len(series), n * (n - 1) * (2 * n + 5) / 18.0)
    ordered = np.sort(series, axis=1)
    tied = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    for row in tied:
        _, counts = np.unique(ordered[row], return_counts=True)
        counts = counts[counts > 1]
        variance[row] -= float((counts * (counts - 1) * (2 * counts + 5)).sum()) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            variance > 0, (s - np.sign(s)) / np.sqrt(np.where(variance > 0, variance, 1)), 0.0
        )
    p = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def period_bounds(end: float, periods: int, period_days: float) -> list[tuple[float, float]]:
    """[low, high) of each period, oldest first, the last ending at ``end``.

    A Parquet job hands these same numbers to SQL, so an event on a boundary falls in the
    same period on every engine and in the workspace.
    """
    start = end - periods * period_days
    bounds = []
    for k in range(periods):
        low = start + k * period_days
        bounds.append((low, low + period_days))
    return bounds


def period_counts(
    t: FloatArray,
    cell: np.ndarray[tuple[int], np.dtype[np.int64]],
    cells: int,
    bounds: list[tuple[float, float]],
) -> FloatArray:
    """Events per cell (rows) and period (columns)."""
    counts = np.zeros((cells, len(bounds)))
    for k, (low, high) in enumerate(bounds):
        chosen = (t >= low) & (t < high)
        counts[:, k] = np.bincount(cell[chosen], minlength=cells)
    return counts


def emerging_hotspots(
    t: FloatArray,
    cell: np.ndarray[tuple[int], np.dtype[np.int64]],
    cells: int,
    neighbours: sp.csr_matrix,
    *,
    end: float,
    periods: int = 8,
    period_days: float = 91.0,
) -> Emerging:
    """Classify every cell from events at times ``t`` (days) in cells ``cell``."""
    bounds = period_bounds(end, periods, period_days)
    return classify_periods(period_counts(t, cell, cells, bounds), neighbours)


def classify_periods(counts: FloatArray, neighbours: sp.csr_matrix) -> Emerging:
    """Classify every cell from its events per period (cells x periods, oldest first)."""
    cells, periods = counts.shape
    zs = np.zeros((cells, periods))
    for k in range(periods):
        if counts[:, k].sum() > 0:
            zs[:, k] = gi_star(counts[:, k], neighbours, permutations=0).z
    hot = (zs > 0) & (2.0 * stats.norm.sf(np.abs(zs)) < HOT_P)
    trend_z, trend_p = mann_kendall(zs)
    share = hot.mean(axis=1)
    last = hot[:, -1]
    earlier = hot[:, :-1].sum(axis=1)
    mostly = share >= MOST
    up = (trend_z > 0) & (trend_p < TREND_P)
    down = (trend_z < 0) & (trend_p < TREND_P)
    labels = np.full(cells, "", dtype=object)
    labels[last & mostly & ~up & ~down] = "persistent"
    labels[last & mostly & up] = "intensifying"
    labels[last & mostly & down] = "diminishing"
    labels[last & ~mostly & (earlier > 0)] = "sporadic"
    labels[last & (earlier == 0)] = "new"
    labels[~last & mostly] = "historical"
    return Emerging(
        [str(v) for v in labels], trend_z, trend_p, hot.sum(axis=1).astype(np.int64), periods
    )

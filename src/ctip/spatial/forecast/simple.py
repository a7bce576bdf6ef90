"""The simple baselines: counts per cell, and kernel density (plain or prospective).

A plain count over the training window is the forecast to beat: at fine grids it is hard to
improve on (the issue's Toronto baselines). The Gaussian KDE spreads each event over nearby
cells, optionally weighting recent events more (``half_life_days``). The prospective hotspot map
of Bowers, Johnson & Pease (2004) weights each recent event by 1/(1 + distance in cell widths)
times 1/(1 + age in weeks), within a bandwidth and a time limit, so that risk follows the
"near repeat" pattern of burglary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
from scipy.spatial import cKDTree

from ctip.spatial.forecast.base import (
    Forecast,
    History,
    ParamsMixin,
    Window,
    gamma_poisson_interval,
    poisson_interval,
    require_fitted,
)
from ctip.spatial.geometry import FloatArray
from ctip.spatial.grid import IntArray
from ctip.spatial.kde import default_bandwidth, kernel_density


@dataclass(eq=False, repr=False)
class NaiveForecaster(ParamsMixin):
    """Counts per cell over the last ``lookback_days`` of the history (all of it if None)."""

    name = "naive"
    lookback_days: float | None = None

    def fit(self, history: History) -> Self:
        start = history.start
        if self.lookback_days is not None:
            start = max(start, history.end - self.lookback_days)
        chosen = history.events.between(start, history.end)
        return self.fit_counts(history.grid.counts(chosen.cell), history.end - start)

    def fit_counts(self, counts: FloatArray, exposure_days: float) -> Self:
        """Fit from counts per cell over ``exposure_days`` already counted elsewhere (a
        Parquet job counts them in SQL): the same model as ``fit`` on those events."""
        self.counts_ = np.asarray(counts, dtype=float)
        self.exposure_days_ = exposure_days
        return self

    def predict(self, window: Window) -> Forecast:
        require_fitted(self, "counts_")
        expected = self.counts_ * window.days / self.exposure_days_
        low, high = gamma_poisson_interval(self.counts_, self.exposure_days_, window.days)
        return Forecast(self.name, window, expected, low, high)


@dataclass(eq=False, repr=False)
class _SurfaceShareForecaster(ParamsMixin):
    """A model that spreads the history's event rate over the cells in proportion to a
    surface (a kernel density, a prospective score) evaluated at the grid's quadrature points.

    The KDE and prospective models differ only in the surface; turning it into each cell's
    share and the share into expected counts is the same step, kept here once.
    """

    name = "surface"

    def _fit_surface(self, history: History, qcell: IntArray, weighted: FloatArray) -> None:
        """Set ``share_`` (each cell's part of ``weighted``, the surface times the quadrature
        weights; uniform when it is all zero) and ``rate_per_day_``."""
        size = history.grid.size
        mass = np.bincount(qcell, weights=weighted, minlength=size)
        total = mass.sum()
        self.share_: FloatArray = mass / total if total > 0 else np.full(size, 1.0 / size)
        self.rate_per_day_ = len(history.events) / history.days

    def predict(self, window: Window) -> Forecast:
        require_fitted(self, "share_")
        expected = self.share_ * self.rate_per_day_ * window.days
        low, high = poisson_interval(expected)
        return Forecast(self.name, window, expected, low, high)


@dataclass(eq=False, repr=False)
class KDEForecaster(_SurfaceShareForecaster):
    """A Gaussian kernel density of the history, scaled to the history's event rate."""

    name = "kde"
    bandwidth: float | None = None
    half_life_days: float | None = None

    def fit(self, history: History) -> Self:
        grid, events = history.grid, history.events
        self.bandwidth_ = self.bandwidth or default_bandwidth(grid.area)
        weights = np.ones(len(events))
        if self.half_life_days:
            weights = 0.5 ** ((history.end - events.t) / self.half_life_days)
        qx, qy, qw, qcell = grid.quadrature()
        density = kernel_density(qx, qy, events.x, events.y, self.bandwidth_, weights)
        self._fit_surface(history, qcell, density * qw)
        return self


@dataclass(eq=False, repr=False)
class ProspectiveForecaster(_SurfaceShareForecaster):
    """Bowers, Johnson & Pease (2004) prospective hotspotting."""

    name = "prospective"
    bandwidth: float = 400.0
    max_age_days: float = 56.0

    def fit(self, history: History) -> Self:
        grid = history.grid
        recent = history.events.between(history.end - self.max_age_days, history.end)
        qx, qy, qw, qcell = grid.quadrature()
        width = float(np.sqrt(np.median(grid.area)))
        score = np.zeros(len(qx))
        if len(recent):
            tree = cKDTree(np.column_stack([recent.x, recent.y]))
            points = cKDTree(np.column_stack([qx, qy]))
            pairs = points.sparse_distance_matrix(tree, self.bandwidth, output_type="coo_matrix")
            age_weeks = np.floor((history.end - recent.t) / 7.0)
            weight = 1.0 / (1.0 + pairs.data / width) / (1.0 + age_weeks[pairs.col])
            score = np.asarray(np.bincount(pairs.row, weights=weight, minlength=len(qx)), float)
        self._fit_surface(history, qcell, score * qw)
        return self

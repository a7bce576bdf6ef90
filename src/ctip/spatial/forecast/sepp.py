"""A self-exciting point process (SEPP / ETAS) for near-repeat crime, after Mohler et al. (2011).

The conditional intensity at (x, y, t) is a background plus a sum of triggering terms:

    lambda(x, y, t) = mu(x, y) + sum_{t_j < t} theta * omega * exp(-omega (t - t_j)) * f(x - x_j)

with f an isotropic Gaussian of width sigma (the "near repeat" reach) and 1/omega the time an
event's influence lasts; theta is the expected number of events one event triggers. As in
Mohler et al., the background mu is a kernel density of the events with variable bandwidths
(each event's the distance to its k-th nearest neighbour, so dense areas stay sharp and sparse
ones smooth), weighted by each event's probability of being a background event.

Fitting is expectation-maximisation over the branching structure ("stochastic declustering",
Zhuang, Ogata & Vere-Jones 2002; Veen & Schoenberg 2008): the E-step gives every event the
probability that it is background or was triggered by each earlier event within reach; the
M-step re-estimates theta, omega, sigma in closed form and re-weights the background density.
Triggering pairs are limited to ``max_trigger_days`` and ``max_trigger_distance``, and sigma and
the bandwidths have floors (``min_sigma``, ``min_bandwidth``): geocoders snap incidents to
intersections or block centroids, and repeats at one snapped point would otherwise shrink the
kernel to nothing.

The forecast for a window [a, b) integrates the intensity over each cell and the window: the
background times (b - a) plus, for each past event, theta (e^{-omega(a - t_j)} -
e^{-omega(b - t_j)}) times its kernel's mass in the cell. Triggering by events inside the window
is left out, as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ctip.spatial.forecast.base import (
    Forecast,
    History,
    ParamsMixin,
    Window,
    poisson_interval,
    require_fitted,
)
from ctip.spatial.geometry import FloatArray
from ctip.spatial.grid import Grid, IntArray

TRUNCATE = 4.0
MAX_THETA = 0.95
BLOCK_DAYS = 30.0


@dataclass(eq=False, repr=False)
class SEPPForecaster(ParamsMixin):
    """Background plus near-repeat triggering, fitted by EM (see the module docstring)."""

    name = "sepp"
    background_neighbours: int = 15
    min_bandwidth: float = 20.0
    max_bandwidth: float = 1000.0
    max_trigger_days: float = 90.0
    max_trigger_distance: float = 600.0
    min_sigma: float = 25.0
    max_iterations: int = 60
    tolerance: float = 1e-4

    def fit(self, history: History) -> Self:
        events = history.events
        n = len(events)
        if n < 2:
            raise ValueError("SEPP needs at least two events to fit")
        x, y, t = events.x, events.y, events.t
        self.bandwidths_ = self._bandwidths(x, y)
        kernel = _background_matrix(x, y, self.bandwidths_)
        child, _parent, dt, d2 = _trigger_pairs(
            x, y, t, self.max_trigger_days, self.max_trigger_distance
        )
        days = history.days
        theta, omega, sigma2 = 0.1, 0.1, 100.0**2
        background = np.ones(n)
        converged = False
        iteration = 0
        while iteration < self.max_iterations:
            iteration += 1
            bg = kernel @ background / days
            trig = (
                theta
                * omega
                * np.exp(-omega * dt)
                * np.exp(-d2 / (2 * sigma2))
                / (2 * np.pi * sigma2)
            )
            total = bg + np.bincount(child, weights=trig, minlength=n)
            total = np.where(total > 0, total, 1e-300)
            share = trig / total[child]
            background = np.where(total > 1e-300, bg / total, 1.0)
            triggered = share.sum()
            reach = np.minimum(history.end - t, self.max_trigger_days)
            offspring_time = (1.0 - np.exp(-omega * reach)).sum()
            new_theta = min(MAX_THETA, triggered / offspring_time) if offspring_time > 0 else 0.0
            spent = float((share * dt).sum())
            new_omega = triggered / spent if spent > 0 else omega
            new_sigma2 = max(
                float((share * d2).sum()) / (2 * triggered) if triggered > 0 else sigma2,
                self.min_sigma**2,
            )
            change = max(
                abs(new_theta - theta) / max(theta, 1e-9),
                abs(new_omega - omega) / omega,
                abs(new_sigma2 - sigma2) / sigma2,
            )
            theta, omega, sigma2 = new_theta, new_omega, new_sigma2
            if change < self.tolerance:
                converged = True
                break
        self.theta_ = float(theta)
        self.omega_ = float(omega)
        self.sigma_ = float(np.sqrt(sigma2))
        self.background_probability_ = background
        self.background_rate_ = float(background.sum()) / days  # background events per day
        self.n_iter_ = iteration
        self.converged_ = converged
        self.history_ = history
        return self

    def _bandwidths(self, x: FloatArray, y: FloatArray) -> FloatArray:
        k = min(self.background_neighbours, len(x) - 1)
        distances, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=k + 1)
        nearest = distances[:, -1] if distances.ndim == 2 else distances
        clipped: FloatArray = np.clip(nearest, self.min_bandwidth, self.max_bandwidth)
        return clipped

    def predict(self, window: Window) -> Forecast:
        require_fitted(self, "theta_")
        history = self.history_
        grid = history.grid
        events = history.events
        background = cell_kernel_mass(
            grid, events.x, events.y, self.bandwidths_, self.background_probability_
        ) * (window.days / history.days)
        since = np.maximum(window.start - events.t, 0.0)
        until = np.maximum(window.end - events.t, 0.0)
        weight = self.theta_ * (np.exp(-self.omega_ * since) - np.exp(-self.omega_ * until))
        recent = weight > 1e-9
        triggered = cell_kernel_mass(
            grid,
            events.x[recent],
            events.y[recent],
            np.full(int(recent.sum()), self.sigma_),
            weight[recent],
        )
        expected = background + triggered
        low, high = poisson_interval(expected)
        details: dict[str, Any] = {
            "theta": self.theta_,
            "omega_per_day": self.omega_,
            "trigger_days": 1.0 / self.omega_,
            "sigma_m": self.sigma_,
            "background_per_day": self.background_rate_,
            "triggered_share": float(triggered.sum() / max(expected.sum(), 1e-12)),
            "iterations": self.n_iter_,
            "converged": self.converged_,
        }
        return Forecast(self.name, window, expected, low, high, details)


def cell_kernel_mass(
    grid: Grid, sx: FloatArray, sy: FloatArray, bandwidth: FloatArray, weight: FloatArray
) -> FloatArray:
    """Each cell's share of weighted Gaussian kernels: narrow kernels (under a cell width)
    integrated over the cell's quadrature points, wide ones read at the centroid times the
    area, where a kernel is smooth over the cell and the centroid is exact enough."""
    width = float(np.sqrt(np.median(grid.area)))
    narrow = bandwidth < width
    qx, qy, qw, qcell = grid.quadrature()
    mass = np.zeros(grid.size)
    if narrow.any():
        points = cKDTree(np.column_stack([qx, qy]))
        density = _kernel_sum(
            points, len(qx), sx[narrow], sy[narrow], bandwidth[narrow], weight[narrow]
        )
        mass += np.bincount(qcell, weights=density * qw, minlength=grid.size)
    if (~narrow).any():
        centres = cKDTree(np.column_stack([grid.cx, grid.cy]))
        density = _kernel_sum(
            centres, grid.size, sx[~narrow], sy[~narrow], bandwidth[~narrow], weight[~narrow]
        )
        mass += density * grid.area
    return mass


def _neighbour_lists(
    tree: cKDTree, sx: FloatArray, sy: FloatArray, radius: FloatArray
) -> tuple[IntArray, IntArray]:
    """(point, source) index pairs with the point within ``radius[source]`` of the source."""
    if len(sx) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    found = tree.query_ball_point(np.column_stack([sx, sy]), r=radius, return_sorted=False)
    lengths = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
    points = (
        np.concatenate([np.asarray(f, dtype=np.int64) for f in found])
        if lengths.sum()
        else np.zeros(0, np.int64)
    )
    sources = np.repeat(np.arange(len(sx), dtype=np.int64), lengths)
    return points, sources


def _gaussian(d2: FloatArray, h: FloatArray) -> FloatArray:
    return np.exp(-d2 / (2 * h * h)) / (2 * np.pi * h * h)


def _kernel_sum(
    tree: cKDTree,
    n_points: int,
    sx: FloatArray,
    sy: FloatArray,
    bandwidth: FloatArray,
    weight: FloatArray,
) -> FloatArray:
    """Sum over sources of weight x Gaussian(bandwidth) at every point of ``tree``."""
    points, sources = _neighbour_lists(tree, sx, sy, TRUNCATE * bandwidth)
    if len(points) == 0:
        return np.zeros(n_points)
    data = tree.data
    d2 = (data[points, 0] - sx[sources]) ** 2 + (data[points, 1] - sy[sources]) ** 2
    values = weight[sources] * _gaussian(d2, bandwidth[sources])
    return np.asarray(np.bincount(points, weights=values, minlength=n_points), float)


def _background_matrix(x: FloatArray, y: FloatArray, bandwidth: FloatArray) -> sp.csr_matrix:
    """K[i, j]: event j's background kernel at event i, leaving each event out of its own."""
    tree = cKDTree(np.column_stack([x, y]))
    points, sources = _neighbour_lists(tree, x, y, TRUNCATE * bandwidth)
    keep = points != sources
    points, sources = points[keep], sources[keep]
    d2 = (x[points] - x[sources]) ** 2 + (y[points] - y[sources]) ** 2
    values = _gaussian(d2, bandwidth[sources])
    return sp.csr_matrix((values, (points, sources)), shape=(len(x), len(x)))


def _trigger_pairs(
    x: FloatArray, y: FloatArray, t: FloatArray, max_days: float, max_distance: float
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """All (child, parent) pairs with 0 < t_child - t_parent <= max_days within max_distance.

    Built in blocks of children by time so memory follows the pairs kept, not every pair
    within the distance over the whole history.
    """
    order = np.argsort(t, kind="stable")
    children: list[IntArray] = []
    parents: list[IntArray] = []
    if len(t) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0)
    start = float(t[order[0]])
    last = float(t[order[-1]])
    sorted_t = t[order]
    while start <= last:
        end = start + BLOCK_DAYS
        lo, hi = np.searchsorted(sorted_t, [start, end], side="left")
        if hi > lo:
            block = order[lo:hi]
            first_source = np.searchsorted(sorted_t, start - max_days, side="left")
            sources = order[first_source:hi]
            near = cKDTree(np.column_stack([x[block], y[block]])).sparse_distance_matrix(
                cKDTree(np.column_stack([x[sources], y[sources]])),
                max_distance,
                output_type="ndarray",
            )
            child, parent = block[near["i"]], sources[near["j"]]
            gap = t[child] - t[parent]
            keep = (gap > 0) & (gap <= max_days)
            children.append(child[keep])
            parents.append(parent[keep])
        start = end
    child = np.concatenate(children) if children else np.zeros(0, np.int64)
    parent = np.concatenate(parents) if parents else np.zeros(0, np.int64)
    dt = t[child] - t[parent]
    d2 = (x[child] - x[parent]) ** 2 + (y[child] - y[parent]) ** 2
    return child.astype(np.int64), parent.astype(np.int64), dt, d2

"""Gradient-boosted trees (LightGBM, Poisson loss) on lagged features of each cell.

Training rows are (cell, origin) pairs: for origins stepping back from the end of the history
by the horizon, the features describe what was known at the origin and the target is the count
in the following ``horizon_days``. Everything is computed from the history alone, so a backtest
gives this model exactly the data it gives the others.

Features per cell: the event rate over all the history before the origin and the counts in the
last 7, 14, 28 and 91 days; the same for the eight (or six) neighbouring cells; a kernel
density of the history before the origin (the smooth long-run level); days since the cell's
last event; the share of the cell inside the study area; and the calendar (month and day of the
week of the origin, week of the year as sine and cosine). Cells that never had an event are
down-sampled in training with matching weights, which keeps the fit fast without biasing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from ctip.spatial.forecast.base import (
    Forecast,
    History,
    ParamsMixin,
    Window,
    poisson_interval,
    require_fitted,
)
from ctip.spatial.geometry import FloatArray
from ctip.spatial.kde import default_bandwidth, kernel_density
from ctip.spatial.study import EPOCH

LAGS = (7, 14, 28, 91)
FEATURES = (
    "rate_all",
    *(f"count_{lag}d" for lag in LAGS),
    "neighbours_rate_all",
    *(f"neighbours_{lag}d" for lag in LAGS),
    "kde_rate",
    "days_since_last",
    "history_days",
    "area_share",
    "month",
    "weekday",
    "week_sin",
    "week_cos",
)


@dataclass(eq=False, repr=False)
class GBMForecaster(ParamsMixin):
    """LightGBM Poisson regression of next-window counts on lagged cell features."""

    name = "gbm"
    horizon_days: float = 7.0
    max_origins: int = 26
    min_history_days: float = 91.0
    n_estimators: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 15
    min_child_samples: int = 200
    empty_cell_sample: float = 0.1
    random_state: int = 0

    def fit(self, history: History) -> Self:
        import lightgbm

        rng = np.random.default_rng(self.random_state)
        origins = self._origins(history)
        rows: list[FloatArray] = []
        targets: list[FloatArray] = []
        weights: list[FloatArray] = []
        for origin in origins:
            features = cell_features(history, origin)
            target = history.grid.counts(
                history.events.between(origin, origin + self.horizon_days).cell
            )
            empty = features[:, 0] == 0
            keep = ~empty | (rng.random(len(empty)) < self.empty_cell_sample)
            rows.append(features[keep])
            targets.append(target[keep])
            weights.append(np.where(empty[keep], 1.0 / self.empty_cell_sample, 1.0))
        self.model_ = lightgbm.LGBMRegressor(
            objective="poisson",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.random_state,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        self.model_.fit(
            np.vstack(rows),
            np.concatenate(targets),
            sample_weight=np.concatenate(weights),
        )
        self.origins_ = origins
        self.history_ = history
        return self

    def _origins(self, history: History) -> list[float]:
        usable = history.days - self.horizon_days - self.min_history_days
        if usable < 0:
            raise ValueError(
                f"the gbm model needs at least {self.min_history_days + self.horizon_days:g}"
                " days of history"
            )
        count = min(self.max_origins, int(usable // self.horizon_days) + 1)
        last = history.end - self.horizon_days
        return [last - k * self.horizon_days for k in range(count)]

    def predict(self, window: Window) -> Forecast:
        require_fitted(self, "model_")
        features = cell_features(self.history_, window.start)
        per_horizon = np.maximum(np.asarray(self.model_.predict(features), float), 0.0)
        expected = per_horizon * window.days / self.horizon_days
        low, high = poisson_interval(expected)
        importance = dict(
            zip(FEATURES, (int(v) for v in self.model_.feature_importances_), strict=True)
        )
        details: dict[str, Any] = {"training_origins": len(self.origins_), "splits": importance}
        return Forecast(self.name, window, expected, low, high, details)


def cell_features(history: History, origin: float) -> FloatArray:
    """The feature matrix (cells x FEATURES) from events of the history before ``origin``."""
    grid = history.grid
    known = history.events.between(history.start, origin)
    span = max(origin - history.start, 1.0)
    columns: list[FloatArray] = []
    rate_all = grid.counts(known.cell) / span
    lagged = [grid.counts(known.between(origin - lag, origin).cell) for lag in LAGS]
    columns.append(rate_all)
    columns.extend(lagged)
    columns.append(grid.neighbour_sum(rate_all))
    columns.extend(grid.neighbour_sum(c) for c in lagged)
    qx, qy, qw, qcell = grid.quadrature()
    density = kernel_density(qx, qy, known.x, known.y, default_bandwidth(grid.area))
    columns.append(np.bincount(qcell, weights=density * qw, minlength=grid.size) / span)
    last_seen = np.full(grid.size, -np.inf)
    np.maximum.at(last_seen, known.cell, known.t)
    columns.append(np.minimum(origin - last_seen, span))
    columns.append(np.full(grid.size, span))
    full = float(np.max(grid.area))
    columns.append(grid.area / full)
    day = EPOCH.toordinal() + int(np.floor(origin))
    from datetime import date

    moment = date.fromordinal(day)
    week = moment.isocalendar().week
    columns.append(np.full(grid.size, float(moment.month)))
    columns.append(np.full(grid.size, float(moment.weekday())))
    columns.append(np.full(grid.size, np.sin(2 * np.pi * week / 52.18)))
    columns.append(np.full(grid.size, np.cos(2 * np.pi * week / 52.18)))
    return np.column_stack(columns)

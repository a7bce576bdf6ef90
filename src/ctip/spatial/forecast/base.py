"""The one estimator API every forecasting model follows, in scikit-learn's grammar.

``Model(**params)`` stores parameters only; ``fit(history)`` learns from the events of an
observation period and sets attributes ending in ``_``; ``predict(window)`` returns the expected
number of events per cell in a later time window with a 90% predictive interval. A backtest can
then treat every model alike (backtest.py).

Intervals: each model's count in a cell is Poisson given its expected value (the naive model,
which has no other smoothing, adds the uncertainty of its rate: a gamma posterior, making the
count negative binomial). They say how much a single week's count can vary *if the model is
right*; whether it is right is what the backtest measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Protocol, Self

import numpy as np
from scipy import stats

from ctip.spatial.geometry import FloatArray
from ctip.spatial.grid import Grid, IntArray
from ctip.spatial.study import Events

INTERVAL = 0.90


@dataclass(frozen=True)
class History:
    """Events observed in [start, end) on a grid: what ``fit`` learns from."""

    events: Events
    grid: Grid
    start: float
    end: float

    @property
    def days(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Window:
    """The time window [start, end) to forecast, in days since 1970-01-01."""

    start: float
    end: float

    @property
    def days(self) -> float:
        return self.end - self.start


@dataclass
class Forecast:
    """Expected events per cell in the window, with a 90% predictive interval."""

    model: str
    window: Window
    expected: FloatArray
    low: IntArray
    high: IntArray
    details: dict[str, Any] = field(default_factory=dict)


class Forecaster(Protocol):
    name: str

    def fit(self, history: History) -> Self: ...

    def predict(self, window: Window) -> Forecast: ...

    def get_params(self) -> dict[str, Any]: ...


def poisson_interval(expected: FloatArray) -> tuple[IntArray, IntArray]:
    tail = (1.0 - INTERVAL) / 2.0
    mean = np.maximum(np.asarray(expected, float), 0.0)
    low = stats.poisson.ppf(tail, mean)
    high = stats.poisson.ppf(1.0 - tail, mean)
    return np.nan_to_num(low).astype(np.int64), np.nan_to_num(high).astype(np.int64)


def gamma_poisson_interval(
    count: FloatArray, exposure_days: float, window_days: float
) -> tuple[IntArray, IntArray]:
    """Interval of next-window counts when the rate has a Gamma(count + 1/2, days) posterior
    (Jeffreys prior): the predictive count is negative binomial."""
    tail = (1.0 - INTERVAL) / 2.0
    shape = np.asarray(count, float) + 0.5
    success = exposure_days / (exposure_days + window_days)
    low = stats.nbinom.ppf(tail, shape, success)
    high = stats.nbinom.ppf(1.0 - tail, shape, success)
    return np.nan_to_num(low).astype(np.int64), np.nan_to_num(high).astype(np.int64)


@dataclass(eq=False, repr=False)
class ParamsMixin:
    """``get_params`` from the constructor's stored attributes (scikit-learn style).

    Each model is a ``@dataclass(eq=False, repr=False)`` subclass whose fields are its
    parameters: the generated ``__init__`` stores them and nothing else, and ``get_params``
    reads the same field list, so a parameter is declared once instead of three times (the
    signature, the assignments and a list of names). ``eq=False`` keeps models compared and
    hashed by identity, as plain objects are.
    """

    def get_params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def require_fitted(model: object, attribute: str) -> None:
    if not hasattr(model, attribute):
        raise RuntimeError(f"{type(model).__name__} is not fitted: call fit(history) first")

"""The estimator API, what each model learns, and the intervals it gives."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from ctip.spatial.forecast import (
    GBMForecaster,
    History,
    KDEForecaster,
    NaiveForecaster,
    ProspectiveForecaster,
    SEPPForecaster,
    Window,
)
from ctip.spatial.geometry import choose_projection, convex_hull
from ctip.spatial.grid import Grid, square_grid
from ctip.spatial.study import Events
from ctip.spatial.synth import SyntheticIncidents

MODELS = [NaiveForecaster, KDEForecaster, ProspectiveForecaster, SEPPForecaster, GBMForecaster]


@dataclass(frozen=True)
class City:
    events: Events
    grid: Grid

    def between(self, start: float, end: float) -> Events:
        return self.events.between(start, end)


@pytest.fixture(scope="module")
def city(synthetic: SyntheticIncidents) -> City:
    lon = -30.0 + synthetic.x / 111_320.0
    lat = 10.0 + synthetic.y / 111_320.0
    projection = choose_projection(lon, lat)
    x, y = projection.to_metres(lon, lat)
    grid = square_grid(convex_hull(x, y), projection, 250.0)
    cells = grid.locate(x, y)
    return City(Events(x, y, synthetic.day, cells, np.array(synthetic.category, object)), grid)


def _history(city: City, end: float = 400.0, days: float = 365.0) -> History:
    return History(city.between(end - days, end), city.grid, end - days, end)


@pytest.mark.parametrize("model_class", MODELS)
def test_every_model_follows_the_estimator_grammar(model_class: type, city: City) -> None:
    model = model_class()
    defaults = {name: p.default for name, p in inspect.signature(model_class).parameters.items()}
    assert model.get_params() == defaults  # __init__ stores parameters and nothing else
    assert not [a for a in vars(model) if a.endswith("_")]
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(Window(400, 407))
    history = _history(city)
    assert model.fit(history) is model
    assert [a for a in vars(model) if a.endswith("_")]
    forecast = model.predict(Window(400, 407))
    grid = history.grid
    assert forecast.expected.shape == (grid.size,) and (forecast.expected >= 0).all()
    assert (forecast.low <= forecast.high).all()
    assert forecast.expected.sum() == pytest.approx(len(history.events) * 7 / 365, rel=0.5)


def test_naive_counts_and_negative_binomial_interval(city: City) -> None:
    history = _history(city)
    model = NaiveForecaster(lookback_days=100).fit(history)
    counts = history.grid.counts(city.between(300, 400).cell)
    forecast = model.predict(Window(400, 410))
    np.testing.assert_allclose(forecast.expected, counts * 10 / 100)
    busiest = int(np.argmax(counts))
    shape = counts[busiest] + 0.5
    expected_high = stats.nbinom.ppf(0.95, shape, 100 / 110)
    assert forecast.high[busiest] == expected_high


def test_sepp_recovers_the_near_repeat_parameters(city: City) -> None:
    """The generator used theta 0.3, a 10-day mean delay and a 60 m offset."""
    model = SEPPForecaster().fit(_history(city, end=500.0, days=500.0))
    assert model.converged_
    assert 0.22 <= model.theta_ <= 0.4
    assert 7.0 <= 1 / model.omega_ <= 14.0
    assert 45.0 <= model.sigma_ <= 80.0
    triggered = model.predict(Window(500, 507)).details["triggered_share"]
    assert 0.05 < triggered < 0.5


def test_gbm_ranks_like_the_history(city: City) -> None:
    history = _history(city)
    forecast = GBMForecaster(n_estimators=80).fit(history).predict(Window(400, 407))
    counts = history.grid.counts(history.events.cell)
    rho = stats.spearmanr(forecast.expected, counts).statistic
    assert rho > 0.5


def test_intervals_hold_about_ninety_percent_of_poisson_counts(city: City) -> None:
    """Counts drawn from the model's own expectation land in its interval about 90% of the
    time (more, for small means, because the interval is on whole numbers)."""
    forecast = KDEForecaster().fit(_history(city)).predict(Window(400, 407))
    rng = np.random.default_rng(0)
    draws = rng.poisson(forecast.expected, size=(50, len(forecast.expected)))
    inside = ((draws >= forecast.low) & (draws <= forecast.high)).mean()
    assert 0.9 <= inside <= 1.0

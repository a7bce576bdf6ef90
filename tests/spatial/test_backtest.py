"""Scoring (hit rate, PAI over clipped areas) and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

from ctip.errors import BadInputError
from ctip.spatial.backtest import BacktestPlan, plan_origins, score
from ctip.spatial.study import Events


def test_pai_is_hit_rate_over_area_share() -> None:
    rng = np.random.default_rng(0)
    expected = np.array([3.0, 2.0, 1.0, 0.0])
    truth = np.array([2.0, 0.0, 1.0, 1.0])
    area = np.ones(4)
    assert score(expected, truth, area, 0.25, rng) == (0.5, 2.0)
    assert score(expected, truth, area, 0.5, rng) == (0.5, 1.0)
    # clipped cells: flagging stops at the covered area, not a number of cells
    clipped = np.array([1.0, 1.0, 0.5, 1.5])
    hit_rate, pai = score(expected, truth, clipped, 0.5, rng)
    assert hit_rate == 0.5 and pai == pytest.approx(0.5 / (2.0 / 4.0))


def test_ties_are_broken_at_random_not_by_cell_order() -> None:
    expected = np.zeros(1000)
    truth = np.zeros(1000)
    truth[0] = 1
    hits = [
        score(expected, truth, np.ones(1000), 0.01, np.random.default_rng(s))[0] for s in range(200)
    ]
    assert 0 < np.mean(hits) < 0.05


def _events(days: int, per_day: int) -> Events:
    t = np.repeat(np.arange(days, dtype=float), per_day) + 0.5
    n = len(t)
    return Events(np.zeros(n), np.zeros(n), t, np.zeros(n, np.int64), np.full(n, None, object))


def test_refusals_name_the_problem() -> None:
    events = _events(500, 2)
    plan = BacktestPlan(365, 7, 7, 10, (0.01,))
    assert len(plan_origins(events, plan)) == 10
    with pytest.raises(BadInputError, match="at least 2 windows"):
        plan_origins(events, BacktestPlan(365, 7, 7, 1, (0.01,)))
    with pytest.raises(BadInputError, match="only 8 windows"):
        plan_origins(events, BacktestPlan(365, 7, 7, 10, (0.01,), start=440.0))
    with pytest.raises(BadInputError, match="needs 365 training days"):
        plan_origins(events, BacktestPlan(365, 7, 7, 30, (0.01,)))
    with pytest.raises(BadInputError, match="between 0 and 1"):
        plan_origins(events, BacktestPlan(365, 7, 7, 10, (5.0,)))
    sparse = _events(500, 1).subset(np.arange(500) % 20 == 0)
    with pytest.raises(BadInputError, match=r"too few|fewer than"):
        plan_origins(sparse, BacktestPlan(365, 7, 7, 10, (0.01,)))

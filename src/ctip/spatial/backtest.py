"""Rolling-origin backtests: fit on the days before each origin, score the next window.

For every origin each model is fitted on the ``train_days`` before it and forecasts the
following ``horizon`` days; cells are ranked by expected count and flagged, best first, until
the flagged area reaches the coverage share of the study area (at least one cell). Then

    hit rate = events in flagged cells / events in the window
    PAI      = hit rate / (flagged area / total area)   (Chainey, Tompson & Uhlig 2008)

averaged over the windows that had events, with a 95% t-interval of the mean across windows.
Ties in the ranking are broken at random (seeded), never by cell order, so a model with many
equal scores gains nothing from the grid's layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ctip.errors import BadInputError
from ctip.progress import Progress, SilentProgress
from ctip.spatial.forecast import Forecaster, History, Window, make_model
from ctip.spatial.geometry import FloatArray
from ctip.spatial.grid import Grid
from ctip.spatial.study import Events, day_to_date

MIN_WINDOWS = 2
MIN_TRAIN_EVENTS = 30
MIN_TEST_EVENTS = 20


@dataclass(frozen=True)
class BacktestPlan:
    train_days: float
    horizon: float
    step: float
    windows: int
    coverages: tuple[float, ...]
    start: float | None = None
    seed: int = 0


@dataclass
class BacktestResult:
    plan: BacktestPlan
    origins: list[float]
    rows: list[dict[str, Any]]
    per_window: dict[str, list[list[float]]] = field(default_factory=dict)  # model -> pai rows
    test_events: list[int] = field(default_factory=list)
    fit_seconds: dict[str, float] = field(default_factory=dict)


def flag_cells(
    expected: FloatArray, area: FloatArray, coverage: float, rng: np.random.Generator
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Cells flagged for ``coverage`` of the area, highest expected count first."""
    order = np.lexsort((rng.random(len(expected)), -np.asarray(expected)))
    cumulative = np.cumsum(area[order])
    count = int(np.searchsorted(cumulative, coverage * area.sum(), side="right"))
    return order[: max(count, 1)]


def score(
    expected: FloatArray,
    test_counts: FloatArray,
    area: FloatArray,
    coverage: float,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """(hit rate, PAI) of one forecast against one window's counts."""
    flagged = flag_cells(expected, area, coverage, rng)
    total = test_counts.sum()
    hit_rate = float(test_counts[flagged].sum() / total) if total else math.nan
    share = float(area[flagged].sum() / area.sum())
    return hit_rate, hit_rate / share if total else math.nan


def score_window(
    expected: FloatArray, truth: FloatArray, area: FloatArray, plan: BacktestPlan, number: int
) -> list[tuple[float, float]]:
    """(hit rate, PAI) at each coverage for window ``number`` (from 1); ties are broken by a
    generator seeded with the plan's seed and the window, the same for every model."""
    rng = np.random.default_rng([plan.seed, number])
    return [score(expected, truth, area, c, rng) for c in plan.coverages]


def plan_origins(events: Events, plan: BacktestPlan) -> list[float]:
    """Origins of the windows, refusing plans the data cannot support."""
    if len(events) == 0:
        raise BadInputError("no incidents in this selection", hint="check --category")
    first, last_day = float(np.floor(events.t.min())), float(np.floor(events.t.max())) + 1.0
    origins = candidate_origins(first, last_day, plan)
    train = [len(events.between(o - plan.train_days, o)) for o in origins]
    test = [len(events.between(o, o + plan.horizon)) for o in origins]
    check_window_counts(origins, train, test, plan)
    return origins


def candidate_origins(first: float, last_day: float, plan: BacktestPlan) -> list[float]:
    """Origins that fit between the first incident's day and the day after the last one."""
    if plan.windows < MIN_WINDOWS:
        raise BadInputError(
            f"--windows {plan.windows}: a backtest needs at least {MIN_WINDOWS} windows"
        )
    if plan.horizon <= 0 or plan.step <= 0 or plan.train_days <= 0:
        raise BadInputError("--horizon, --step and --train-days must be positive")
    if not plan.coverages or any(not 0 < c < 1 for c in plan.coverages):
        raise BadInputError("--coverage values must lie between 0 and 1, e.g. 0.01,0.05")
    if plan.start is not None:
        origins = [plan.start + k * plan.step for k in range(plan.windows)]
    else:
        final = last_day - plan.horizon
        origins = [final - (plan.windows - 1 - k) * plan.step for k in range(plan.windows)]
    if origins[-1] + plan.horizon > last_day:
        fit = int((last_day - plan.horizon - origins[0]) // plan.step) + 1
        raise BadInputError(
            f"the incidents end on {day_to_date(last_day - 1)}: only {max(fit, 0)} windows of"
            f" {plan.horizon:g} days fit after {day_to_date(origins[0])}",
            hint="use fewer --windows or an earlier --start",
        )
    if origins[0] - plan.train_days < first:
        raise BadInputError(
            f"the first window ({day_to_date(origins[0])}) needs {plan.train_days:g} training"
            f" days, but the incidents start on {day_to_date(first)}",
            hint="use fewer --windows, a later --start or fewer --train-days",
        )
    return origins


def check_window_counts(
    origins: Sequence[float], train: Sequence[int], test: Sequence[int], plan: BacktestPlan
) -> None:
    """Refuse windows with too few incidents to learn from, or too few to score."""
    thin = [o for o, n in zip(origins, train, strict=True) if n < MIN_TRAIN_EVENTS]
    if thin:
        raise BadInputError(
            f"the window starting {day_to_date(thin[0])} has fewer than {MIN_TRAIN_EVENTS}"
            f" incidents in its {plan.train_days:g} training days: too few to say anything",
            hint="use more --train-days, a broader --category or larger cells",
        )
    tested = sum(test)
    if tested < MIN_TEST_EVENTS:
        raise BadInputError(
            f"only {tested} incidents fall in the {plan.windows} test windows; at least"
            f" {MIN_TEST_EVENTS} are needed to say anything",
            hint="use more --windows, a longer --horizon or a broader --category",
        )


def run_backtest(
    events: Events,
    grid: Grid,
    models: Sequence[str],
    plan: BacktestPlan,
    *,
    progress: Progress | None = None,
    factory: Callable[[str], Forecaster] | None = None,
) -> BacktestResult:
    """Evaluate each model on every window; see the module docstring."""
    import time

    progress = progress or SilentProgress()
    origins = plan_origins(events, plan)
    build = factory or (lambda name: make_model(name, horizon_days=plan.horizon, seed=plan.seed))
    results: dict[str, list[list[tuple[float, float]]]] = {m: [] for m in models}
    fit_seconds = dict.fromkeys(models, 0.0)
    test_events: list[int] = []
    for number, origin in enumerate(origins, start=1):
        history = History(
            events.between(origin - plan.train_days, origin), grid, origin - plan.train_days, origin
        )
        window = Window(origin, origin + plan.horizon)
        truth = grid.counts(events.between(window.start, window.end).cell)
        test_events.append(int(truth.sum()))
        for name in models:
            progress.step(f"window {number}/{len(origins)} ({day_to_date(origin)}): {name}")
            began = time.perf_counter()
            forecast = build(name).fit(history).predict(window)
            fit_seconds[name] += time.perf_counter() - began
            results[name].append(score_window(forecast.expected, truth, grid.area, plan, number))
    rows, per_window = summarise(results, plan)
    return BacktestResult(plan, origins, rows, per_window, test_events, fit_seconds)


def summarise(
    results: dict[str, list[list[tuple[float, float]]]], plan: BacktestPlan
) -> tuple[list[dict[str, Any]], dict[str, list[list[float]]]]:
    """Rows (model x coverage: mean hit rate and PAI over the windows that had incidents, with
    the interval) and each model's PAI per window, from (hit rate, PAI) per window and
    coverage."""
    rows: list[dict[str, Any]] = []
    per_window: dict[str, list[list[float]]] = {}
    for name, found in results.items():
        scores = np.asarray(found, dtype=float)  # windows x coverages x (hit, pai)
        per_window[name] = scores[:, :, 1].tolist()
        for j, coverage in enumerate(plan.coverages):
            hits, pais = scores[:, j, 0], scores[:, j, 1]
            used = ~np.isnan(pais)
            low, high = _mean_interval(pais[used])
            rows.append(
                {
                    "model": name,
                    "coverage": coverage,
                    "hit_rate": round(float(np.mean(hits[used])), 4),
                    "pai": round(float(np.mean(pais[used])), 3),
                    "windows": int(used.sum()),
                    "pai_low": round(low, 3),
                    "pai_high": round(high, 3),
                }
            )
    return rows, per_window


def _mean_interval(values: FloatArray) -> tuple[float, float]:
    """95% t-interval of the mean across windows (PAI cannot be negative)."""
    if len(values) < 2:
        return math.nan, math.nan
    mean = float(np.mean(values))
    half = float(
        stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    )
    return max(0.0, mean - half), mean + half

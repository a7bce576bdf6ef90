"""Forecast and backtest runs as the CLI, the demo and the report use them, and their storage.

A forecast run trains one model on the ``train_days`` before the origin (by default the day
after the last selected incident) and ranks the cells for the next ``horizon`` days. Runs and
backtest results are stored (migration 003) so the report shows what the analyst last made.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.progress import Progress
from ctip.spatial.backtest import BacktestPlan, BacktestResult, run_backtest
from ctip.spatial.forecast import Forecast, History, Window, make_model
from ctip.spatial.hotspots import cells_geojson
from ctip.spatial.study import Study, day_number, day_to_date
from ctip.workspace import Workspace

MIN_TRAIN_EVENTS = 30


@dataclass(frozen=True)
class ForecastRun:
    run_id: str
    study: Study
    forecast: Forecast
    train_start: float
    train_events: int
    params: dict[str, Any]
    rows: list[dict[str, Any]]  # every cell, ranked

    @property
    def origin(self) -> float:
        return self.forecast.window.start

    def top(self, coverage: float) -> list[dict[str, Any]]:
        """The ranked cells up to ``coverage`` of the area (at least one)."""
        chosen = [r for r in self.rows if r["area_share"] <= coverage + 1e-12]
        return chosen or self.rows[:1]

    def summary(self) -> str:
        window = self.forecast.window
        total = float(self.forecast.expected.sum())
        return (
            f"{self.forecast.model} forecast for {day_to_date(window.start)} to"
            f" {day_to_date(window.end - 1)} ({self.study.category or 'all categories'},"
            f" {self.study.grid.label}): {total:,.1f} incidents expected; trained on"
            f" {self.train_events:,} incidents from {day_to_date(self.train_start)}."
            " low/high: 90% predictive interval of each cell's count if the model is right;"
            " check how right it has been with 'ctip forecast backtest'."
        )


def parse_days(text: str, option: str) -> float:
    """'7', '7d', '2w' or '36h' as days."""
    value = text.strip().lower()
    units = {"d": 1.0, "w": 7.0, "h": 1.0 / 24.0}
    factor = units.get(value[-1:])
    number = value[:-1] if factor is not None else value
    try:
        days = float(number) * (factor or 1.0)
    except ValueError as exc:
        raise BadInputError(f"{option} {text}: give days like 7, 7d, 2w or 36h") from exc
    if not days > 0:
        raise BadInputError(f"{option} {text}: must be positive")
    return days


def forecast_run(
    study: Study,
    model_name: str,
    *,
    horizon: float,
    train_days: float,
    origin: date | None = None,
    seed: int = 0,
) -> ForecastRun:
    events, grid = study.events, study.grid
    if len(events) == 0:
        raise BadInputError("no incidents in this selection", hint="check --category and dates")
    start = day_number(origin) if origin else float(np.floor(events.t.max())) + 1.0
    history = History(events.between(start - train_days, start), grid, start - train_days, start)
    if len(history.events) < MIN_TRAIN_EVENTS:
        raise BadInputError(
            f"only {len(history.events)} incidents in the {train_days:g} days before"
            f" {day_to_date(start)}; a forecast needs at least {MIN_TRAIN_EVENTS}",
            hint="use more --train-days, an earlier --origin or a broader --category",
        )
    model = make_model(model_name, horizon_days=horizon, seed=seed)
    try:
        forecast = model.fit(history).predict(Window(start, start + horizon))
    except ValueError as exc:
        raise BadInputError(f"{model_name}: {exc}", hint="use more --train-days") from exc
    order = np.lexsort((np.random.default_rng(seed).random(grid.size), -forecast.expected))
    share = np.cumsum(grid.area[order]) / grid.area.sum()
    lon, lat = grid.centroids_lonlat()
    rows = [
        {
            "rank": rank,
            "cell_id": grid.ids[i],
            "latitude": round(float(lat[i]), 6),
            "longitude": round(float(lon[i]), 6),
            "area_km2": round(float(grid.area[i]) / 1e6, 5),
            "risk": round(float(forecast.expected[i]), 4),
            "low": int(forecast.low[i]),
            "high": int(forecast.high[i]),
            "area_share": round(float(share[rank - 1]), 6),
        }
        for rank, i in enumerate(order.tolist(), start=1)
    ]
    params = {"model": model.get_params(), "details": forecast.details}
    return ForecastRun(
        "fc-" + uuid.uuid4().hex[:12],
        study,
        forecast,
        start - train_days,
        len(history.events),
        params,
        rows,
    )


def store_forecast(workspace: Workspace, run: ForecastRun, coverage: float) -> None:
    """Keep the run and its top cells (at least 10% of the area, for the report's map)."""
    grid = run.study.grid
    index = {cell_id: i for i, cell_id in enumerate(grid.ids)}
    cells = run.top(max(coverage, 0.10))
    engine = workspace.engine
    with engine.transaction():
        engine.sql(
            "INSERT INTO forecast_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id,
                datetime.now(UTC),
                run.forecast.model,
                run.study.category,
                _timestamp(run.origin),
                run.forecast.window.days,
                run.origin - run.train_start,
                run.train_events,
                grid.label,
                grid.projection.name,
                json.dumps(run.params, default=float),
            ],
        )
        for row in cells:
            engine.sql(
                "INSERT INTO forecast_cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run.run_id,
                    row["rank"],
                    row["cell_id"],
                    row["latitude"],
                    row["longitude"],
                    row["area_km2"],
                    row["risk"],
                    row["low"],
                    row["high"],
                    json.dumps(grid.geojson_geometry(index[row["cell_id"]])),
                ],
            )


def stored_forecast_cells(engine: DuckDBEngine, run_id: str) -> list[dict[str, Any]]:
    """A stored forecast's cells in rank order, with the columns its map and table show.

    ``store_forecast`` writes them; the report and the web map page read them back with this
    one query, so both show the same cells in the same order.
    """
    return engine.records(
        "SELECT rank, cell_id, expected, low, high, geometry FROM forecast_cells"
        " WHERE run_id = ? ORDER BY rank",
        [run_id],
    )


def forecast_geojson(run: ForecastRun, rows: list[dict[str, Any]]) -> dict[str, Any]:
    collection = cells_geojson(run.study.grid, rows)
    window = run.forecast.window
    return {
        "type": collection["type"],
        "ctip": {
            "model": run.forecast.model,
            "window_start": day_to_date(window.start).isoformat(),
            "window_end": day_to_date(window.end - 1).isoformat(),
            "interval": "90% predictive interval of the cell's count (low, high)",
        },
        "features": collection["features"],
    }


def backtest_run(
    workspace: Workspace,
    study: Study,
    models: list[str],
    plan: BacktestPlan,
    *,
    progress: Progress | None = None,
    store: bool = True,
) -> BacktestResult:
    result = run_backtest(study.events, study.grid, models, plan, progress=progress)
    if store:
        run_id = "bt-" + uuid.uuid4().hex[:12]
        params = json.dumps(
            {
                "train_days": plan.train_days,
                "horizon": plan.horizon,
                "step": plan.step,
                "first_origin": day_to_date(result.origins[0]).isoformat(),
                "last_origin": day_to_date(result.origins[-1]).isoformat(),
                "grid": study.grid.label,
                "crs": study.grid.projection.name,
                "test_events": sum(result.test_events),
            }
        )
        now = datetime.now(UTC)
        with workspace.engine.transaction():
            for row in result.rows:
                workspace.engine.sql(
                    "INSERT INTO backtest_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        now,
                        study.category,
                        row["model"],
                        row["coverage"],
                        row["hit_rate"],
                        row["pai"],
                        _finite(row["pai_low"]),
                        _finite(row["pai_high"]),
                        row["windows"],
                        params,
                    ],
                )
    return result


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _timestamp(day: float) -> datetime:
    moment = day_to_date(day)
    return datetime(moment.year, moment.month, moment.day)

"""``ctip hotspots`` and ``ctip forecast backtest`` as Parquet jobs on DuckDB or Spark.

The incidents are gridded by the stages of ``ctip.spatial.gridding``; then SQL aggregates them
into what the statistics need, and the statistics run on the driver with the workspace's own
functions, so the answers are the workspace's:

- hotspots: ``cell_counts`` (incidents per cell, with their time and x/y range),
  ``cell_period_counts`` (per cell and emerging-hotspot period) and ``kde_bins`` (the binned
  KDE's raster weights, binned per batch by ``ctip.spatial.kde.linear_bins`` and summed in
  SQL); then Gi*, the KDE smoothing and the emerging classes (``score_cells``) and a
  ``hotspots`` stage with one row per cell;
- backtest: ``window_counts`` (incidents per window, training or test part, and cell); then
  the naive model, which needs counts only, scored per window with ``score_window``, and a
  ``backtest`` stage. The other models learn from every incident's point and time and run on
  the workspace only.

Each stage's Parquet lands under ``--output``; a rerun with the same input and options reuses
finished stages.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ctip.engine.base import BatchFunction, Engine
from ctip.engine.jobs import ParquetJob, start_job
from ctip.errors import BadInputError
from ctip.progress import Progress
from ctip.spatial.backtest import (
    BacktestPlan,
    candidate_origins,
    check_window_counts,
    score_window,
    summarise,
)
from ctip.spatial.emerging import period_bounds
from ctip.spatial.forecast import NaiveForecaster, Window
from ctip.spatial.gistar import PERMUTATIONS
from ctip.spatial.grid import Grid
from ctip.spatial.gridding import (
    Selection,
    dense,
    file_identity,
    grid_incidents,
    register_bounds,
)
from ctip.spatial.hotspots import (
    MIN_EVENTS,
    cell_density,
    check_options,
    period_plan,
    score_cells,
)
from ctip.spatial.kde import Raster, default_bandwidth, density_at, linear_bins, raster_for
from ctip.spatial.study import day_number, day_to_date

JOB_VERSION = 1  # bump when a stage's SQL changes, so old stage outputs are not reused
BINS = pa.schema([("node", pa.int64()), ("weight", pa.float64())])
COUNT_MODELS = ("naive",)


@dataclass
class HotspotJob:
    """The rows of ``ctip hotspots`` and what the command's note says, from a Parquet job."""

    grid: Grid
    rows: list[dict[str, Any]]
    classes: dict[str, int]
    emerging: dict[str, int]
    incidents: int
    bandwidth: float
    periods: int
    period_days: float
    first_period: str
    job: dict[str, Any] = field(default_factory=dict)


@dataclass
class BacktestJob:
    plan: BacktestPlan
    origins: list[float]
    rows: list[dict[str, Any]]
    test_events: list[int]
    grid: Grid
    category: str | None
    job: dict[str, Any] = field(default_factory=dict)


def binner(raster: Raster) -> BatchFunction:
    """The batch function of ``kde_bins``: each batch's linear-binning weights, summed per
    raster node (so a batch sends at most one row per node it touches)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            x = batch.column(0).to_numpy(zero_copy_only=False)
            y = batch.column(1).to_numpy(zero_copy_only=False)
            parts = linear_bins(x, y, np.ones(len(x)), raster)
            nodes = np.concatenate([p[0] for p in parts])
            shares = np.concatenate([p[1] for p in parts])
            unique, inverse = np.unique(nodes, return_inverse=True)
            sums = np.bincount(inverse, weights=shares)
            yield pa.record_batch(
                [pa.array(unique, pa.int64()), pa.array(sums, pa.float64())], schema=BINS
            )

    return run


def _rows_stage(job: ParquetJob, name: str, rows: list[dict[str, Any]]) -> None:
    """Write rows computed on the driver as the job's last stage (readable with the rest)."""

    def build() -> str:
        job.engine.register(f"_{name}_rows", pa.Table.from_pylist(rows))
        return f"SELECT * FROM _{name}_rows"

    if rows:
        job.stage(name, build)


def hotspots_job(
    engine: Engine,
    incidents: Path,
    output: Path,
    *,
    selection: Selection | None = None,
    cell_size: float = 250.0,
    crs: str | None = None,
    boundary: Path | None = None,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
    bandwidth: float | None = None,
    periods: int = 8,
    period_days: float | None = None,
    progress: Progress | None = None,
) -> HotspotJob:
    """``ctip hotspots`` over a Parquet dataset of incidents; see the module docstring."""
    selection = selection or Selection()
    check_options(MIN_EVENTS, permutations, periods, period_days)  # the options, before work
    settings = {
        "job": "hotspots", "version": JOB_VERSION, "selection": selection, "cell_size": cell_size,
        "crs": crs, "boundary": file_identity(boundary), "permutations": permutations,
        "seed": seed, "bandwidth": bandwidth, "periods": periods, "period_days": period_days,
    }  # fmt: skip
    job = start_job(engine, {"incidents": str(incidents)}, output, settings, progress)
    gridded = grid_incidents(
        job, selection=selection, cell_size=cell_size, crs=crs, boundary=boundary
    )
    grid, located = gridded.grid, gridded.located
    per_cell = job.stage(
        "cell_counts",
        lambda: (
            "SELECT cell, count(*) AS incidents, min(t) AS first_t, max(t) AS last_t,"
            " min(x) AS min_x, min(y) AS min_y, max(x) AS max_x, max(y) AS max_y"
            f" FROM {located} GROUP BY cell"
        ),
    )
    table = engine.to_arrow(f"SELECT * FROM {per_cell} ORDER BY cell")
    counts = dense(table, grid.size)
    check_options(int(counts.sum()), permutations, periods, period_days)

    def lowest(column: str) -> float:
        return float(np.min(table[column].to_numpy()))

    def highest(column: str) -> float:
        return float(np.max(table[column].to_numpy()))

    since = day_number(selection.since) if selection.since else None
    end, period_days = period_plan(
        lowest("first_t"), highest("last_t"), periods, period_days, since
    )
    register_bounds(engine, "periods", period_bounds(end, periods, period_days))
    per_period_view = job.stage(
        "cell_period_counts",
        lambda: (
            f"SELECT l.cell, p.k AS period, count(*) AS incidents FROM {located} l"
            " JOIN periods p ON l.t >= p.low AND l.t < p.high GROUP BY l.cell, p.k"
        ),
    )
    per_period = np.zeros((grid.size, periods))
    found = engine.to_arrow(f"SELECT cell, period, incidents FROM {per_period_view}")
    per_period[found["cell"].to_numpy(), found["period"].to_numpy()] = found["incidents"].to_numpy()
    width = bandwidth or default_bandwidth(grid.area)
    qx, qy, _, _ = grid.quadrature()
    extent = (lowest("min_x"), lowest("min_y"), highest("max_x"), highest("max_y"))
    raster = raster_for(qx, qy, extent, width)

    def bins() -> str:
        engine.map_arrow(f"SELECT x, y FROM {located}", binner(raster), BINS, "_kde_parts")
        return "SELECT node, sum(weight) AS weight FROM _kde_parts GROUP BY node"

    weights = engine.to_arrow(f"SELECT node, weight FROM {job.stage('kde_bins', bins)}")
    binned = np.zeros(raster.nx * raster.ny)
    binned[weights["node"].to_numpy()] = weights["weight"].to_numpy()
    density = density_at(binned.reshape(raster.nx, raster.ny), raster, qx, qy, width)
    rows, classes, emerging = score_cells(
        grid, counts, per_period, cell_density(grid, density), permutations=permutations, seed=seed
    )
    _rows_stage(job, "hotspots", rows)
    return HotspotJob(
        grid, rows, classes, emerging, int(counts.sum()), width, periods, period_days,
        day_to_date(end - periods * period_days).isoformat(), job.summary(),
    )  # fmt: skip


def backtest_job(
    engine: Engine,
    incidents: Path,
    output: Path,
    models: Sequence[str],
    plan: BacktestPlan,
    *,
    category: str | None = None,
    cell_size: float = 250.0,
    crs: str | None = None,
    boundary: Path | None = None,
    progress: Progress | None = None,
) -> BacktestJob:
    """``ctip forecast backtest`` over a Parquet dataset, for models that need counts only."""
    other = [m for m in models if m not in COUNT_MODELS]
    if other:
        raise BadInputError(
            f"--models {other[0]} is not available with --input",
            hint=f"Parquet jobs backtest {', '.join(COUNT_MODELS)}; {other[0]} learns from every"
            " incident's point and time: import the incidents and run it on the workspace",
        )
    settings = {
        "job": "backtest", "version": JOB_VERSION, "plan": plan, "category": category,
        "cell_size": cell_size, "crs": crs, "boundary": file_identity(boundary),
    }  # fmt: skip
    job = start_job(engine, {"incidents": str(incidents)}, output, settings, progress)
    gridded = grid_incidents(
        job, selection=Selection(category=category), cell_size=cell_size, crs=crs,
        boundary=boundary,
    )  # fmt: skip
    grid, located = gridded.grid, gridded.located
    first_t, last_t, count = engine.rows(f"SELECT min(t), max(t), count(*) FROM {located}")[0]
    if not count:
        raise BadInputError("no incidents in this selection", hint="check --category")
    origins = candidate_origins(float(np.floor(first_t)), float(np.floor(last_t)) + 1.0, plan)
    bounds: list[tuple[float, float]] = []
    for origin in origins:  # window k: training part 2k, test part 2k + 1
        bounds += [(origin - plan.train_days, origin), (origin, origin + plan.horizon)]
    register_bounds(engine, "windows", bounds)
    view = job.stage(
        "window_counts",
        lambda: (
            "SELECT w.k, l.cell, count(*) AS incidents FROM"
            f" {located} l JOIN windows w ON l.t >= w.low AND l.t < w.high GROUP BY w.k, l.cell"
        ),
    )
    found = engine.to_arrow(f"SELECT k, cell, incidents FROM {view}")
    per_part = np.zeros((len(bounds), grid.size))
    per_part[found["k"].to_numpy(), found["cell"].to_numpy()] = found["incidents"].to_numpy()
    train, test = per_part[0::2], per_part[1::2]
    check_window_counts(
        origins, [int(n) for n in train.sum(axis=1)], [int(n) for n in test.sum(axis=1)], plan
    )
    results: dict[str, list[list[tuple[float, float]]]] = {m: [] for m in models}
    for number, origin in enumerate(origins, start=1):
        window = Window(origin, origin + plan.horizon)
        exposure = origin - (origin - plan.train_days)  # as History.end - History.start
        for name in results:
            model = NaiveForecaster().fit_counts(train[number - 1], exposure)
            expected = model.predict(window).expected
            results[name].append(score_window(expected, test[number - 1], grid.area, plan, number))
    rows, _ = summarise(results, plan)
    _rows_stage(job, "backtest", rows)
    return BacktestJob(
        plan, origins, rows, [int(n) for n in test.sum(axis=1)], grid, gridded.category,
        job.summary(),
    )  # fmt: skip

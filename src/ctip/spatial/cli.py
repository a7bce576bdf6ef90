"""``ctip import incidents``, ``ctip hotspots`` and ``ctip forecast ...``: parse, call, render."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ctip.cli.batch import (
    EngineOption,
    InputOption,
    OutputOption,
    SparkMasterOption,
    job_engine,
    require_paths,
)
from ctip.cli.context import open_workspace, state
from ctip.cli.imports import emit_import_report
from ctip.cli.output import ReportFormat, emit_rows, note, resolve, to_json
from ctip.errors import BadInputError
from ctip.progress import ConsoleProgress, Progress, SilentProgress
from ctip.spatial.backtest import BacktestPlan
from ctip.spatial.forecast import MODEL_NAMES
from ctip.spatial.gistar import PERMUTATIONS
from ctip.spatial.hotspots import cells_geojson, interesting, run_hotspots
from ctip.spatial.incidents import IncidentColumns, import_incidents
from ctip.spatial.service import (
    backtest_run,
    forecast_geojson,
    forecast_run,
    parse_days,
    store_forecast,
)
from ctip.spatial.study import Study, day_number, day_to_date, open_study

forecast_app = typer.Typer(help="Forecast where incidents are likely next, and test how well.")


class GeoFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    geojson = "geojson"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


DATE_FORMATS = ["%Y-%m-%d"]
Category = Annotated[str | None, typer.Option("--category", help="Only this category")]
CellSize = Annotated[float, typer.Option("--cell-size", help="Square cell size in metres")]
H3Res = Annotated[
    int | None, typer.Option("--h3-res", help="Use H3 hexagons of this resolution instead")
]
Boundary = Annotated[
    Path | None,
    typer.Option("--boundary", help="GeoJSON study area (WGS84); default: convex hull"),
]
Crs = Annotated[
    str | None, typer.Option("--crs", help="Projected CRS in metres; default: chosen from data")
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (permutations, tie-breaks)")]


def incidents(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, XLSX, JSON, JSONL or Parquet; may be .gz")],
    lat: Annotated[str, typer.Option("--lat", help="Latitude column (WGS84)")],
    lon: Annotated[str, typer.Option("--lon", help="Longitude column (WGS84)")],
    time: Annotated[str, typer.Option("--time", help="Date or date-time column")],
    category: Annotated[str | None, typer.Option("--category", help="Category column")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Incident id column")] = None,
    hour: Annotated[
        str | None, typer.Option("--hour", help="Hour-of-day column (0-23), if separate")
    ] = None,
    time_format: Annotated[
        str | None, typer.Option("--time-format", help="strptime format, e.g. %d/%m/%Y %H:%M")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Source name")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="e.g. cp1252")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Spreadsheet sheet")] = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Import geocoded, dated incidents, checking every row; bad rows go to quarantine.

    With --format json the last line on stdout is one JSON object with import_id, read,
    loaded, quarantined and duplicates (read = loaded + quarantined + duplicates).
    """
    output = resolve(fmt, listing=False)
    columns = IncidentColumns(lat, lon, time, category, id_column, hour, time_format)
    with open_workspace(ctx, create=True) as workspace, _Progress(output) as progress:
        report = import_incidents(
            workspace,
            file,
            columns,
            source=source,
            encoding=encoding,
            sheet=sheet,
            progress=progress,
        )
    line = (
        f"{report.file}: read {report.read:,}, loaded {report.loaded:,}, quarantined"
        f" {report.quarantined:,}, duplicates {report.duplicates:,}"
    )
    emit_import_report(report, output, line)


def hotspots(
    ctx: typer.Context,
    category: Category = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", formats=DATE_FORMATS, help="From this date (YYYY-MM-DD)"),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option("--until", formats=DATE_FORMATS, help="To this date, inclusive"),
    ] = None,
    cell_size: CellSize = 250.0,
    h3_res: H3Res = None,
    boundary: Boundary = None,
    crs: Crs = None,
    permutations: Annotated[
        int, typer.Option("--permutations", help="Conditional permutations for Gi*")
    ] = PERMUTATIONS,
    bandwidth: Annotated[
        float | None, typer.Option("--bandwidth", help="KDE bandwidth in metres")
    ] = None,
    periods: Annotated[int, typer.Option("--periods", help="Periods for emerging hotspots")] = 8,
    period_days: Annotated[
        float | None, typer.Option("--period-days", help="Days per period (default: span/periods)")
    ] = None,
    all_cells: Annotated[
        bool, typer.Option("--all", help="Every cell, not only significant or emerging ones")
    ] = False,
    seed: Seed = 0,
    input_path: InputOption = None,
    output_dir: OutputOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    fmt: Annotated[
        GeoFormat | None, typer.Option("--format", help="table, json, jsonl, csv, geojson")
    ] = None,
) -> None:
    """Find hot and cold spots (Gi* with permutations and FDR), a KDE surface and emerging
    hotspots (Mann-Kendall trend over periods), one row per cell.

    With --input INCIDENTS.parquet --output DIR the incidents are read from Parquet and
    gridded and counted on DuckDB or Spark (--engine) as resumable stages under DIR.
    """
    output = fmt.value if fmt is not None else resolve(None)
    if input_path is not None or output_dir is not None or engine is not None:
        from ctip.spatial.gridding import Selection
        from ctip.spatial.jobs import hotspots_job

        source, target = _job_paths(input_path, output_dir, h3_res)
        with job_engine(state(ctx).settings, engine, spark_master) as chosen:
            found = hotspots_job(
                chosen, source, target,
                selection=Selection(category, since.date() if since else None, until.date() if until else None),
                cell_size=cell_size, crs=crs, boundary=boundary, permutations=permutations, seed=seed,
                bandwidth=bandwidth, periods=periods, period_days=period_days,
            )  # fmt: skip
        grid, incidents, label = (
            found.grid,
            found.incidents,
            f", {_job_text(found.job)}",
        )
        rows, classes, emerging, width = found.rows, found.classes, found.emerging, found.bandwidth
        periods, period_days, first = found.periods, found.period_days, found.first_period
    else:
        with open_workspace(ctx) as workspace:
            study = _study(workspace, category, since, until, cell_size, h3_res, crs, boundary)
        result = run_hotspots(
            study,
            permutations=permutations,
            seed=seed,
            bandwidth=bandwidth,
            periods=periods,
            period_days=period_days,
            since=day_number(since) if since else None,
        )
        grid, incidents, label = study.grid, len(study.events), ""
        rows, classes, emerging, width = (
            result.rows,
            result.classes,
            result.emerging,
            result.bandwidth,
        )
        period_days, first = result.period_days, result.first_period
    shown = rows if all_cells else interesting(rows)
    class_text = ", ".join(f"{k} {v:,}" for k, v in classes.items())
    emerging_text = ", ".join(f"{k} {v:,}" for k, v in emerging.items()) or "none"
    note(
        f"{incidents:,} incidents on {grid.size:,} cells ({grid.label}, {grid.projection.name}{label});"
        f" Gi* {permutations} permutations, BH-FDR classes: {class_text}."
        f" KDE bandwidth {width:,.0f} m. Emerging over {periods} periods of"
        f" {period_days:.0f} days from {first}: {emerging_text}."
    )
    if output == "geojson":
        sys.stdout.write(to_json(cells_geojson(grid, shown)) + "\n")
        return
    if output == "table":
        shown = shown[:40]
        note("showing up to 40 cells; use --format csv/json/geojson for all")
    emit_rows(shown, output, title="Hotspots", empty="no significant or emerging cells")


@forecast_app.command("predict")
def predict(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help=", ".join(MODEL_NAMES))] = "naive",
    horizon: Annotated[str, typer.Option("--horizon", help="Window length: 7d, 2w, 24h")] = "7d",
    train_days: Annotated[
        float, typer.Option("--train-days", help="Days of history to learn from")
    ] = 365.0,
    origin: Annotated[
        datetime | None,
        typer.Option(
            "--origin", formats=DATE_FORMATS, help="First day forecast (default: after the data)"
        ),
    ] = None,
    category: Category = None,
    cell_size: CellSize = 250.0,
    h3_res: H3Res = None,
    boundary: Boundary = None,
    crs: Crs = None,
    coverage: Annotated[
        float, typer.Option("--coverage", help="Show the top cells covering this area share")
    ] = 0.05,
    seed: Seed = 0,
    fmt: Annotated[
        GeoFormat | None, typer.Option("--format", help="table, json, jsonl, csv, geojson")
    ] = None,
) -> None:
    """Rank cells by expected incidents in the next window, with a 90% interval per cell."""
    output = fmt.value if fmt is not None else resolve(None)
    if not 0 < coverage <= 1:
        raise BadInputError(f"--coverage {coverage}: give a share of the area, e.g. 0.05")
    days = parse_days(horizon, "--horizon")
    with open_workspace(ctx) as workspace:
        study = _study(workspace, category, None, None, cell_size, h3_res, crs, boundary)
        run = forecast_run(
            study,
            model,
            horizon=days,
            train_days=train_days,
            origin=origin.date() if origin else None,
            seed=seed,
        )
        store_forecast(workspace, run, coverage)
    note(run.summary())
    rows = run.top(coverage)
    if output == "geojson":
        sys.stdout.write(to_json(forecast_geojson(run, rows)) + "\n")
        return
    emit_rows(rows, output, title=f"Forecast {run.run_id}")


@forecast_app.command("backtest")
def backtest(
    ctx: typer.Context,
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            help="Comma-separated: " + ", ".join(MODEL_NAMES) + " (default: naive,kde,sepp,gbm;"
            " naive with --input)",
        ),
    ] = None,
    train_days: Annotated[float, typer.Option("--train-days", help="Training days")] = 365.0,
    horizon: Annotated[str, typer.Option("--horizon", help="Window length in days")] = "7",
    step: Annotated[str, typer.Option("--step", help="Days between origins")] = "7",
    windows: Annotated[int, typer.Option("--windows", help="Number of windows")] = 20,
    coverage: Annotated[
        str, typer.Option("--coverage", help="Area shares to flag, comma-separated")
    ] = "0.01,0.05,0.10",
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start", formats=DATE_FORMATS, help="First origin (default: the last windows)"
        ),
    ] = None,
    category: Category = None,
    cell_size: CellSize = 250.0,
    h3_res: H3Res = None,
    boundary: Boundary = None,
    crs: Crs = None,
    seed: Seed = 0,
    input_path: InputOption = None,
    output_dir: OutputOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    fmt: Annotated[
        ListFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """Rolling-origin backtest: hit rate and PAI of each model at each coverage, averaged
    over the windows, with a 95% interval of the mean PAI.

    With --input INCIDENTS.parquet --output DIR the incidents are counted per window and cell
    on DuckDB or Spark (--engine) as resumable stages under DIR; the naive model, which needs
    only those counts, is scored from them.
    """
    output = fmt.value if fmt is not None else resolve(None)
    job = input_path is not None or output_dir is not None or engine is not None
    if models is None:
        models = "naive" if job else "naive,kde,sepp,gbm"
    chosen = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODEL_NAMES]
    if unknown or not chosen:
        raise BadInputError(
            f"--models: unknown model '{(unknown or [''])[0]}'",
            hint=f"use {', '.join(MODEL_NAMES)}",
        )
    try:
        coverages = tuple(float(c) for c in coverage.split(",") if c.strip())
    except ValueError as exc:
        raise BadInputError(f"--coverage {coverage}: give shares like 0.01,0.05") from exc
    plan = BacktestPlan(
        train_days=train_days,
        horizon=parse_days(horizon, "--horizon"),
        step=parse_days(step, "--step"),
        windows=windows,
        coverages=coverages,
        start=day_number(start) if start else None,
        seed=seed,
    )
    if job:
        from ctip.spatial.jobs import backtest_job

        source, target = _job_paths(input_path, output_dir, h3_res)
        with job_engine(state(ctx).settings, engine, spark_master) as batch:
            found = backtest_job(
                batch, source, target, chosen, plan, category=category, cell_size=cell_size,
                crs=crs, boundary=boundary,
            )  # fmt: skip
        origins, tested, rows = found.origins, found.test_events, found.rows
        where = f"{found.category or 'all categories'}, {found.grid.label}, {_job_text(found.job)}"
    else:
        with open_workspace(ctx) as workspace, _Progress(output) as progress:
            study = _study(workspace, category, None, None, cell_size, h3_res, crs, boundary)
            result = backtest_run(workspace, study, chosen, plan, progress=progress)
        origins, tested, rows = result.origins, result.test_events, result.rows
        where = f"{study.category or 'all categories'}, {study.grid.label}"
    note(
        f"{len(origins)} windows from {day_to_date(origins[0])} to"
        f" {day_to_date(origins[-1] + plan.horizon - 1)}, {sum(tested):,}"
        f" test incidents ({where}). PAI ="
        " hit rate / flagged area share; pai_low/pai_high: 95% interval of the mean."
    )
    emit_rows(rows, output, title="Backtest")


def _job_paths(
    input_path: Path | None, output_dir: Path | None, h3_res: int | None
) -> tuple[Path, Path]:
    """The Parquet job's --input and --output, refusing --h3-res: the SQL gridding of a job
    draws square cells only, so hotspots and backtest must say so alike before any work."""
    if h3_res is not None:
        raise BadInputError("--h3-res is not available with --input", hint="use --cell-size")
    return require_paths(input_path, output_dir)


def _job_text(summary: dict[str, Any]) -> str:
    stages = summary["stages"]
    reused = sum(1 for s in stages if s["resumed"])
    return (
        f"{summary['engine']} job in {summary['output']}, {reused} of {len(stages)} stages reused"
    )


def _study(
    workspace: Any,
    category: str | None,
    since: datetime | None,
    until: datetime | None,
    cell_size: float,
    h3_res: int | None,
    crs: str | None,
    boundary: Path | None,
) -> Study:
    return open_study(
        workspace,
        category=category,
        since=since.date() if since else None,
        until=until.date() if until else None,
        cell_size=cell_size,
        h3_res=h3_res,
        crs=crs,
        boundary=boundary,
    )


class _Progress:
    """A spinner on a terminal for table output, silence otherwise."""

    def __init__(self, output: str) -> None:
        self.output = output
        self._console: Any = None
        self._context: Any = None

    def __enter__(self) -> Progress:
        if self.output == "table" and ConsoleProgress is not None and sys.stderr.isatty():
            self._console = ConsoleProgress()
            self._context = self._console.running("working")
            return self._context.__enter__()  # type: ignore[no-any-return]
        return SilentProgress()

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)

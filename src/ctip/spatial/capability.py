"""Incidents, hotspots and forecasts: CLI commands, the demo step and the report sections."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any

import typer

from ctip.capabilities import DemoContext, ReportContext, Section
from ctip.spatial import cli
from ctip.spatial.backtest import BacktestPlan
from ctip.spatial.hotspots import run_hotspots
from ctip.spatial.incidents import IncidentColumns, import_incidents
from ctip.spatial.service import (
    backtest_run,
    forecast_run,
    store_forecast,
    stored_forecast_cells,
)
from ctip.spatial.study import day_to_date, open_study
from ctip.spatial.svg import RISK_COLOURS, forecast_risk_shapes, hotspot_map_svg, map_svg
from ctip.spatial.synth import simulate, write_incidents_csv

TORONTO = "incidents/toronto_mci.csv.gz"
TORONTO_COLUMNS = IncidentColumns("lat", "lon", "date", category="category", hour="hour")
TORONTO_CREDIT = (
    "Toronto Police Service, Major Crime Indicators open data (Open Government Licence - Toronto)"
)
APPROPRIATE_USE = (
    "<p><strong>Appropriate use.</strong> These maps are for placing resources and outreach"
    " (patrols, inspections, victim services, awareness work) in areas, never for targeting"
    " individuals or communities. Recorded incidents reflect where people report and where"
    " police look: acting on a map changes the next data (a feedback loop), so compare with"
    " other sources and re-run backtests. A PAI says how concentrated the hits were relative"
    " to the area flagged; it is not the share of all incidents prevented or a measure of"
    " harm. Intervals show the randomness of a week's counts if the model is right.</p>"
)


def register_cli(app: typer.Typer) -> None:
    from ctip.cli.imports import app as import_app

    import_app.command("incidents")(cli.incidents)
    app.command("hotspots")(cli.hotspots)
    app.add_typer(cli.forecast_app, name="forecast")


def demo(context: DemoContext) -> None:
    """Import the Toronto incidents (or generated ones), then hotspots, a forecast and a short
    backtest, so the report has maps and figures."""
    workspace = context.workspace
    source = context.data_dir / TORONTO if context.data_dir is not None else None
    if source is not None and source.exists():
        report = import_incidents(workspace, source, TORONTO_COLUMNS)
        context.say(
            f"imported Toronto incidents: read {report.read:,}, loaded {report.loaded:,},"
            f" duplicates {report.duplicates:,}"
        )
        category = "Break and Enter"
        context.results["incidents_source"] = "toronto"
        context.say(f"Source: {TORONTO_CREDIT}.")
    else:
        path = write_incidents_csv(workspace.path / "demo-incidents-generated.csv", simulate())
        columns = IncidentColumns("lat", "lon", "occurred", category="type", id="incident_id")
        report = import_incidents(workspace, path, columns, source="generated incidents")
        context.say(f"shared incidents not found: imported {report.loaded:,} generated ones")
        category = "Burglary"
        context.results["incidents_source"] = "generated"
    study = open_study(workspace, category=category)
    last = day_to_date(float(study.events.t.max()))
    recent = open_study(workspace, category=category, since=last - timedelta(days=364))
    hot = run_hotspots(recent)
    context.say(f"hotspots ({category}, last 365 days): " + _counts(hot.classes))
    run = forecast_run(study, "sepp", horizon=7.0, train_days=365.0)
    store_forecast(workspace, run, 0.05)
    context.say(run.summary())
    plan = BacktestPlan(365.0, 7.0, 7.0, 4, (0.01, 0.05, 0.10))
    # the gbm takes seconds per window: left to 'ctip forecast backtest' to keep the demo quick
    result = backtest_run(workspace, study, ["naive", "kde", "sepp"], plan)
    best = max((r for r in result.rows if r["coverage"] == 0.01), key=lambda r: r["pai"])
    context.say(
        f"backtest over 4 weekly windows: best PAI at 1% of the area {best['pai']:.1f}"
        f" ({best['model']}); run more windows and the gbm with 'ctip forecast backtest'"
    )
    context.results["spatial"] = {"category": category, "forecast_run": run.run_id}
    context.results.setdefault("next_steps", []).append(
        f"ctip hotspots --category '{category}' --since {last - timedelta(days=364)}"
        " --format geojson > hotspots.geojson"
    )


def report_sections(context: ReportContext) -> list[Section]:
    engine = context.workspace.engine
    if not _has_table(context, "incidents") or not engine.scalar("SELECT count(*) FROM incidents"):
        return []
    sections = [_hotspot_section(context)]
    forecast = _forecast_section(context)
    if forecast is not None:
        sections.append(forecast)
    return sections


def _has_table(context: ReportContext, name: str) -> bool:
    return bool(
        context.workspace.engine.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        )
    )


def _counts(classes: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in classes.items())


def _small(value: int, context: ReportContext) -> str:
    if context.exact or value == 0 or value >= context.threshold:
        return f"{value:,}"
    return f"&lt;{context.threshold}"


def _hotspot_section(context: ReportContext) -> Section:
    engine = context.workspace.engine
    category = engine.scalar(
        "SELECT category FROM incidents GROUP BY category ORDER BY count(*) DESC LIMIT 1"
    )
    last = engine.scalar("SELECT max(occurred_at)::DATE FROM incidents")
    since = last - timedelta(days=364)
    study = open_study(context.workspace, category=category, since=since)
    result = run_hotspots(study)
    grid = study.grid
    svg = hotspot_map_svg(
        grid,
        result.rows,
        title=lambda row: f"{row['cell_id']}: {row['class']}, z {row['z']:.2f}, q {row['q']:.3f}",
        label=f"Getis-Ord Gi* hot and cold spots, {category}",
    )
    emerging = [r for r in result.rows if r["trend"]]
    emerging.sort(key=lambda r: (r["trend"], -r["z"]))
    table = "".join(
        f"<tr><td>{escape(r['cell_id'])}</td><td>{escape(r['trend'])}</td>"
        f"<td>{_small(r['count'], context)}</td><td>{r['trend_z']:+.2f}</td></tr>"
        for r in emerging[:15]
    )
    html = (
        f"<p>{escape(str(category))}, {since} to {last}: {len(study.events):,} incidents on"
        f" {grid.size:,} cells ({escape(grid.label)}, {escape(grid.projection.name)}). Getis-Ord"
        " Gi* with 999 conditional permutations; classes use Benjamini-Hochberg q-values"
        f" (false discovery rate). {escape(_counts(result.classes))}.</p>"
        f"<figure>{svg}<figcaption>Hot and cold spots (cells clipped to the study area)."
        "</figcaption></figure>"
        f"<p>Emerging hotspots over {result.periods} periods of {result.period_days:.0f} days"
        f" (Mann-Kendall trend of each cell's Gi* z): {escape(_counts(result.emerging)) or 'none'}."
        "</p>"
        + (
            "<table><thead><tr><th>Cell</th><th>Pattern</th><th>Incidents</th>"
            f"<th>Trend z</th></tr></thead><tbody>{table}</tbody></table>"
            if table
            else ""
        )
        + APPROPRIATE_USE
    )
    return Section("hotspots", "Incident hotspots", html, order=80)


def _forecast_section(context: ReportContext) -> Section | None:
    engine = context.workspace.engine
    runs = engine.records(
        "SELECT run_id, model, category, origin, horizon_days, train_events, grid, crs"
        " FROM forecast_runs ORDER BY created_at DESC LIMIT 1"
    )
    if not runs:
        return None
    run = runs[0]
    cells = stored_forecast_cells(engine, run["run_id"])
    study = open_study(context.workspace, category=run["category"])
    svg = map_svg(
        study.grid.area_geometry,
        forecast_risk_shapes(study.projection, cells),
        [("top quarter", RISK_COLOURS[3]), ("lower", RISK_COLOURS[0])],
        label=f"Forecast risk, {run['model']}",
    )
    top = "".join(
        f"<tr><td>{c['rank']}</td><td>{escape(c['cell_id'])}</td><td>{c['expected']:.2f}</td>"
        f"<td>{c['low']}-{c['high']}</td></tr>"
        for c in cells[:10]
    )
    html = (
        f"<p>{escape(run['model'])} forecast of {escape(str(run['category'] or 'all'))}"
        f" incidents for the {run['horizon_days']:g} days from {run['origin']:%Y-%m-%d},"
        f" trained on {run['train_events']:,} incidents ({escape(run['grid'])}). The map shows"
        " the highest-risk cells covering 10% of the area.</p>"
        f"<figure>{svg}<figcaption>Forecast risk (expected incidents per cell).</figcaption>"
        "</figure><table><thead><tr><th>Rank</th><th>Cell</th><th>Expected</th>"
        f"<th>90% interval</th></tr></thead><tbody>{top}</tbody></table>"
        + _backtest_table(context)
        + "<p>Read the appropriate-use note under the hotspot map before acting on this.</p>"
    )
    return Section("forecast", "Incident forecast and backtest", html, order=85)


def _backtest_table(context: ReportContext) -> str:
    rows: list[dict[str, Any]] = context.workspace.engine.records(
        "SELECT model, coverage, hit_rate, pai, pai_low, pai_high, windows, category, params"
        " FROM backtest_results WHERE run_id = (SELECT run_id FROM backtest_results"
        " ORDER BY created_at DESC LIMIT 1) ORDER BY coverage, pai DESC"
    )
    if not rows:
        return "<p>No backtest yet: run <code>ctip forecast backtest</code>.</p>"
    body = "".join(
        f"<tr><td>{escape(r['model'])}</td><td>{r['coverage']:.0%}</td>"
        f"<td>{r['hit_rate']:.1%}</td><td>{r['pai']:.1f}</td>"
        f"<td>{_interval(r)}</td><td>{r['windows']}</td></tr>"
        for r in rows
    )
    return (
        f"<p>Latest rolling-origin backtest ({escape(str(rows[0]['category'] or 'all'))}):"
        " hit rate and PAI (hit rate / share of area flagged), mean over windows with a 95%"
        " interval of the mean.</p><table><thead><tr><th>Model</th><th>Area flagged</th>"
        "<th>Hit rate</th><th>PAI</th><th>95% interval</th><th>Windows</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _interval(row: dict[str, Any]) -> str:
    if row["pai_low"] is None or row["pai_high"] is None:
        return "-"
    return f"{row['pai_low']:.1f}-{row['pai_high']:.1f}"

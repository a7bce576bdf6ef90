"""The map page's workspace part: hot and cold spots and the latest forecast, drawn as SVG.

Computing Gi* with 999 permutations over a city's grid takes seconds, so it runs as a
background job with progress, keyed by the workspace's version and the chosen window; the
result (SVG and a few figures, no incident coordinates) is kept with the job, so looking again
is instant until the workspace changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, timedelta
from html import escape
from typing import Any

from ctip.spatial.hotspots import run_hotspots
from ctip.spatial.service import stored_forecast_cells
from ctip.spatial.study import open_study
from ctip.spatial.svg import RISK_COLOURS, forecast_risk_shapes, hotspot_map_svg, map_svg
from ctip.web.jobs import JobProgress
from ctip.web.workspaces import Attachment, has_table, open_attached

WINDOWS = (90, 180, 365)


_OVERVIEWS: OrderedDict[tuple[Any, ...], dict[str, Any] | None] = OrderedDict()
_OVERVIEWS_LOCK = threading.Lock()


def incident_overview(attachment: Attachment) -> dict[str, Any] | None:
    """Categories and the date range of the workspace's incidents (None: no incidents),
    kept until the workspace changes."""
    key = (str(attachment.path), attachment.version())
    with _OVERVIEWS_LOCK:
        if key in _OVERVIEWS:
            return _OVERVIEWS[key]
    found = _incident_overview(attachment)
    with _OVERVIEWS_LOCK:
        _OVERVIEWS[key] = found
        while len(_OVERVIEWS) > 32:
            _OVERVIEWS.popitem(last=False)
    return found


def _incident_overview(attachment: Attachment) -> dict[str, Any] | None:
    with open_attached(attachment) as workspace:
        if not has_table(workspace, "incidents"):
            return None
        engine = workspace.engine
        span = engine.records(
            "SELECT min(occurred_at)::DATE AS first, max(occurred_at)::DATE AS last,"
            " count(*) AS incidents FROM incidents"
        )[0]
        if not span["incidents"]:
            return None
        categories = engine.records(
            "SELECT category, count(*) AS n, max(occurred_at)::DATE AS last FROM incidents"
            " WHERE category IS NOT NULL GROUP BY 1 ORDER BY n DESC"
        )
        runs = []
        if has_table(workspace, "forecast_runs"):
            runs = engine.records(
                "SELECT run_id, model, category, origin, horizon_days, train_events, grid"
                " FROM forecast_runs ORDER BY created_at DESC LIMIT 1"
            )
    return {**span, "categories": categories, "forecast": runs[0] if runs else None}


def months_between(first: date, last: date) -> list[str]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def window_end(month: str) -> date:
    """The last day of a YYYY-MM month."""
    year, number = int(month[:4]), int(month[5:7])
    following = date(year + (number == 12), 1 if number == 12 else number + 1, 1)
    return following - timedelta(days=1)


def compute(
    attachment: Attachment,
    category: str | None,
    until: date,
    days: int,
    forecast_run: str | None,
    progress: JobProgress,
) -> dict[str, Any]:
    """Hotspots for the window and the forecast map, as SVG and summary figures."""
    since = until - timedelta(days=days - 1)
    with open_attached(attachment) as workspace:
        progress.step(f"loading {category or 'all'} incidents {since} to {until}")
        study = open_study(workspace, category=category, since=since, until=until)
        progress.step(
            f"Gi* hot and cold spots over {len(study.events):,} incidents (999 permutations)"
        )
        result = run_hotspots(study)
        progress.step("drawing the hotspot map")
        grid = study.grid
        hot_svg = hotspot_map_svg(
            grid,
            result.rows,
            title=lambda row: (
                f"{row['cell_id']}: {row['class']}, {row['count']} incidents, z {row['z']:.2f},"
                f" q {row['q']:.3f}"
            ),
            label=f"Getis-Ord Gi* hot and cold spots, {category or 'all categories'}",
        )
        emerging = sorted(
            (r for r in result.rows if r["trend"]), key=lambda r: (r["trend"], -r["z"])
        )
        forecast = _forecast(workspace, study, forecast_run, progress)
    return {
        "category": category,
        "since": since,
        "until": until,
        "incidents": len(study.events),
        "cells": grid.size,
        "grid": grid.label,
        "classes": result.classes,
        "emerging": result.emerging,
        "emerging_rows": [
            {
                "cell_id": r["cell_id"],
                "trend": r["trend"],
                "count": r["count"],
                "trend_z": r["trend_z"],
            }
            for r in emerging[:50]
        ],
        "hot_svg": hot_svg,
        "forecast": forecast,
    }


def _forecast(
    workspace: Any, study: Any, run_id: str | None, progress: JobProgress
) -> dict[str, Any] | None:
    if run_id is None:
        return None
    progress.step("drawing the latest forecast")
    engine = workspace.engine
    runs = engine.records(
        "SELECT run_id, model, category, origin, horizon_days, train_events, grid"
        " FROM forecast_runs WHERE run_id = ?",
        [run_id],
    )
    if not runs:
        return None
    run = runs[0]
    cells = stored_forecast_cells(engine, run_id)
    svg = map_svg(
        study.grid.area_geometry,
        forecast_risk_shapes(study.projection, cells),
        [
            ("highest quarter", RISK_COLOURS[3]),
            ("next", RISK_COLOURS[2]),
            ("lower", RISK_COLOURS[0]),
        ],
        label=f"Forecast risk, {run['model']}",
    )
    return {
        **{
            k: run[k]
            for k in ("model", "category", "origin", "horizon_days", "train_events", "grid")
        },
        "svg": svg,
        "top": [
            {k: c[k] for k in ("rank", "cell_id", "expected", "low", "high")} for c in cells[:10]
        ],
        "title": escape(str(run["model"])),
    }

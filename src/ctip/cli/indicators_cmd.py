"""``ctip import indicators``: country statistics as indicator series."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.analytics.indicators import SOURCES, import_indicators
from ctip.cli.context import open_workspace
from ctip.cli.output import ReportFormat, emit_object, note, resolve


def indicators(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A statistics file (CSV, may be .gz)")],
    kind: Annotated[
        str | None, typer.Option("--kind", help=" | ".join(SOURCES) + " (detected when omitted)")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Name of the source")] = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Import country statistics (UNODC GLOTIP, US TIP tiers, 3P index, FBI UCR, Polaris)."""
    with open_workspace(ctx, create=True) as workspace:
        report = import_indicators(workspace.engine, file, kind, source)
    if report.duplicates:
        note("this file was imported before (same sha256): nothing new was loaded")
    emit_object(report.as_dict(), resolve(fmt, listing=False), title=f"Indicators from {file.name}")


def register(app: typer.Typer) -> None:
    from ctip.cli.imports import app as import_app

    import_app.command("indicators")(indicators)

"""``ctip export ...``: write workspace data in CTIP or standard layouts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.context import open_workspace
from ctip.cli.output import note
from ctip.export.cases import EXPORT_FORMATS, export_cases
from ctip.ingest.sql import lit

app = typer.Typer(help="Export data from the workspace.")


@app.command("cases")
def cases(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(EXPORT_FORMATS))] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="File to write")] = None,
    import_id: Annotated[str | None, typer.Option("--import", help="Only this import")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source")] = None,
) -> None:
    """Export case records as CSV, Parquet, JSON Lines, CTDC, CTDC-VP or HTCDS-headed XLSX."""
    suffix = {"htcds-xlsx": "xlsx", "ctdc": "csv", "ctdc-vp": "csv"}.get(fmt, fmt)
    target = out or Path(f"cases.{suffix}")
    conditions = ["true"]
    if import_id:
        conditions.append(f"c.import_id = {lit(import_id)}")
    if source:
        conditions.append(f"c.source = {lit(source)}")
    with open_workspace(ctx) as workspace:
        count = export_cases(workspace.engine, target, fmt, " AND ".join(conditions))
    note(f"wrote {count:,} case records to {target} ({fmt})")

"""``ctip quarantine ...``: look at, export and fix rows that failed checks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.context import open_workspace
from ctip.cli.output import OutputFormat, emit_object, emit_rows, note, resolve
from ctip.ingest import quarantine as service

app = typer.Typer(
    help="Rows that failed validation, with their reasons. Fix them with 'export', edit,"
    " then 'ctip import cases FIXED.csv'."
)


@app.command("list")
def list_(
    ctx: typer.Context,
    import_id: Annotated[str | None, typer.Option("--import", help="Only this import")] = None,
    resolved: Annotated[bool, typer.Option("--resolved", help="Include fixed rows")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows")] = 1000,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """List quarantined rows with the field and reason of each failure."""
    with open_workspace(ctx) as workspace:
        rows = service.list_entries(
            workspace.engine, import_id=import_id, include_resolved=resolved, limit=limit
        )
    emit_rows(rows, resolve(fmt), empty="quarantine is empty")


@app.command("show")
def show(
    ctx: typer.Context,
    quarantine_id: Annotated[str, typer.Argument(help="Id from 'ctip quarantine list'")],
    fmt: Annotated[OutputFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Show one quarantined row: its original values and every reason it failed."""
    with open_workspace(ctx) as workspace:
        entry = service.show_entry(workspace.engine, quarantine_id)
    emit_object(entry, resolve(fmt, listing=False), title=quarantine_id)


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    import_id: Annotated[str | None, typer.Option("--import", help="The import to export")] = None,
) -> None:
    """Write open quarantined rows as CSV to correct; re-import the file to load the fixes."""
    with open_workspace(ctx) as workspace:
        kind = service.kind_of_export(workspace.engine, import_id)
        count = service.export_entries(workspace.engine, out, import_id=import_id)
    note(f"wrote {count:,} rows to {out}; fix them, then run 'ctip import {kind} {out}'")

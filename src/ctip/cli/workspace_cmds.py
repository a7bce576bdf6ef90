"""``ctip init`` and ``ctip status``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ctip.cli.context import open_workspace, state
from ctip.cli.output import OutputFormat, emit_object, emit_rows, note, resolve
from ctip.workspace import Workspace


def init(ctx: typer.Context) -> None:
    """Create the workspace (a folder with ctip.duckdb) or upgrade an older one."""
    with open_workspace(ctx, create=True) as workspace:
        note(f"workspace ready at {workspace.path} (schema version {workspace.schema_version})")


def status_data(workspace: Workspace) -> dict[str, Any]:
    return {
        "workspace": str(workspace.path),
        "schema_version": workspace.schema_version,
        "tables": {t.table: t.rows for t in workspace.table_counts()},
        "imports": workspace.recent_imports(),
        "quarantine": workspace.quarantine_summary(),
    }


def status(
    ctx: typer.Context,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """Show what the workspace holds: rows per table, recent imports, open quarantine."""
    output = resolve(fmt, listing=False)
    settings = state(ctx).settings
    with open_workspace(ctx, read_only=False) as workspace:
        data = status_data(workspace)
    if output in ("json", "jsonl"):
        emit_object(data, "json")
        return
    if output == "csv":
        emit_rows([{"table": k, "rows": v} for k, v in data["tables"].items()], "csv")
        return
    note(f"workspace {settings.workspace} (schema version {data['schema_version']})")
    emit_rows([{"table": k, "rows": v} for k, v in data["tables"].items()], "table", title="Tables")
    emit_rows(
        data["imports"],
        "table",
        columns=[
            "import_id",
            "kind",
            "source",
            "input_format",
            "read",
            "loaded",
            "quarantined",
            "duplicates",
            "started_at",
        ],
        title="Recent imports",
        empty="no imports yet: try 'ctip import cases FILE'",
    )
    emit_rows(
        data["quarantine"], "table", title="Open quarantine by field", empty="quarantine is empty"
    )

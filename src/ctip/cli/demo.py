"""``ctip demo``: a first look at CTIP, each capability adding its step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.capabilities import DemoContext, capability_modules
from ctip.cli.context import open_workspace, state
from ctip.cli.output import emit_rows, note
from ctip.shared_data import ENV, find_shared_data


def demo(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help=f"Shared data folder (or set {ENV})")
    ] = None,
) -> None:
    """Create a workspace, import public and generated data, run every analysis, and say
    where to look next."""
    data = data_dir or find_shared_data()
    with open_workspace(ctx, create=True) as workspace:
        note(f"[bold]CTIP demo[/bold] - workspace {workspace.path}")
        context = DemoContext(workspace, state(ctx).settings, data, note)
        for module in capability_modules():
            step = getattr(module, "demo", None)
            if step is not None:
                step(context)
        counts = [{"table": t.table, "rows": t.rows} for t in workspace.table_counts()]
    emit_rows(counts, "table", title="Workspace contents")
    if context.results.get("ctdc_source") == "ctdc":
        note(
            "Source: Counter-Trafficking Data Collaborative (CTDC), ctdatacollaborative.org,"
            " used under the CTDC terms of use."
        )
    for line in context.results.get("next_steps", []):
        note(line)

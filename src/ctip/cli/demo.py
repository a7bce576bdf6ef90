"""``ctip demo``: a first look at CTIP on public data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.context import open_workspace
from ctip.cli.imports import summarise
from ctip.cli.output import emit_rows, note
from ctip.errors import BadInputError
from ctip.ingest.importer import import_cases
from ctip.shared_data import ENV, find_shared_data

CTDC_FILES = (
    ("ctdc/ctdc_global_2020_subset.csv.gz", "ctdc", "CTDC global dataset (k-anonymised subset)"),
    ("ctdc/CTDC_VPsynthetic_condensed.csv.gz", "ctdc-vp", "CTDC victim-perpetrator synthetic data"),
)


def demo(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help=f"Shared data folder (or set {ENV})")
    ] = None,
) -> None:
    """Create a workspace, import the public CTDC data and show what was loaded."""
    data = data_dir or find_shared_data()
    if data is None or not (data / "ctdc").is_dir():
        raise BadInputError(
            "cannot find the shared data folder (with ctdc/ inside)",
            hint=f"pass --data-dir PATH or set {ENV}",
        )
    with open_workspace(ctx, create=True) as workspace:
        note(f"[bold]CTIP demo[/bold] - workspace {workspace.path}")
        for relative, input_format, title in CTDC_FILES:
            report = import_cases(workspace, data / relative, input_format=input_format)
            note(f"imported {title}: {summarise(report)}")
        counts = [{"table": t.table, "rows": t.rows} for t in workspace.table_counts()]
    emit_rows(counts, "table", title="Workspace contents")
    note(
        "Source: Counter-Trafficking Data Collaborative (CTDC), ctdatacollaborative.org,"
        " used under the CTDC terms of use."
    )
    note(
        "Next: 'ctip status', 'ctip export cases --format ctdc --out cases.csv',"
        " 'ctip schema htcds'."
    )

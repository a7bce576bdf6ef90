"""``ctip mapping ...``: draft and inspect column mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.output import note
from ctip.ingest.mapping import builtin_mapping, builtin_names, dump_mapping, load_mapping
from ctip.ingest.plan import plan_import
from ctip.ingest.readers import read_table
from ctip.ingest.suggest import suggest_mapping

app = typer.Typer(help="Mappings from other spreadsheets' columns to CTIP case fields.")


@app.command("suggest")
def suggest(
    file: Annotated[Path, typer.Argument(help="The spreadsheet to map")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the draft here (default: stdout)")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name of the mapping")] = None,
) -> None:
    """Draft a YAML mapping from a file's headers and values, for the analyst to edit."""
    text = suggest_mapping(file, name=name)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    note(
        f"wrote a draft mapping to {out}: check it, then 'ctip import cases {file} --mapping {out}'"
    )


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help=f"A built-in format: {', '.join(builtin_names())}")],
) -> None:
    """Print a built-in mapping (CTDC, CTDC-VP, HTCDS) as YAML, to copy and adapt."""
    typer.echo(dump_mapping(builtin_mapping(name)), nl=False)


@app.command("check")
def check(
    mapping: Annotated[Path, typer.Argument(help="The YAML mapping")],
    file: Annotated[Path | None, typer.Argument(help="A file to check it against")] = None,
) -> None:
    """Validate a mapping file, and optionally that it fits a data file's headers."""
    parsed = load_mapping(mapping)
    note(f"{mapping}: valid mapping '{parsed.name}' with {len(parsed.columns)} columns")
    if file is not None:
        source = read_table(file)
        plan = plan_import(parsed, source.columns, source.list_columns)
        note(f"{file}: {len(plan.mapped)} columns map to fields, {len(plan.kept)} kept in extra")
        for warning in plan.warnings():
            note(f"note: {warning}")

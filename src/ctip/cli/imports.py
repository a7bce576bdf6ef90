"""``ctip import ...``: load files into the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.context import open_workspace
from ctip.cli.output import ReportFormat, emit_object, note, resolve
from ctip.ingest.importer import ImportReport, import_cases
from ctip.progress import ConsoleProgress, SilentProgress

app = typer.Typer(
    help="Import files into the workspace: cases, incidents, ads and country indicators."
)

FileArgument = Annotated[
    Path, typer.Argument(help="CSV, XLSX, ODS, JSON, JSONL or Parquet; may be .gz")
]


def summarise(report: ImportReport) -> str:
    parts = [
        f"read {report.read:,}",
        f"loaded {report.loaded:,}",
        f"quarantined {report.quarantined:,}",
        f"duplicates {report.duplicates:,}",
    ]
    if report.blank:
        parts.append(f"blank rows skipped {report.blank:,}")
    return f"{report.file} ({report.input_format}): " + ", ".join(parts)


def emit_import_report(report: ImportReport, output: str, line: str) -> None:
    """Print an import's warnings, where its quarantined rows are, and the report itself.

    Every ``ctip import`` command (cases, incidents, ads) ends the same way, so that a script
    can rely on one contract: notes on stderr, and with --format json the last line on stdout
    is the report as one JSON object; ``line`` is the one-line summary shown with it.
    """
    for warning in report.warnings:
        note(f"[yellow]note:[/yellow] {warning}")
    if report.quarantined:
        note(
            f"{report.quarantined:,} rows went to quarantine; see them with"
            f" 'ctip quarantine list --import {report.import_id}'"
        )
    if output == "table":
        emit_object(report.as_dict(), output, title=line)
    else:
        note(line)
        emit_object(report.as_dict(), "json")


@app.command("cases")
def cases(
    ctx: typer.Context,
    file: FileArgument,
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format", help="ctdc, ctdc-vp, htcds or mapped; detected when omitted"
        ),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="YAML mapping for other layouts")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Name of the source (default: file name)")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Text encoding when not UTF-8, e.g. cp1252")
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Spreadsheet sheet name")] = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Import victim case records, validating every row; bad rows go to quarantine.

    With --format json the last line on stdout is one JSON object with import_id, read,
    loaded, quarantined and duplicates (read = loaded + quarantined + duplicates).
    """
    output = resolve(fmt, listing=False)
    with open_workspace(ctx, create=True) as workspace:
        options = {
            "input_format": input_format,
            "mapping_path": mapping,
            "source": source,
            "encoding": encoding,
            "sheet": sheet,
        }
        if output == "table" and ConsoleProgress is not None and _stderr_is_terminal():
            console_progress = ConsoleProgress()
            with console_progress.running(f"importing {file.name}") as progress:
                report = import_cases(workspace, file, progress=progress, **options)
        else:
            report = import_cases(workspace, file, progress=SilentProgress(), **options)
    emit_import_report(report, output, summarise(report))


def _stderr_is_terminal() -> bool:
    import sys

    return sys.stderr.isatty()

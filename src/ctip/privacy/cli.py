"""``ctip release ...``: k-anonymous extracts and differentially private synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.context import open_workspace
from ctip.cli.output import OutputFormat, ReportFormat, emit_object, emit_rows, note, resolve
from ctip.errors import BadInputError
from ctip.privacy.hierarchy import parse_hierarchy_specs
from ctip.privacy.release import list_releases, release_kanon, release_synthetic
from ctip.privacy.source import DEFAULT_QUASI, DEFAULT_SENSITIVE, from_cases, from_file

app = typer.Typer(help="Safe public releases: k-anonymous extracts and DP synthetic data.")

InputOption = Annotated[
    Path | None,
    typer.Option("--input", help="A table file to release instead of the workspace cases"),
]


def _columns(values: list[str] | None, default: tuple[str, ...]) -> list[str]:
    if not values:
        return list(default)
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


@app.command("kanon")
def kanon_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv, .parquet, .jsonl)")],
    k: Annotated[int, typer.Option("--k", min=2, help="Smallest group size allowed")] = 11,
    quasi: Annotated[
        list[str] | None,
        typer.Option("--quasi", help="Quasi-identifier columns (comma-separated)"),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns", help="Other columns to release as they are (checked for l-diversity)"
        ),
    ] = None,
    hierarchy: Annotated[
        list[str] | None,
        typer.Option("--hierarchy", help="COL:KIND (age, age-band, place, year, category)"),
    ] = None,
    max_suppression: Annotated[
        float,
        typer.Option(
            "--max-suppression", min=0.0, max=1.0, help="Share of records that may be suppressed"
        ),
    ] = 0.05,
    input_file: InputOption = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Write a k-anonymous extract the CTDC way: generalise (age bands, UN regions, year ranges),
    suppress what is still rare, and report what was generalised, suppressed and lost."""
    quasi_columns = _columns(quasi, DEFAULT_QUASI)
    extra = _columns(columns, DEFAULT_SENSITIVE if input_file is None else ())
    kinds = parse_hierarchy_specs(hierarchy or [])
    wanted = list(dict.fromkeys([*quasi_columns, *extra]))
    if input_file is not None:
        release = release_kanon(
            from_file(input_file, wanted),
            quasi_columns,
            k,
            out,
            extra=extra,
            kinds=kinds,
            max_suppression=max_suppression,
        )
    else:
        with open_workspace(ctx) as workspace:
            release = release_kanon(
                from_cases(workspace.engine, wanted),
                quasi_columns,
                k,
                out,
                extra=extra,
                kinds=kinds,
                max_suppression=max_suppression,
                engine=workspace.engine,
            )
    summary = release.summary
    note(
        f"{summary['records_out']:,} records written to {out}; "
        + ", ".join(f"{g['column']} as {g['as']}" for g in summary["generalisation"])
        + f"; {summary['suppressed_records']:,} records suppressed"
    )
    note(f"report: {release.outputs[1]}; page: {release.outputs[2]}")
    output = resolve(fmt, listing=False)
    if output == "json":
        emit_object(summary, "json")
    else:
        emit_rows(summary["generalisation"], "table", title=f"k-anonymous release (k={k})")


@app.command("synthetic")
def synthetic_command(
    ctx: typer.Context,
    epsilon: Annotated[float, typer.Option("--epsilon", help="Privacy budget (e.g. 4)")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the release")],
    columns: Annotated[
        list[str] | None, typer.Option("--columns", help="Columns to synthesise (comma-separated)")
    ] = None,
    multi_value: Annotated[
        list[str] | None,
        typer.Option("--multi-value", help="Columns holding several values separated by ';'"),
    ] = None,
    reporting_length: Annotated[
        int,
        typer.Option(
            "--reporting-length", min=1, max=6, help="Longest attribute combination counted"
        ),
    ] = 3,
    resolution: Annotated[
        int,
        typer.Option("--resolution", min=1, help="Smallest combination count kept (k-synthetic)"),
    ] = 10,
    delta: Annotated[
        float | None, typer.Option("--delta", help="DP delta (default 1/(n ln n))")
    ] = None,
    fabrication: Annotated[
        str, typer.Option("--fabrication", help="balanced, minimize, progressive or uncontrolled")
    ] = "balanced",
    input_file: InputOption = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Differentially private aggregates and synthetic microdata (Synthetic Data Showcase
    method), with leakage and preservation by combination length and the privacy accounting in
    metadata.json."""
    if fabrication not in ("balanced", "minimize", "progressive", "uncontrolled"):
        raise BadInputError(f"unknown --fabrication '{fabrication}'")
    default = (*DEFAULT_QUASI, *DEFAULT_SENSITIVE)
    wanted = _columns(columns, default if input_file is None else ())
    multi = _columns(multi_value, DEFAULT_SENSITIVE if input_file is None and not columns else ())
    if input_file is not None and not wanted:
        raise BadInputError(
            "--columns is needed with --input", hint="name the columns to synthesise"
        )
    options = {
        "reporting_length": reporting_length,
        "resolution": resolution,
        "delta": delta,
        "multi_value": [m for m in multi if m in wanted],
        "fabrication": fabrication,
    }
    if input_file is not None:
        release = release_synthetic(from_file(input_file, wanted), epsilon, out, **options)  # type: ignore[arg-type]
    else:
        with open_workspace(ctx) as workspace:
            release = release_synthetic(
                from_cases(workspace.engine, wanted),
                epsilon,
                out,
                engine=workspace.engine,
                **options,  # type: ignore[arg-type]
            )
    metadata = release.summary
    note(
        f"{metadata['records_out']:,} synthetic records in {out} (epsilon {epsilon},"
        f" delta {metadata['privacy']['delta']:.3g}); metadata.json holds the accounting"
    )
    if resolve(fmt, listing=False) == "json":
        emit_object(metadata, "json")
    else:
        emit_rows(metadata["evaluation"], "table", title="Evaluation by combination length")


@app.command("list")
def list_command(
    ctx: typer.Context,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """Releases made from this workspace, newest first."""
    with open_workspace(ctx, read_only=True) as workspace:
        rows = list_releases(workspace.engine)
    emit_rows(rows, resolve(fmt), title="Releases", empty="no release yet")

"""``ctip link ...``: entity resolution, judgements and the review queue (thin: parse, call, render)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pyarrow.parquet as pq
import typer

from ctip.cli.batch import EngineOption, InputOption, OutputOption, SparkMasterOption
from ctip.cli.context import open_workspace, state
from ctip.cli.output import OutputFormat, emit_object, emit_rows, note, resolve
from ctip.engine import DuckDBEngine
from ctip.errors import BadInputError
from ctip.link import store
from ctip.link.resolve import DedupeOptions
from ctip.link.roles import parse_column_specs
from ctip.link.service import load_records, run_dedupe

app = typer.Typer(help="Entity resolution: find records of the same person across sources.")

FormatOption = Annotated[
    OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
]
TABLE_ROWS = 50


@app.command("dedupe")
def dedupe_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="CSV, XLSX, JSON, JSONL or Parquet files; none: the workspace cases"),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns",
            help="Columns to compare, as COL or COL:ROLE (comma-separated or repeated);"
            " default: every column whose name says its role",
        ),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Column with a unique record id")
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="Match probability to link")
    ] = 0.95,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    input_path: InputOption = None,
    output_dir: OutputOption = None,
    store_results: Annotated[
        bool,
        typer.Option(
            "--store/--no-store",
            help="Keep canonical ids and the review queue in the workspace (when there is one)",
        ),
    ] = True,
    fmt: FormatOption = None,
) -> None:
    """Find records of the same person with Splink; print {id, cluster, match_probability}.

    Records are compared column by column according to each column's role (names with
    Jaro-Winkler and term frequencies, dates of birth, citizenship, places, phones, e-mails,
    identity numbers); the model is trained without labels (EM). Clusters become canonical ids
    kept across runs, and analysts' judgements (ctip link judge) override the model. Without
    FILE the workspace case records are resolved; only records with a name, date of birth,
    contact or identity number take part.

    With --input PATH.parquet --output DIR (the scale-out form) the records come from the
    Parquet file and the answer is also written to DIR/entities as a Parquet dataset.
    """
    settings = state(ctx).settings
    if input_path is not None:
        files = [*(files or []), input_path]
    specs = parse_column_specs(columns or [])
    options = DedupeOptions(
        threshold=threshold,
        engine=(engine or settings.engine).lower(),
        spark_master=spark_master or settings.spark_master,
    )
    if options.engine not in ("duckdb", "spark"):
        raise BadInputError(f"unknown engine '{engine}'", hint="use duckdb or spark")
    for path in files or []:
        if not path.exists():
            raise BadInputError(f"{path}: no such file", hint="check the path")
    has_workspace = settings.database_path.exists()
    if not files and not has_workspace:
        raise BadInputError(
            f"no CTIP workspace at {settings.workspace}",
            hint="give a FILE, or run 'ctip init' and import cases first",
        )
    workspace = open_workspace(ctx) if has_workspace else None
    scratch = DuckDBEngine() if workspace is None else None
    try:
        engine_ = workspace.engine if workspace is not None else scratch
        assert engine_ is not None
        records = load_records(engine_, files or [], id_column=id_column, specs=specs)
        outcome = run_dedupe(
            engine_,
            records,
            options,
            store_results=store_results and workspace is not None,
            input_kind="files" if files else "cases",
        )
    finally:
        if workspace is not None:
            workspace.close()
        if scratch is not None:
            scratch.close()
    for line in outcome.notes:
        note(line)
    if workspace is None:
        note("no workspace: cluster ids are not kept (run 'ctip init' for canonical ids)")
    elif outcome.run.get("run_id"):
        note(f"run {outcome.run['run_id']}: review borderline pairs with 'ctip link review'")
    entities = outcome.rows.select(["id", "cluster", "match_probability"])
    if output_dir is not None:
        folder = output_dir / "entities"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(entities, folder / "part-0.parquet")
        note(f"wrote {entities.num_rows:,} records with their entity to {folder}")
    output = resolve(fmt)
    rows: list[dict[str, Any]] = outcome.rows.select(
        ["id", "cluster", "match_probability"]
    ).to_pylist()
    if output == "table":
        _table(rows)
        return
    emit_rows(rows, output, columns=["id", "cluster", "match_probability"])


def _table(rows: list[dict[str, Any]]) -> None:
    sizes: dict[str, int] = {}
    for row in rows:
        sizes[row["cluster"]] = sizes.get(row["cluster"], 0) + 1
    shown = sorted(
        (r for r in rows if sizes[r["cluster"]] > 1),
        key=lambda r: (-sizes[r["cluster"]], r["cluster"], r["id"]),
    )[:TABLE_ROWS]
    emit_rows(
        shown,
        "table",
        columns=["id", "cluster", "match_probability"],
        title=f"Records in multi-record entities (first {TABLE_ROWS}; --format jsonl for all)",
        empty="no two records were linked",
    )


@app.command("judge")
def judge_command(
    ctx: typer.Context,
    id_a: Annotated[str, typer.Argument(help="A record id")],
    id_b: Annotated[str, typer.Argument(help="Another record id")],
    verdict: Annotated[str, typer.Argument(help="same, not-same or unsure")],
    note_text: Annotated[
        str | None, typer.Option("--note", help="Why (kept with the decision)")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who decides (default: your user name)")
    ] = None,
    fmt: Annotated[OutputFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Record an analyst's decision on two records; later runs respect it.

    'same' links them whatever the model says; 'not-same' keeps them in different entities even
    when other links would join them; 'unsure' is kept for the record and changes nothing.
    """
    with open_workspace(ctx) as workspace:
        judgement = store.record_judgement(
            workspace.engine, id_a, id_b, verdict.lower(), note_text, by
        )
    emit_object(judgement, resolve(fmt, listing=False), title="Judgement recorded")
    note("takes effect at the next 'ctip link dedupe' run")


@app.command("review")
def review_command(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Run id (default: the latest)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Pairs to show")] = 20,
    fmt: FormatOption = None,
) -> None:
    """Borderline pairs of a run, nearest the threshold first, with the match weight of each
    comparison (Splink's explanation: positive weights say 'same', negative 'different')."""
    with open_workspace(ctx, read_only=True) as workspace:
        run_id, pairs = store.review_pairs(workspace.engine, run, limit)
    output = resolve(fmt)
    if output == "table":
        note(f"run {run_id}: judge a pair with 'ctip link judge ID_A ID_B same|not-same|unsure'")
        emit_rows(
            [
                {
                    "id_l": p["id_l"],
                    "id_r": p["id_r"],
                    "probability": round(p["match_probability"], 3),
                    "weight": round(p["match_weight"], 2),
                    "judged": p["judged"],
                    "evidence": _evidence(p["explanation"]),
                }
                for p in pairs
            ],
            "table",
            title="Borderline pairs",
            empty="no borderline pairs in this run",
        )
        return
    emit_rows(
        pairs,
        output,
        columns=["id_l", "id_r", "match_probability", "match_weight", "judged", "explanation"],
    )


def _evidence(explanation: list[dict[str, Any]]) -> str:
    parts = [
        f"{e['comparison']} {e['match_weight']:+.1f} ({e['left']} | {e['right']})"
        for e in sorted(explanation, key=lambda e: -abs(e["match_weight"] or 0))
        if e["match_weight"]
    ]
    return "; ".join(parts)


@app.command("runs")
def runs_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs to show")] = 20,
    fmt: FormatOption = None,
) -> None:
    """Past entity-resolution runs with their counts."""
    with open_workspace(ctx, read_only=True) as workspace:
        rows = store.list_runs(workspace.engine, limit)
    emit_rows(rows, resolve(fmt), title="Linkage runs", empty="no linkage run yet")

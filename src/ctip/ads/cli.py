"""``ctip ads ...``, ``ctip import ads``, ``ctip export ads`` and ``ctip screen messages``.

Thin commands: parse, call ``ctip.ads`` services, render with ``ctip.cli.output``. Flags raised
by ``screen`` are for human triage, never automatic action (see docs/ads.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ctip.ads import decisions
from ctip.ads.cluster import MinHashLSH, Tokenizer
from ctip.ads.extract import KINDS, extract_identifiers
from ctip.ads.importer import import_ads, match_columns, parse_posted
from ctip.ads.indicators import load_catalogue, screen
from ctip.ads.messages import read_messages
from ctip.ads.network_service import run_networks
from ctip.ads.networks import LINK_KINDS
from ctip.ads.service import run_cluster, run_extract, run_screen
from ctip.cli.batch import (
    EngineOption,
    InputOption,
    OutputOption,
    SparkMasterOption,
    job_engine,
    require_paths,
)
from ctip.cli.context import open_workspace, state
from ctip.cli.imports import emit_import_report, summarise
from ctip.cli.output import OutputFormat, ReportFormat, emit_object, emit_rows, note, resolve
from ctip.engine.base import Engine
from ctip.ingest.readers import read_table
from ctip.progress import ConsoleProgress, Progress, SilentProgress

app = typer.Typer(help="Online ads: identifiers, indicators, clusters and networks.")
screen_app = typer.Typer(help="Screen texts for trafficking indicators (for human triage).")

FormatOption = Annotated[
    OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
]
OptionalFile = Annotated[
    Path | None, typer.Argument(help="Ads file (JSONL, CSV, ...); default: the workspace")
]


def read_ads_file(path: Path) -> list[dict[str, Any]]:
    """Ads from a file without storing them (column names as for 'ctip import ads')."""
    table = read_table(path)
    mapping = match_columns(path, table.columns)
    columns = {field: table.table.column(column).to_pylist() for field, column in mapping.items()}
    rows = table.table.column("_ctip_row").to_pylist()
    ads = []
    for index, row in enumerate(rows):
        ad = {field: values[index] for field, values in columns.items()}
        ad["id"] = ad.get("id") or f"row-{row}"
        ad["ad_key"] = ad["id"]
        if ad.get("posted_at"):
            ad["posted_at"] = parse_posted(str(ad["posted_at"]))
        ads.append(ad)
    return ads


def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSONL, JSON, CSV, XLSX or Parquet; may be .gz")],
    source: Annotated[
        str | None, typer.Option("--source", help="Name of the source (default: file name)")
    ] = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Import online ads (id, title, body, site, location, posted_at, url, age, images).

    Rows without text, with an unreadable date or age, or a repeated id go to quarantine;
    read = loaded + quarantined + duplicates. Importing the same file again loads nothing.
    """
    output = resolve(fmt, listing=False)
    with open_workspace(ctx, create=True) as workspace:
        report = import_ads(workspace, file, source=source)
    emit_import_report(report, output, summarise(report))


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], **{k: [i["value"] for i in row[k]] for k in KINDS}}


def _is_job(input_path: Path | None, output: Path | None, file: Path | None) -> bool:
    """--input/--output switch a command to a Parquet job; FILE and the workspace stay as they
    were."""
    if input_path is None and output is None:
        return False
    if file is not None:
        raise typer.BadParameter("give either FILE or --input/--output, not both")
    return True


@contextmanager
def _job_progress() -> Iterator[Progress]:
    """Stage names on a spinner when stderr is a terminal; silence when piped."""
    if not sys.stderr.isatty():
        yield SilentProgress()
        return
    console = ConsoleProgress()
    with console.running("starting the job") as running:
        yield running


def _run_job(
    ctx: typer.Context,
    engine: str | None,
    spark_master: str | None,
    input_path: Path | None,
    output: Path | None,
    fmt: OutputFormat | None,
    run: Callable[[Engine, Path, Path, Progress], dict[str, Any]],
) -> None:
    """Run a Parquet job and print its stages (name, rows, seconds, resumed)."""
    source, target = require_paths(input_path, output)
    rendered = resolve(fmt)
    with job_engine(state(ctx).settings, engine, spark_master) as chosen, _job_progress() as bar:
        summary = run(chosen, source, target, bar)
    if rendered == "json":
        emit_object(summary, "json")
    else:
        emit_rows(summary["stages"], rendered, title=f"Stages on {summary['engine']}")
    ran = [s["stage"] for s in summary["stages"] if not s["resumed"]]
    reused = [s["stage"] for s in summary["stages"] if s["resumed"]]
    note(
        f"{summary['engine']} job under {summary['output']}:"
        f" ran {', '.join(ran) or 'nothing'}"
        + (f"; reused finished stages {', '.join(reused)}" if reused else "")
    )


@app.command("extract")
def extract(
    ctx: typer.Context,
    file: OptionalFile = None,
    region: Annotated[
        str, typer.Option("--region", help="Default region for numbers without country code")
    ] = "US",
    fmt: FormatOption = None,
    input_path: InputOption = None,
    output_dir: OutputOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Extract phones (E.164), e-mails, handles, URLs, crypto wallets, prices and ages from
    each ad, every value with its evidence span. Without FILE, reads and updates the workspace;
    with --input/--output, runs as a Parquet job (stage 'extracted') on DuckDB or Spark."""
    region = region.upper()
    if _is_job(input_path, output_dir, file):
        from ctip.ads.jobs import extract_job

        _run_job(ctx, engine, spark_master, input_path, output_dir, fmt,
                 lambda e, i, o, p: extract_job(e, i, o, region=region, progress=p))  # fmt: skip
        return
    output = resolve(fmt)
    if file is not None:
        rows = [
            {"id": ad["id"], **extract_identifiers(ad, region=region).as_dict()}
            for ad in read_ads_file(file)
        ]
    else:
        with open_workspace(ctx) as workspace:
            rows = [
                {"id": r["id"], **{k: r[k] for k in KINDS}}
                for r in run_extract(workspace, region=region)
            ]
    if output in ("json", "jsonl"):
        emit_rows(rows, output, columns=["id", *KINDS])
    else:
        emit_rows([_flat(r) for r in rows], output, title="Identifiers")
    note(f"{len(rows):,} ads; {sum(bool(r['phones']) for r in rows):,} with a phone number")


@app.command("screen")
def screen_ads(
    ctx: typer.Context,
    file: OptionalFile = None,
    min_score: Annotated[
        float, typer.Option("--min-score", help="Only ads scoring this or more")
    ] = 0.0,
    catalogue_path: Annotated[
        Path | None,
        typer.Option("--catalogue", help="Indicator catalogue YAML (default: built-in)"),
    ] = None,
    fmt: FormatOption = None,
    input_path: InputOption = None,
    output_dir: OutputOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Score ads against the indicator catalogue, with the evidence for every indicator.

    Flags are for human triage, never automatic action. Rejected flags (ctip ads decide) are
    left out on later runs. With --input/--output, runs as a Parquet job (stage 'screened',
    every ad) on DuckDB or Spark."""
    catalogue = load_catalogue(catalogue_path)
    if _is_job(input_path, output_dir, file):
        from ctip.ads.jobs import screen_job

        _run_job(ctx, engine, spark_master, input_path, output_dir, fmt,
                 lambda e, i, o, p: screen_job(e, i, o, catalogue=catalogue, progress=p))  # fmt: skip
        return
    output = resolve(fmt)
    if file is not None:
        rows = [
            {"id": ad["id"], **screen(ad, catalogue=catalogue).as_dict()}
            for ad in read_ads_file(file)
        ]
    else:
        with open_workspace(ctx) as workspace:
            rows = run_screen(workspace, catalogue=catalogue)
    rows = sorted((r for r in rows if r["score"] >= min_score), key=lambda r: -r["score"])
    _emit_screening(rows, output, "Screened ads")
    note(
        f"{sum(r['score'] > 0 for r in rows):,} ads with indicators (catalogue {catalogue.version});"
        " flags are for human triage only"
    )


def _emit_screening(rows: list[dict[str, Any]], output: str, title: str) -> None:
    if output in ("json", "jsonl"):
        emit_rows(rows, output, columns=list(rows[0]) if rows else ["id", "score", "indicators"])
        return
    flat = [
        {
            "id": r["id"],
            "score": r["score"],
            "indicators": [
                f"{i['code']}: {' | '.join(e['text'] for e in i['evidence'][:2])}"
                for i in r["indicators"]
            ],
        }
        for r in rows
    ]
    emit_rows(flat, output, title=title)


@app.command("cluster")
def cluster(
    ctx: typer.Context,
    file: OptionalFile = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Estimated Jaccard similarity to join (0-1)")
    ] = 0.5,
    summary: Annotated[
        bool, typer.Option("--summary", help="Print one template summary per cluster instead")
    ] = False,
    fmt: FormatOption = None,
    input_path: InputOption = None,
    output_dir: OutputOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Group near-duplicate and same-template ads (MinHash + LSH); --summary shows each
    cluster's shared template and the slots that vary (names, ages, cities, prices). With
    --input/--output, runs as a Parquet job (stages signatures, candidates, pairs, clusters)."""
    if not 0 < threshold <= 1:
        raise typer.BadParameter("--threshold must be between 0 and 1")
    if _is_job(input_path, output_dir, file):
        if summary:
            raise typer.BadParameter("--summary reads the workspace or FILE, not a Parquet job")
        from ctip.ads.jobs import cluster_job

        _run_job(ctx, engine, spark_master, input_path, output_dir, fmt,
                 lambda e, i, o, p: cluster_job(e, i, o, threshold=threshold, progress=p))  # fmt: skip
        return
    output = resolve(fmt)
    if file is not None:
        ads = read_ads_file(file)
        texts = [f"{a.get('title') or ''}\n{a.get('body') or ''}" for a in ads]
        tokens, offsets = Tokenizer().corpus(texts)
        labels, _ = MinHashLSH(threshold=threshold).cluster(tokens, offsets)
        rows = [
            {"id": a["id"], "cluster": f"c-{int(label)}"}
            for a, label in zip(ads, labels, strict=True)
        ]
        summaries: list[dict[str, Any]] = []
        if summary:
            from ctip.ads.templates import summarise as summarise_template

            groups: dict[str, list[int]] = {}
            for index, row in enumerate(rows):
                groups.setdefault(row["cluster"], []).append(index)
            for name, members in sorted(groups.items(), key=lambda g: -len(g[1])):
                if len(members) > 1:
                    summaries.append(
                        {
                            "cluster": name,
                            **summarise_template([texts[i] for i in members]).as_dict(),
                        }
                    )
    else:
        with open_workspace(ctx) as workspace:
            rows, summaries = run_cluster(workspace, threshold=threshold)
    if summary:
        emit_rows(
            [
                {
                    **s,
                    "slots": s["slots"]
                    if output in ("json", "jsonl")
                    else [f"{x['kind']}: {', '.join(x['values'][:4])}" for x in s["slots"]],
                }
                for s in summaries
            ],
            output,
            columns=["cluster", "size", "template", "slots", "compression"],
            title="Cluster templates",
        )
    else:
        emit_rows(rows, output, columns=["id", "cluster"], title="Clusters")
    multi = {r["cluster"] for r in rows} if rows else set()
    note(f"{len(rows):,} ads in {len(multi):,} clusters")


@app.command("networks")
def networks(
    ctx: typer.Context,
    links: Annotated[
        str,
        typer.Option("--links", help=f"Link kinds to use, comma-separated: {','.join(LINK_KINDS)}"),
    ] = ",".join(LINK_KINDS),
    min_size: Annotated[int, typer.Option("--min-size", help="Smallest network to list")] = 2,
    max_size: Annotated[
        int, typer.Option("--max-size", help="Split larger components with Leiden communities")
    ] = 5000,
    region: Annotated[str, typer.Option("--region", help="Default phone region")] = "US",
    threshold: Annotated[
        float, typer.Option("--threshold", help="Text-cluster threshold for Parquet jobs (0-1)")
    ] = 0.5,
    fmt: FormatOption = None,
    input_path: InputOption = None,
    output_dir: OutputOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Link ads that share phones, e-mails, handles, wallets, images or a text cluster into
    networks; rejected links (ctip ads decide link ... --reject) are left out. With
    --input/--output, runs as a Parquet job (extraction and clusters, then links, networks and
    network_summary) on DuckDB or Spark."""
    kinds = tuple(k.strip() for k in links.split(",") if k.strip())
    if not 0 < threshold <= 1:
        raise typer.BadParameter("--threshold must be between 0 and 1")
    if _is_job(input_path, output_dir, None):
        from ctip.ads.jobs import networks_job

        _run_job(ctx, engine, spark_master, input_path, output_dir, fmt,
                 lambda e, i, o, p: networks_job(
                     e, i, o, kinds=kinds, region=region.upper(), threshold=threshold,
                     max_size=max_size, min_size=min_size, progress=p))  # fmt: skip
        return
    output = resolve(fmt)
    with open_workspace(ctx) as workspace:
        rows = run_networks(
            workspace, kinds=kinds, min_size=min_size, max_size=max_size, region=region.upper()
        )
    columns = ["network", "ids", "phones", "emails", "handles", "sites", "first_seen", "last_seen",
               "size", "cities", "wallets", "component", "indicators"]  # fmt: skip
    if output == "table":
        columns = [
            "network",
            "size",
            "phones",
            "emails",
            "handles",
            "cities",
            "first_seen",
            "last_seen",
        ]
    emit_rows(rows, output, columns=columns, title="Ad networks")
    note(f"{len(rows):,} networks of {min_size}+ ads")


@app.command("decide")
def decide(
    ctx: typer.Context,
    target_kind: Annotated[str, typer.Argument(help="flag, cluster or link")],
    target: Annotated[
        str, typer.Argument(help="AD:CODE for a flag, a cluster id, or KIND:VALUE for a link")
    ],
    confirm: Annotated[bool, typer.Option("--confirm", help="Confirm it")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject it")] = False,
    analyst: Annotated[
        str | None, typer.Option("--by", help="Who decides (default: $CTIP_ANALYST or login)")
    ] = None,
    note_text: Annotated[str | None, typer.Option("--note", help="Why")] = None,
) -> None:
    """Record an analyst's decision on a flag, a cluster or a link; later runs respect it."""
    if confirm == reject:
        raise typer.BadParameter("give exactly one of --confirm or --reject")
    with open_workspace(ctx) as workspace:
        row = decisions.record(
            workspace.engine, target_kind, target, "confirm" if confirm else "reject",
            analyst=analyst, note=note_text,
        )  # fmt: skip
    note(f"{row['decision']}ed {target_kind} {target} by {row['analyst']}; applied on the next run")
    emit_object(
        {k: v for k, v in row.items() if k != "members"} | {"members": len(row["members"])}, "json"
    )


@app.command("decisions")
def decisions_list(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """List analyst decisions on flags, clusters and links (who, when, what)."""
    with open_workspace(ctx) as workspace:
        rows = decisions.list_decisions(workspace.engine)
    emit_rows(rows, resolve(fmt), title="Decisions", empty="no decisions yet")


@app.command("indicators")
def indicators(fmt: FormatOption = None) -> None:
    """List the indicator catalogue: code, domain, weight, description and literature source."""
    catalogue = load_catalogue()
    rows = [
        {
            "code": i.code,
            "domain": i.domain,
            "applies_to": list(i.applies_to),
            "weight": i.weight,
            "description": i.description,
            "source": i.source,
        }
        for i in catalogue.indicators
    ]
    emit_rows(rows, resolve(fmt), title=f"Indicator catalogue {catalogue.version}")


@app.command("generate")
def generate(
    out: Annotated[Path, typer.Argument(help="File to write (.jsonl, .csv or .parquet)")],
    count: Annotated[int, typer.Option("--count", help="Number of ads")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 1,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Also write the ground truth as JSON Lines")
    ] = None,
) -> None:
    """Write synthetic ads (fictional 555 numbers, no real text) with known ground truth.
    A .parquet file is written in batches, fast enough for a million ads."""
    from dataclasses import asdict

    from ctip.ads.generate import generate_ads, write_parquet

    if out.suffix == ".parquet":
        written = write_parquet(out, count, seed, truth=truth)
        note(f"wrote {written:,} synthetic ads to {out}")
        return

    generated = generate_ads(count, seed)
    generated.write(out)
    if truth is not None:
        with truth.open("w", encoding="utf-8") as handle:
            for ad, item in zip(generated.ads, generated.truth, strict=True):
                handle.write(json.dumps({"id": ad["id"], **asdict(item)}) + "\n")
    note(f"wrote {count:,} synthetic ads to {out}")


def export_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="File to write")] = Path("ads.ftm.jsonl"),
    fmt: Annotated[str, typer.Option("--format", help="ftm (FollowTheMoney JSON lines)")] = "ftm",
) -> None:
    """Export ads, their identifiers and links as FollowTheMoney entities (JSON lines)."""
    from ctip.ads.ftm import write_entities

    if fmt != "ftm":
        raise typer.BadParameter("the only format is ftm")
    with open_workspace(ctx) as workspace:
        count = write_entities(workspace.engine, out)
    note(f"wrote {count:,} FollowTheMoney entities to {out}")


@screen_app.command("messages")
def screen_messages(
    file: Annotated[
        Path, typer.Argument(help="Chat export: CSV/JSON/JSONL table or WhatsApp .txt")
    ],
    all_messages: Annotated[
        bool, typer.Option("--all", help="List unflagged messages too")
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """Screen chat or message exports for coercion and distress (debt, threats, held papers,
    cannot leave, asking for help) and deceptive recruitment. For human triage only."""
    catalogue = load_catalogue()
    rows = []
    for message in read_messages(file):
        result = screen(message.text, kind="messages", catalogue=catalogue)
        if result.flags or all_messages:
            rows.append({"id": message.id, "sender": message.sender, "sent_at": message.sent_at,
                         **result.as_dict()})  # fmt: skip
    _emit_screening(rows, resolve(fmt), "Screened messages")
    note(f"{len(rows):,} messages listed; flags are for human triage only")

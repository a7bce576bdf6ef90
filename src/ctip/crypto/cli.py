"""``ctip crypto ...``: thin commands over the crypto services (parse, call, render)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ctip.cli.batch import EngineOption, InputOption, OutputOption, SparkMasterOption
from ctip.cli.context import open_workspace
from ctip.cli.output import (
    OutputFormat,
    ReportFormat,
    emit_object,
    emit_rows,
    note,
    resolve,
    to_json,
)
from ctip.crypto.cells import parse_time
from ctip.errors import BadInputError

if TYPE_CHECKING:
    from ctip.crypto.cluster import ClusterParams

app = typer.Typer(
    help="Cryptocurrency flows: import, cluster, tag, trace, exposure, export.",
    no_args_is_help=True,
)
tag_app = typer.Typer(help="Attribution tags (GraphSense TagPacks).", no_args_is_help=True)
app.add_typer(tag_app, name="tag")

Fmt = Annotated[OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")]
ReportFmt = Annotated[ReportFormat | None, typer.Option("--format", help="table or json")]


def _when(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    seconds = parse_time(text)
    if seconds is None:
        raise BadInputError(
            f"{flag} {text!r} is not a date", hint="use YYYY-MM-DD or an ISO date-time"
        )
    return datetime.fromtimestamp(seconds, UTC)


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Bitcoin Core JSON, flat input/output CSV, Blockchair dump, or transfer CSV"
        ),
    ],
    chain: Annotated[
        str,
        typer.Option("--chain", help="btc, ltc, bch, doge, eth (or another EVM chain), trx, ..."),
    ],
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format", help="core-json, flat-csv, blockchair or account-csv (detected)"
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Name of the source (default: file name)")
    ] = None,
    unit: Annotated[
        str, typer.Option("--unit", help="coin (BTC, ETH) or base (satoshi, wei) for CSV values")
    ] = "coin",
    decimals: Annotated[
        int | None, typer.Option("--decimals", help="Decimals of the base unit (token transfers)")
    ] = None,
    tx: Annotated[str | None, typer.Option("--tx", help="Column with the transaction hash")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Column with the sender (account chains)")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Column with the receiver (account chains)")
    ] = None,
    value: Annotated[str | None, typer.Option("--value", help="Column with the amount")] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="Column with the time (ISO or Unix)")
    ] = None,
    asset: Annotated[
        str | None, typer.Option("--asset", help="Column with the token symbol (account chains)")
    ] = None,
    asset_name: Annotated[
        str | None,
        typer.Option(
            "--asset-name", help="Asset of every row, e.g. USDT (default: the chain's coin)"
        ),
    ] = None,
    fmt: ReportFmt = None,
) -> None:
    """Import transactions of one chain, checking every record; bad ones go to quarantine.

    UTXO chains read Bitcoin Core JSON (getblock verbosity 2, getrawtransaction verbose, one
    object, an array, or one per line) and flat input/output CSVs (also Blockchair dumps);
    account chains read transfer CSVs whose columns --tx --from --to --value --time choose.
    With --format json the last stdout line is the import report (read = loaded +
    quarantined + duplicates).
    """
    from ctip.crypto.ingest import import_transactions

    output = resolve(fmt, listing=False)
    columns = {
        "tx": tx,
        "txid": tx,
        "from": from_,
        "to": to,
        "value": value,
        "time": time,
        "asset": asset,
    }
    with open_workspace(ctx, create=True) as workspace:
        report = import_transactions(
            workspace.engine, file, chain=chain, input_format=input_format, source=source, unit=unit,
            decimals=decimals, columns=columns, asset=asset_name,
        )  # fmt: skip
    for warning in report.warnings:
        note(f"[yellow]note:[/yellow] {warning}")
    if report.quarantined:
        note(
            f"{report.quarantined:,} records went to quarantine; see 'ctip quarantine list --import {report.import_id}'"
        )
    summary = (
        f"{report.file} ({report.input_format}, {report.chain}): read {report.read:,}, loaded {report.loaded:,},"
        f" quarantined {report.quarantined:,}, duplicates {report.duplicates:,}"
    )
    if output == "table":
        emit_object(report.as_dict(), output, title=summary)
    else:
        note(summary)
        emit_object(report.as_dict(), "json")


@app.command("cluster")
def cluster_command(
    ctx: typer.Context,
    keep_coinjoins: Annotated[
        bool,
        typer.Option("--keep-coinjoins", help="Do not exclude detected CoinJoins (not advised)"),
    ] = False,
    many_owners: Annotated[
        int,
        typer.Option(
            "--many-owners", min=3, help="Inputs and outputs that make a transaction multi-party"
        ),
    ] = 10,
    change: Annotated[
        str | None,
        typer.Option("--change", help="Change heuristics to add: fresh, optimal (off by default)"),
    ] = None,
    input_path: InputOption = None,
    output: OutputOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    fmt: ReportFmt = None,
) -> None:
    """Cluster addresses by the multi-input (co-spend) heuristic, CoinJoins excluded.

    Replaces the previous clustering. Change heuristics (--change fresh,optimal) add links but
    also wrong merges; they are off by default (see docs/crypto.md). With --input TXIO.parquet
    --output DIR it clusters a flat input/output table instead of the workspace, on DuckDB or
    Spark (--engine), writing each stage under DIR and resuming finished ones.
    """
    from ctip.crypto.cluster import ClusterParams, cluster_addresses

    heuristics = tuple(h.strip() for h in change.split(",") if h.strip()) if change else ()
    params = ClusterParams(
        exclude_coinjoins=not keep_coinjoins, many_owners=many_owners, change=heuristics
    )
    report_format = resolve(fmt, listing=False)
    if input_path is not None or output is not None or engine is not None:
        _cluster_job(ctx, params, input_path, output, engine, spark_master, report_format)
        return
    with open_workspace(ctx) as workspace:
        run = cluster_addresses(workspace.engine, params)
    note(
        f"{run.addresses:,} addresses in {run.clusters:,} clusters ({run.multi_address_clusters:,} with"
        f" several addresses, largest {run.largest:,}); CoinJoins excluded: {sum(run.coinjoins.values()):,}"
        f" ({run.seconds:.1f}s)"
    )
    emit_object(run.as_dict(), "json" if report_format != "table" else "table", title="Clustering")


def _cluster_job(
    ctx: typer.Context,
    params: ClusterParams,
    input_path: Path | None,
    output: Path | None,
    engine: str | None,
    spark_master: str | None,
    report_format: str,
) -> None:
    """``ctip crypto cluster --input ... --output ...``: the Parquet job (cluster_job.py)."""
    from ctip.cli.batch import job_engine, require_paths
    from ctip.cli.context import state
    from ctip.crypto.cluster_job import cluster_job

    source, target = require_paths(input_path, output)
    with job_engine(state(ctx).settings, engine, spark_master) as chosen:
        run = cluster_job(chosen, source, target, params)
    resumed = sum(1 for s in run["stages"] if s["resumed"])
    note(
        f"{run['addresses']:,} addresses in {run['clusters']:,} clusters"
        f" ({run['multi_address_clusters']:,} with several addresses, largest {run['largest']:,});"
        f" CoinJoins excluded: {sum(run['coinjoins'].values()):,}; {len(run['stages'])} stages on"
        f" {run['engine']} ({resumed} reused) in {target}"
    )
    emit_object(run, "json" if report_format != "table" else "table", title="Clustering job")


@app.command("clusters")
def clusters_command(
    ctx: typer.Context,
    min_size: Annotated[
        int, typer.Option("--min-size", min=1, help="Smallest cluster to list")
    ] = 2,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most clusters to list")] = 50,
    fmt: Fmt = None,
) -> None:
    """List clusters, largest first, with their attribution (label and category)."""
    with open_workspace(ctx, read_only=True) as workspace:
        rows = workspace.engine.records(
            "WITH sizes AS (SELECT cluster_id, count(*) AS addresses, any_value(a.chain) AS chain"
            "  FROM crypto_clusters JOIN crypto_addresses a USING (address_id) GROUP BY cluster_id"
            "  HAVING count(*) >= ?),"
            " tags AS (SELECT c.cluster_id, arg_max(t.label, coalesce(t.confidence_level, 0)) AS label,"
            "  arg_max(t.category, coalesce(t.confidence_level, 0)) AS category, count(*) AS tags"
            "  FROM crypto_tags t JOIN crypto_addresses a ON a.chain = t.chain AND a.address = t.address"
            "  JOIN crypto_clusters c USING (address_id) GROUP BY c.cluster_id)"
            " SELECT 'cluster:' || s.cluster_id AS cluster, s.chain, s.addresses, t.label, t.category,"
            " coalesce(t.tags, 0) AS tags FROM sizes s LEFT JOIN tags t USING (cluster_id)"
            " ORDER BY s.addresses DESC, s.cluster_id LIMIT ?",
            [min_size, limit],
        )
    emit_rows(rows, resolve(fmt), title="Clusters", empty="no clusters: run 'ctip crypto cluster'")


@app.command("show")
def show_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="An address or cluster:ID")],
    chain: Annotated[
        str | None, typer.Option("--chain", help="Chain, when the address exists on several")
    ] = None,
    fmt: ReportFmt = None,
) -> None:
    """Show an address or cluster: chain, cluster, size, tags, totals received and sent."""
    from ctip.crypto.summary import describe

    with open_workspace(ctx, read_only=True) as workspace:
        info = describe(workspace.engine, target, chain)
    emit_object(info, resolve(fmt, listing=False), title=target)


@tag_app.command("import")
def tag_import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="GraphSense TagPack (YAML)")],
    source: Annotated[
        str | None, typer.Option("--source", help="Name of the source (default: file name)")
    ] = None,
    fmt: ReportFmt = None,
) -> None:
    """Import attribution tags from a GraphSense TagPack (address, label, category, source,
    confidence); bad tags go to quarantine with their line number."""
    from ctip.crypto.tags import import_tagpack

    with open_workspace(ctx, create=True) as workspace:
        report = import_tagpack(workspace.engine, file, source=source)
    for warning in report.warnings:
        note(f"[yellow]note:[/yellow] {warning}")
    summary = f"{report.file}: read {report.read:,}, loaded {report.loaded:,}, quarantined {report.quarantined:,}, duplicates {report.duplicates:,}"
    note(summary)
    emit_object(
        report.as_dict(),
        "json" if resolve(fmt, listing=False) != "table" else "table",
        title=summary,
    )


@tag_app.command("list")
def tag_list_command(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option("--category", help="Only this category")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 200,
    fmt: Fmt = None,
) -> None:
    """List attribution tags, with the cluster each tagged address belongs to."""
    with open_workspace(ctx, read_only=True) as workspace:
        rows = workspace.engine.records(
            "SELECT t.chain, t.address, t.label, t.category, t.confidence, t.origin, t.tag_source AS source,"
            " c.cluster_id AS cluster FROM crypto_tags t LEFT JOIN crypto_addresses a"
            " ON a.chain = t.chain AND a.address = t.address LEFT JOIN crypto_clusters c USING (address_id)"
            " WHERE ? IS NULL OR t.category = ? ORDER BY t.category, t.label, t.address LIMIT ?",
            [category, category, limit],
        )
    emit_rows(
        rows,
        resolve(fmt),
        title="Tags",
        empty="no tags: import a TagPack with 'ctip crypto tag import'",
    )


@app.command("trace")
def trace_command(
    ctx: typer.Context,
    start: Annotated[str, typer.Argument(help="An address or cluster:ID")],
    direction: Annotated[
        str,
        typer.Option(
            "--direction", help="forward (where it went) or backward (where it came from)"
        ),
    ] = "forward",
    hops: Annotated[int, typer.Option("--hops", help="Transactions to follow")] = 3,
    policy: Annotated[str, typer.Option("--policy", help="poison, haircut or fifo")] = "haircut",
    since: Annotated[
        str | None, typer.Option("--since", help="Only transactions at or after this date")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only transactions before this date")
    ] = None,
    min_value: Annotated[
        float, typer.Option("--min-value", help="Drop flows carrying less than this")
    ] = 0.0,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Also find the shortest and highest-value paths to this address"),
    ] = None,
    chain: Annotated[
        str | None, typer.Option("--chain", help="Chain, when the address exists on several")
    ] = None,
    follow_tagged: Annotated[
        bool, typer.Option("--follow-tagged", help="Trace through tagged entities (exchanges ...)")
    ] = False,
    save: Annotated[
        str | None, typer.Option("--save", help="Keep the result under this name (for the report)")
    ] = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="json (everything), jsonl (one flow per line) or table"),
    ] = None,
) -> None:
    """Follow value forward or backward for N hops with a taint policy; flows, endpoints,
    summary by tagged category, and paths to --to."""
    from ctip.crypto.analyses import save as save_analysis
    from ctip.crypto.trace import TraceRequest, trace, trace_params

    request = TraceRequest(
        start=start, direction=direction, hops=hops, policy=policy, since=_when(since, "--since"),
        until=_when(until, "--until"), min_value=min_value, to=to, chain=chain, follow_tagged=follow_tagged,
    )  # fmt: skip
    with open_workspace(ctx, create=False, read_only=save is None) as workspace:
        result = trace(workspace.engine, request)
        if save:
            save_analysis(workspace.engine, "trace", save, trace_params(request), result)
    output = resolve(fmt, listing=False)
    summary = result["summary"]
    note(
        f"{summary['flows']:,} flows over {summary['transactions']:,} transactions to"
        f" {summary['addresses']:,} addresses ({request.policy}, {request.direction}, {request.hops} hops)"
    )
    if output == "json":
        print(to_json(result, indent=2))
    elif output == "jsonl":
        emit_rows(result["flows"], "jsonl")
    elif output == "csv":
        emit_rows(result["flows"], "csv")
    else:
        emit_object(summary, "table", title=f"Trace from {start}")
        emit_rows(result["categories"], "table", title="By category")
        emit_rows(result["endpoints"][:25], "table", title="Where the value is (top 25)")
        if result["paths"]:
            emit_object(result["paths"], "table", title=f"Paths to {to}")


@app.command("exposure")
def exposure_command(
    ctx: typer.Context,
    seeds: Annotated[
        Path,
        typer.Option(
            "--seeds",
            help="Known-bad addresses: text (one per line), CSV with 'address', or a TagPack",
        ),
    ],
    hops: Annotated[int, typer.Option("--hops", help="Hops of indirect exposure")] = 3,
    decay: Annotated[
        float, typer.Option("--decay", help="Weight of each hop after the first")
    ] = 0.5,
    level: Annotated[
        str, typer.Option("--level", help="address, or cluster (clusters as nodes)")
    ] = "address",
    by_category: Annotated[
        bool, typer.Option("--by-category", help="Summarise exposed tagged entities by category")
    ] = False,
    min_score: Annotated[
        float, typer.Option("--min-score", help="Leave out scores at or below this")
    ] = 0.0,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Most rows to print")] = None,
    chain: Annotated[
        str | None, typer.Option("--chain", help="Chain of the seeds, when ambiguous")
    ] = None,
    save: Annotated[
        str | None, typer.Option("--save", help="Keep the result under this name (for the report)")
    ] = None,
    input_path: InputOption = None,
    output: OutputOption = None,
    clusters: Annotated[
        Path | None,
        typer.Option(
            "--clusters", help="with --input and --level cluster: a clustering job's clusters"
        ),
    ] = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    fmt: Fmt = None,
) -> None:
    """Score every address by its exposure to the seeds: the share of value received from or
    sent to them within N hops, with decay; prints {"address", "score", ...} highest first.

    With --input TXIO.parquet --output DIR it scores a flat input/output table instead of the
    workspace, on DuckDB or Spark (--engine), writing each step of the walk under DIR and
    resuming finished ones; seeds are the input's address strings.
    """
    from ctip.crypto.analyses import save as save_analysis
    from ctip.crypto.exposure import by_category as group_by_category
    from ctip.crypto.exposure import exposure
    from ctip.crypto.lookup import read_seeds

    if level not in ("address", "cluster"):
        raise BadInputError(f"unknown level '{level}'", hint="use address or cluster")
    if input_path is not None or output is not None or engine is not None:
        workspace_only = {"--by-category": by_category, "--min-score": min_score != 0.0,
                          "--limit": limit is not None, "--chain": chain is not None,
                          "--save": save is not None}  # fmt: skip
        used = [name for name, given in workspace_only.items() if given]
        if used:
            raise BadInputError(
                f"{', '.join(used)} not available in Parquet jobs",
                hint="the job writes every score to DIR/exposure; filter it there",
            )
        _exposure_job(ctx, seeds, input_path, output, clusters, engine, spark_master,
                      hops=hops, decay=decay, level=level, report_format=resolve(fmt, listing=False))  # fmt: skip
        return
    if clusters is not None:
        raise BadInputError("--clusters goes with --input", hint="the workspace has its clusters")
    with open_workspace(ctx, read_only=save is None) as workspace:
        seed_ids, missing = read_seeds(workspace.engine, seeds, chain)
        rows = exposure(
            workspace.engine, seed_ids, hops=hops, decay=decay, level=level, min_score=min_score
        )
        categories = group_by_category(workspace.engine, rows) if by_category or save else []
        if save:
            params = {"seeds": str(seeds), "hops": hops, "decay": decay, "level": level}
            save_analysis(workspace.engine, "exposure", save,
                          params, {"seeds": int(seed_ids.shape[0]), "top": _clean(rows[:200]), "categories": categories})  # fmt: skip
    if missing:
        note(
            f"[yellow]note:[/yellow] {len(missing):,} seeds are not in the workspace (first: {missing[0]})"
        )
    note(
        f"{len(rows):,} addresses exposed to {seed_ids.shape[0]:,} seed addresses ({hops} hops, decay {decay})"
    )
    if by_category:
        emit_rows(
            categories,
            resolve(fmt),
            title="Exposed tagged entities",
            empty="no tagged entity is exposed",
        )
        return
    out = _clean(rows[:limit] if limit else rows)
    emit_rows(out, resolve(fmt), columns=["address", "score", "score_in", "score_out", "chain", "cluster",
                                           "exposed_received", "exposed_sent"], title="Exposure")  # fmt: skip


def _exposure_job(
    ctx: typer.Context,
    seeds: Path,
    input_path: Path | None,
    output: Path | None,
    clusters: Path | None,
    engine: str | None,
    spark_master: str | None,
    *,
    hops: int,
    decay: float,
    level: str,
    report_format: str,
) -> None:
    """``ctip crypto exposure --input ... --output ...``: the Parquet job (exposure_job.py)."""
    from ctip.cli.batch import job_engine, require_paths
    from ctip.cli.context import state
    from ctip.crypto.exposure_job import exposure_job

    source, target = require_paths(input_path, output)
    with job_engine(state(ctx).settings, engine, spark_master) as chosen:
        run = exposure_job(chosen, source, seeds, target, hops=hops, decay=decay, level=level,
                           clusters=clusters)  # fmt: skip
    resumed = sum(1 for s in run["stages"] if s["resumed"])
    note(
        f"{run['exposed']:,} addresses exposed to {run['seeds']:,} seeds ({run['seed_nodes']:,}"
        f" seed nodes with flows; {hops} hops, decay {decay}); {len(run['stages'])} stages on {run['engine']}"
        f" ({resumed} reused) in {target}"
    )
    emit_object(run, "json" if report_format != "table" else "table", title="Exposure job")


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "address_id"} for r in rows]


@app.command("link")
def link_command(ctx: typer.Context, fmt: Fmt = None) -> None:
    """Tag wallets found in ads and case records, and list the clusters they link to ad
    networks and cases."""
    from ctip.crypto.links import link_wallets, linked_clusters

    with open_workspace(ctx) as workspace:
        report = link_wallets(workspace.engine)
        rows = linked_clusters(workspace.engine)
    note(
        f"{report.ad_wallets:,} wallets from ads ({report.networks:,} networks), {report.case_wallets:,} from cases;"
        f" {report.in_workspace:,} appear in the transactions, in {report.clusters:,} clusters"
    )
    emit_rows(
        rows,
        resolve(fmt),
        title="Clusters linked to ads and cases",
        empty="no wallet from ads or cases is in the transactions",
    )


@app.command("export")
def export_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="FollowTheMoney JSON lines file to write")],
    trace_name: Annotated[
        str | None, typer.Option("--trace", help="Export this saved trace (default: every flow)")
    ] = None,
) -> None:
    """Export wallets (CryptoWallet), their holders (LegalEntity per cluster) and payments
    (Payment) as FollowTheMoney JSON lines, for Aleph and other FtM tools."""
    import json

    from ctip.crypto.analyses import load
    from ctip.crypto.ftm import ftm_entities

    with open_workspace(ctx, read_only=True) as workspace:
        flows = None
        chain = None
        if trace_name:
            saved = load(workspace.engine, "trace", trace_name)
            flows = saved["result"]["flows"]
            chain = saved["result"]["start"]["chain"]
        out.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with out.open("w", encoding="utf-8") as handle:
            for entity in ftm_entities(workspace.engine, flows, chain=chain):
                handle.write(json.dumps(entity, ensure_ascii=False, default=str) + "\n")
                count += 1
    note(f"wrote {count:,} FtM entities to {out}")


@app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Argument(help="Folder to write the files into")],
    transactions: Annotated[
        int, typer.Option("--transactions", min=100, help="How many transactions (or transfers)")
    ] = 20_000,
    chain: Annotated[str, typer.Option("--chain", help="btc (UTXO) or eth (account)")] = "btc",
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 1,
    layout: Annotated[
        str,
        typer.Option(
            "--layout", help="core-json, flat-csv or parquet (btc; parquet: for Parquet jobs)"
        ),
    ] = "core-json",
) -> None:
    """Write a synthetic chain with known owners: transactions, a TagPack of services, seed
    addresses (a sample of the ad networks' wallets) and the ground truth (never imported)."""
    from ctip.crypto.demo_data import write_generated

    files = write_generated(out, transactions=transactions, chain=chain, seed=seed, layout=layout)
    for kind, path in files.items():
        note(f"{kind}: {path}")

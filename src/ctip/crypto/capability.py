"""Crypto capability: the ``ctip crypto`` commands, the demo step and the report section."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from ctip.capabilities import DemoContext, ReportContext, Section

DEMO_TRANSACTIONS = 30_000
DEMO_TRANSFERS = 10_000


def register_cli(app: typer.Typer) -> None:
    from ctip.crypto.cli import app as crypto_app

    app.add_typer(crypto_app, name="crypto")
    register_ads_links()


def register_ads_links() -> None:
    """Let ads networks join ads whose wallets share a cluster (when the ads capability is here)."""
    try:
        from ctip.ads.service import register_link_source
    except ImportError:
        return
    from ctip.crypto.links import cluster_link_rows

    register_link_source(cluster_link_rows)


def report_sections(context: ReportContext) -> list[Section]:
    from ctip.crypto.report import sections

    return sections(context)


def _demo_ads(context: DemoContext, folder: Path, wallets: list[str]) -> str | None:
    """Publish the generated ad networks' wallets in a few synthetic ads, through the ads
    capability's own import and extraction, so the link is made the way real ads make it."""
    try:
        from ctip.ads.importer import import_ads
        from ctip.ads.network_service import run_networks
        from ctip.ads.service import run_extract
    except ImportError:
        return None
    lines = []
    for index, wallet in enumerate(wallets):
        for copy in range(2):
            lines.append(
                {
                    "id": f"crypto-demo-{index}-{copy}",
                    "title": f"New in town, discreet {index}",
                    "body": f"Deposit first, BTC only: {wallet}. Text 702-555-01{index % 10}{copy}.",
                    "site": "example-classifieds.test",
                    "location": "Las Vegas",
                    "posted_at": f"2022-01-{1 + index % 28:02d}T20:00:00",
                }
            )
    path = folder / "demo-ads-with-wallets.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    import_ads(context.workspace, path, source="generated ads with the demo chain's wallets")
    run_extract(context.workspace)
    run_networks(context.workspace)
    return str(path)


def demo(context: DemoContext) -> None:
    """Generate a small economy (BTC-style and ETH-style), import, cluster, tag, link to ads,
    trace from an ad network's wallet, score exposure, export FtM; leave figures for the report."""
    from ctip.crypto.analyses import save
    from ctip.crypto.cluster import cluster_addresses
    from ctip.crypto.demo_data import write_generated
    from ctip.crypto.exposure import by_category, exposure
    from ctip.crypto.ftm import ftm_entities
    from ctip.crypto.generate import generate_chain
    from ctip.crypto.generate_io import write_core_json, write_tagpack
    from ctip.crypto.ingest import import_transactions
    from ctip.crypto.links import link_wallets
    from ctip.crypto.lookup import read_seeds
    from ctip.crypto.tags import import_tagpack
    from ctip.crypto.trace import TraceRequest, trace, trace_params

    started = time.perf_counter()
    engine = context.workspace.engine
    folder = context.workspace.path / "demo-crypto"
    folder.mkdir(parents=True, exist_ok=True)
    chain = generate_chain(DEMO_TRANSACTIONS, seed=11, txs_per_block=100)
    blocks = write_core_json(chain, folder / "blocks.jsonl")
    tagpack = write_tagpack(chain, folder / "services.tagpack.yaml")
    imported = import_transactions(engine, blocks, chain="btc", source="generated demo chain (btc)")
    import_tagpack(engine, tagpack, source="generated service tags")
    eth = write_generated(folder / "eth", transactions=DEMO_TRANSFERS, chain="eth", seed=12)
    import_transactions(
        engine, eth["transactions"], chain="eth", source="generated demo transfers (eth)"
    )
    import_tagpack(engine, eth["tagpack"], source="generated service tags (eth)")
    run = cluster_addresses(engine)
    strings = chain.addresses()
    used = set(np.unique(chain.out_addr).tolist())
    ad_wallets = [str(strings[a]) for a in chain.ad_wallets if int(a) in used]
    ads_file = _demo_ads(context, folder, ad_wallets[:6])
    links = link_wallets(engine)
    start = ad_wallets[0]
    request = TraceRequest(start=start, direction="forward", hops=6, policy="haircut", chain="btc")
    result = trace(engine, request)
    save(engine, "trace", "demo: ad network wallet, forward", trace_params(request), result)
    fifo_request = TraceRequest(
        start=start, direction="backward", hops=4, policy="fifo", chain="btc"
    )
    save(
        engine,
        "trace",
        "demo: ad network wallet, backward",
        trace_params(fifo_request),
        trace(engine, fifo_request),
    )
    seeds_path = folder / "seeds.txt"
    rng = np.random.default_rng(3)
    bad = np.intersect1d(chain.bad_addresses(), np.array(sorted(used)))
    seeds_path.write_text(
        "\n".join(str(strings[a]) for a in rng.choice(bad, len(bad) // 3, replace=False)) + "\n"
    )
    seed_ids, _ = read_seeds(engine, seeds_path, "btc")
    rows = exposure(engine, seed_ids, hops=3)
    categories = by_category(engine, rows)
    cleaned = [{k: v for k, v in r.items() if k != "address_id"} for r in rows[:200]]
    save(
        engine,
        "exposure",
        "demo: ad network seeds",
        {"seeds": str(seeds_path), "hops": 3},
        {"seeds": int(seed_ids.shape[0]), "top": cleaned, "categories": categories},
    )
    ftm_path = folder / "trace-ftm.jsonl"
    with ftm_path.open("w", encoding="utf-8") as handle:
        for entity in ftm_entities(engine, result["flows"], chain="btc"):
            handle.write(json.dumps(entity, default=str) + "\n")
    seconds = round(time.perf_counter() - started, 1)
    summary: dict[str, Any] = {
        "transactions": imported.loaded,
        "clusters": run.clusters,
        "coinjoins_excluded": sum(run.coinjoins.values()),
        "ad_wallets_linked": links.in_workspace,
        "trace_start": start,
        "trace_flows": result["summary"]["flows"],
        "exposed_addresses": len(rows),
        "ftm": str(ftm_path),
        "ads_file": ads_file,
        "seconds": seconds,
    }
    context.results["crypto"] = summary
    context.say(
        f"crypto: {imported.loaded:,} generated BTC transactions and {DEMO_TRANSFERS:,} ETH transfers imported;"
        f" {run.clusters:,} clusters ({summary['coinjoins_excluded']:,} CoinJoins excluded);"
        f" {links.in_workspace:,} ad wallets linked; trace from {start[:14]}... gives"
        f" {result['summary']['flows']:,} flows; {len(rows):,} addresses exposed ({seconds}s)"
    )
    context.results.setdefault("next_steps", []).append(
        f"ctip crypto trace {start} --hops 6 --policy fifo --format table   # follow an ad network's money"
    )

"""Benchmark: crypto clustering, tracing and exposure, with accuracy on generated ground truth.

Steps (one run each; the machine is shared, so runs are kept few):

1. Generate a 1,000,000-transaction economy (``ctip.crypto.generate``) and load it straight
   into a workspace (Arrow inserts into the crypto tables, bypassing file parsing, which is
   measured separately on 100,000 transactions of Bitcoin Core JSON).
2. On that 1M-transaction graph: clustering accuracy (pairwise precision/recall against the
   owners; recall also against the pairs the co-spend heuristic can link at all), CoinJoin
   detection rate; ``trace`` 6 hops forward from 20 start addresses (haircut, fifo, poison);
   ``exposure`` from 30% of the ad networks' addresses with the ROC AUC of the other bad
   addresses against everyone else; the same AUC on a 200,000-transfer account chain.
3. Clustering at 10,000,000 transactions: the 1M economy loaded ten times as independent
   shards (fresh address strings and ids per shard, so 10M transactions and ~25M addresses),
   then ``cluster_addresses`` timed end to end (SQL, CoinJoin detection, connected components,
   writing every address's cluster).

Each timing has a baseline from the same run and workspace: one DuckDB aggregate pass over
the table the step reads (inputs for clustering, outputs for tracing and exposure), so the
ratio says how many "scans of the data" a step costs on whatever machine runs it.

Usage: python bench/crypto.py [--transactions 1000000] [--shards 10] [--skip-big]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ctip.crypto.cluster import cluster_addresses
from ctip.crypto.evaluate import pairwise_scores, roc_auc
from ctip.crypto.exposure import exposure
from ctip.crypto.generate import CATEGORIES, KINDS, GeneratedChain, bech32_p2wpkh, generate_chain
from ctip.crypto.generate_account import generate_transfers
from ctip.crypto.generate_io import write_core_json, write_tagpack
from ctip.crypto.ingest import import_transactions
from ctip.crypto.tags import import_tagpack
from ctip.crypto.trace import TraceRequest, trace
from ctip.engine.duckdb import DuckDBEngine
from ctip.settings import Settings
from ctip.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "crypto"
RESULTS = ROOT / "bench" / "results"
SAT = 1e8


def _hex_ids(count: int, seed: int) -> pa.Array:
    raw = np.random.default_rng(seed).integers(0, 256, size=(count, 32), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    text = np.empty((count, 64), dtype=np.uint8)
    text[:, 0::2] = digits[raw >> 4]
    text[:, 1::2] = digits[raw & 15]
    return pa.array(text.view("S64").ravel()).cast(pa.string())


def load_shard(engine: DuckDBEngine, chain: GeneratedChain, shard: int) -> None:
    """Insert one copy of the economy with its own ids and address strings."""
    tx_base = shard * chain.transactions
    address_base = shard * int(chain.addr_owner.shape[0])
    programs = np.random.default_rng(chain.seed + 1000 + shard).integers(
        0, 256, size=(chain.addr_owner.shape[0], 20), dtype=np.uint8
    )
    strings = bech32_p2wpkh(programs)
    tables = {
        "_a": pa.table(
            {
                "address_id": np.arange(chain.addr_owner.shape[0], dtype=np.int64)
                + address_base
                + 1,
                "address": pa.array(strings.astype(object)),
            }
        ),
        "_t": pa.table(
            {
                "tx_id": np.arange(chain.transactions, dtype=np.int64) + tx_base + 1,
                "txid": _hex_ids(chain.transactions, chain.seed + 2000 + shard),
                "time": chain.tx_time.astype(np.float64),
                "height": chain.tx_block,
                "coinbase": chain.tx_kind == KINDS.index("coinbase"),
            }
        ),
        "_o": pa.table(
            {
                "tx_id": chain.out_tx + tx_base + 1,
                "n": chain.out_n,
                "address_id": chain.out_addr + address_base + 1,
                "value": chain.out_value / SAT,
            }
        ),
        "_i": pa.table(
            {
                "tx_id": chain.in_tx + tx_base + 1,
                "n": chain.in_n,
                "prev_tx_id": chain.out_tx[chain.in_prev] + tx_base + 1,
                "prev_n": chain.out_n[chain.in_prev],
                "address_id": chain.in_addr + address_base + 1,
                "value": chain.in_value / SAT,
            }
        ),
    }
    for name, table in tables.items():
        engine.register(name, table)
    prov = "'bench', 'imp-bench', 'bench', 0"
    engine.sql(
        "INSERT INTO crypto_addresses SELECT address_id, 'btc', address, 'p2wpkh', 'imp-bench' FROM _a"
    )
    engine.sql("INSERT INTO crypto_txids SELECT tx_id, 'btc', txid FROM _t")
    engine.sql(
        "INSERT INTO crypto_transactions SELECT tx_id, 'btc', height, NULL, to_timestamp(time), coinbase,"
        f" {prov}, 0, current_timestamp FROM _t"
    )
    engine.sql(
        "INSERT INTO crypto_outputs SELECT tx_id, n, address_id, value, 'witness_v0_keyhash',"
        f" {prov}, current_timestamp FROM _o"
    )
    engine.sql(
        f"INSERT INTO crypto_inputs SELECT tx_id, n, prev_tx_id, prev_n, address_id, value, {prov},"
        " current_timestamp FROM _i"
    )
    for name in tables:
        engine.unregister(name)


def timed(step: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = step(*args, **kwargs)
    return time.perf_counter() - started, result


def scan(engine: DuckDBEngine, table: str) -> float:
    seconds, _ = timed(engine.scalar, f"SELECT sum(tx_id) + count(*) FROM {table}")
    return seconds


def open_fresh(name: str, memory: str) -> Workspace:
    path = WORK / name
    shutil.rmtree(path, ignore_errors=True)
    return Workspace.open(Settings(workspace=path, memory_limit=memory), create=True)


def clustering_accuracy(engine: DuckDBEngine, chain: GeneratedChain) -> dict[str, Any]:
    rows = engine.to_arrow("SELECT address_id, cluster_id FROM crypto_clusters ORDER BY address_id")
    cluster = np.empty(chain.addr_owner.shape[0], dtype=np.int64)
    cluster[rows["address_id"].to_numpy() - 1] = rows["cluster_id"].to_numpy()
    used = np.unique(chain.out_addr)
    scores = pairwise_scores(cluster[used], chain.addr_owner[used])
    # the pairs the co-spend heuristic could link at all: single-owner multi-input transactions
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    multi_party = np.isin(chain.tx_kind, [KINDS.index("coinjoin"), KINDS.index("payjoin")])
    keep = ~multi_party[chain.in_tx]
    tx, address = chain.in_tx[keep], chain.in_addr[keep]
    order = np.argsort(tx, kind="stable")
    tx, address = tx[order], address[order]
    first = np.r_[True, tx[1:] != tx[:-1]]
    head = address[np.maximum.accumulate(np.where(first, np.arange(tx.shape[0]), 0))]
    n = chain.addr_owner.shape[0]
    graph = coo_matrix((np.ones(tx.shape[0], np.int8), (address, head)), shape=(n, n))
    _, linkable = connected_components(graph, directed=False)
    bound = pairwise_scores(linkable[used], chain.addr_owner[used])
    flagged = set(
        engine.to_arrow("SELECT tx_id FROM crypto_coinjoins")["tx_id"].to_numpy().tolist()
    )
    coinjoins = np.flatnonzero(chain.tx_kind == KINDS.index("coinjoin")) + 1
    payjoins = np.flatnonzero(chain.tx_kind == KINDS.index("payjoin")) + 1
    false_flags = len(flagged - set(coinjoins.tolist()))
    return {
        "pairwise_precision": round(scores.precision, 5),
        "pairwise_recall": round(scores.recall, 5),
        "recall_of_linkable_pairs": round(
            pairwise_scores(
                cluster[used] * (n + 1) + linkable[used], chain.addr_owner[used]
            ).correct_pairs
            / max(bound.correct_pairs, 1),
            5,
        ),
        "mixed_clusters": scores.mixed_clusters,
        "coinjoins": int(coinjoins.shape[0]),
        "coinjoins_detected": int(sum(t in flagged for t in coinjoins.tolist())),
        "payjoins_undetectable": int(payjoins.shape[0]),
        "flagged_not_coinjoin": false_flags,
        "precision_without_multiparty_merges": _precision_without_missed(
            engine, chain, cluster, used, flagged
        ),
    }


def _precision_without_missed(
    engine: DuckDBEngine,
    chain: GeneratedChain,
    cluster: np.ndarray,
    used: np.ndarray,
    flagged: set[int],
) -> float:
    """Precision once the undetected multi-party transactions (CoinJoin misses, PayJoins)
    are also excluded: 1.0 means every false merge came through one of them."""
    missed = [
        int(t) + 1
        for t in np.flatnonzero(
            np.isin(chain.tx_kind, [KINDS.index("coinjoin"), KINDS.index("payjoin")])
        )
        if int(t) + 1 not in flagged
    ]
    engine.sql("CREATE OR REPLACE TABLE _missed AS SELECT unnest(?::BIGINT[]) AS tx_id", [missed])
    saved = engine.to_arrow("SELECT * FROM crypto_inputs SEMI JOIN _missed USING (tx_id)")
    engine.sql("DELETE FROM crypto_inputs WHERE tx_id IN (SELECT tx_id FROM _missed)")
    cluster_addresses(engine)
    rows = engine.to_arrow("SELECT address_id, cluster_id FROM crypto_clusters ORDER BY address_id")
    again = np.empty_like(cluster)
    again[rows["address_id"].to_numpy() - 1] = rows["cluster_id"].to_numpy()
    engine.register("_saved", saved)
    engine.sql("INSERT INTO crypto_inputs SELECT * FROM _saved")
    engine.unregister("_saved")
    engine.sql("DROP TABLE _missed")
    return round(pairwise_scores(again[used], chain.addr_owner[used]).precision, 6)


def bench_graph(chain: GeneratedChain, memory: str) -> dict[str, Any]:
    workspace = open_fresh("graph-1m", memory)
    engine = workspace.engine
    load_seconds, _ = timed(load_shard, engine, chain, 0)
    out: dict[str, Any] = {
        "transactions": chain.transactions,
        "load_seconds": round(load_seconds, 1),
    }
    strings = engine.to_arrow("SELECT address FROM crypto_addresses ORDER BY address_id")[
        "address"
    ].to_pylist()
    import_tagpack(engine, write_tagpack(chain, WORK / "services.yaml", strings=np.array(strings)))
    print("  loaded and tagged", file=sys.stderr, flush=True)
    baseline = scan(engine, "crypto_inputs")
    seconds, run = timed(cluster_addresses, engine)
    out["cluster"] = {"seconds": round(seconds, 2), "baseline_scan_seconds": round(baseline, 3),
                      "ratio_to_scan": round(seconds / baseline, 1), "clusters": run.clusters, "largest": run.largest}  # fmt: skip
    out["cluster"].update(clustering_accuracy(engine, chain))
    cluster_addresses(engine)  # restore the real clustering after the what-if
    print(f"  clustered: {out['cluster']}", file=sys.stderr, flush=True)
    used = np.unique(chain.out_addr)
    rng = np.random.default_rng(7)
    # five advertised ad-network wallets (busy: thousands of receipts) and five ordinary users
    # that spent something
    spenders = np.unique(chain.in_addr)
    users = spenders[chain.owner_category()[spenders] == CATEGORIES.index("user")]
    starts = [strings[a] for a in chain.ad_wallets[:5]] + [
        strings[a] for a in rng.choice(users, 5, replace=False)
    ]
    baseline = scan(engine, "crypto_outputs")
    out["trace"] = {"baseline_scan_seconds": round(baseline, 3)}
    for policy in ("haircut", "fifo", "poison"):
        times, flows = [], []
        for start in starts:
            seconds, result = timed(trace, engine, TraceRequest(start, hops=6, policy=policy))
            times.append(seconds)
            flows.append(result["summary"]["flows"])
        out["trace"][policy] = {
            "starts": len(starts), "hops": 6, "median_seconds": round(float(np.median(times)), 3),
            "max_seconds": round(max(times), 3), "median_flows": int(np.median(flows)), "max_flows": max(flows),
        }  # fmt: skip
        print(f"  trace {policy}: {out['trace'][policy]}", file=sys.stderr, flush=True)
    # the worst case: through every exchange and service, no threshold, from a busy ad wallet
    for policy in ("fifo", "haircut"):
        request = TraceRequest(starts[0], hops=6, policy=policy, follow_tagged=True)
        seconds, result = timed(trace, engine, request)
        out["trace"][f"{policy}_follow_tagged"] = {
            "seconds": round(seconds, 1),
            "flows": result["summary"]["flows"],
        }
        print(f"  worst case {policy}: {seconds:.0f}s", file=sys.stderr, flush=True)
    bad = np.array([o.bad for o in chain.owners])[chain.addr_owner]
    bad_used = used[bad[used]]
    seeds = rng.choice(bad_used, size=int(bad_used.shape[0] * 0.3), replace=False)
    seconds, rows = timed(exposure, engine, np.array(seeds + 1, dtype=np.int64), hops=3)
    score = {int(r["address_id"]): float(r["score"]) for r in rows}
    rest = used[~np.isin(used, seeds)]
    values = np.array([score.get(int(a) + 1, 0.0) for a in rest])
    out["exposure"] = {
        "seconds": round(seconds, 2), "ratio_to_scan": round(seconds / baseline, 1), "seeds": int(seeds.shape[0]),
        "scored": len(rows), "hops": 3, "decay": 0.5, "roc_auc_btc": round(roc_auc(values, bad[rest]), 4),
        "bad_evaluated": int(bad[rest].sum()), "ordinary_evaluated": int((~bad[rest]).sum()),
    }  # fmt: skip
    workspace.close()
    return out


def bench_account(transfers: int, memory: str) -> dict[str, Any]:
    generated = generate_transfers(transfers, seed=41)
    path = generated.write_csv(WORK / "transfers.csv")
    workspace = open_fresh("account", memory)
    engine = workspace.engine
    seconds, report = timed(import_transactions, engine, path, chain="eth")
    names = generated.addresses()
    ids = dict(engine.rows("SELECT address, address_id FROM crypto_addresses"))
    used = np.unique(np.concatenate([generated.source, generated.target]))
    bad = np.array([o.bad for o in generated.owners])[generated.addr_owner]
    rng = np.random.default_rng(8)
    bad_used = used[bad[used]]
    seeds = rng.choice(bad_used, size=int(bad_used.shape[0] * 0.3), replace=False)
    exposure_seconds, rows = timed(
        exposure, engine, np.array([ids[names[a]] for a in seeds]), hops=3
    )
    score = {r["address"]: float(r["score"]) for r in rows}
    rest = used[~np.isin(used, seeds)]
    auc = roc_auc(np.array([score.get(names[a], 0.0) for a in rest]), bad[rest])
    times = []
    for start in [names[a] for a in generated.ad_wallets]:
        trace_seconds, _ = timed(trace, engine, TraceRequest(start, hops=6, policy="haircut"))
        times.append(trace_seconds)
    workspace.close()
    return {
        "transfers": report.loaded, "import_seconds": round(seconds, 2), "exposure_seconds": round(exposure_seconds, 2),
        "roc_auc_eth": round(auc, 4), "trace_6_hops_median_seconds": round(float(np.median(times)), 3),
    }  # fmt: skip


def bench_import(chain: GeneratedChain, memory: str) -> dict[str, Any]:
    path = write_core_json(chain, WORK / "import.jsonl")
    workspace = open_fresh("import", memory)
    seconds, report = timed(import_transactions, workspace.engine, path, chain="btc")
    workspace.close()
    return {"transactions": report.loaded, "file_mib": round(path.stat().st_size / 2**20, 1),
            "seconds": round(seconds, 1), "transactions_per_second": round(report.loaded / seconds)}  # fmt: skip


def bench_big(chain: GeneratedChain, shards: int, memory: str) -> dict[str, Any]:
    workspace = open_fresh("cluster-10m", memory)
    engine = workspace.engine
    load_seconds = 0.0
    for shard in range(shards):
        seconds, _ = timed(load_shard, engine, chain, shard)
        load_seconds += seconds
        print(f"  shard {shard + 1}/{shards} loaded ({load_seconds:.0f}s)", file=sys.stderr)
    baseline = scan(engine, "crypto_inputs")
    seconds, run = timed(cluster_addresses, engine)
    result = {
        "transactions": int(engine.scalar("SELECT count(*) FROM crypto_transactions")),
        "inputs": int(engine.scalar("SELECT count(*) FROM crypto_inputs")),
        "outputs": int(engine.scalar("SELECT count(*) FROM crypto_outputs")),
        "addresses": run.addresses, "clusters": run.clusters, "coinjoins_excluded": sum(run.coinjoins.values()),
        "load_seconds": round(load_seconds, 1), "cluster_seconds": round(seconds, 1),
        "baseline_scan_seconds": round(baseline, 2), "ratio_to_scan": round(seconds / baseline, 1),
        "goal_seconds": 60, "met": seconds <= 60,
    }  # fmt: skip
    workspace.close()
    shutil.rmtree(WORK / "cluster-10m", ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--transfers", type=int, default=200_000)
    parser.add_argument(
        "--memory", default="8GB", help="DuckDB memory limit (the machine is shared)"
    )
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seconds, chain = timed(generate_chain, args.transactions, seed=2026, txs_per_block=2000)
    print(f"generated {chain.transactions:,} transactions in {seconds:.0f}s", file=sys.stderr)
    result: dict[str, Any] = {
        "benchmark": "crypto",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()};"
        f" shared with other engineers' work (load average at start {os.getloadavg()[0]:.1f})",
        "generate_seconds": round(seconds, 1),
    }
    result["import"] = bench_import(
        generate_chain(100_000, seed=7, txs_per_block=2000), args.memory
    )
    print(f"import: {result['import']}", file=sys.stderr)
    result["graph_1m"] = bench_graph(chain, args.memory)
    print(f"graph: {json.dumps(result['graph_1m'])}", file=sys.stderr)
    result["account"] = bench_account(args.transfers, args.memory)
    print(f"account: {result['account']}", file=sys.stderr)
    if not args.skip_big:
        result["cluster_10m"] = bench_big(chain, args.shards, args.memory)
        print(f"10M: {result['cluster_10m']}", file=sys.stderr)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["total_seconds"] = round(time.perf_counter() - started)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crypto.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    write_markdown(result)
    print(json.dumps(result, indent=2))
    return 0


def write_markdown(result: dict[str, Any]) -> None:
    graph, big = result["graph_1m"], result.get("cluster_10m")
    lines = [
        f"# Crypto benchmark ({result['date']})",
        "",
        f"Machine: {result['machine']}. One run of each step; timings on a shared machine vary.",
        "",
        "| step | figure | goal |",
        "|---|---|---|",
    ]
    if big:
        lines.append(
            f"| cluster {big['transactions']:,} transactions ({big['addresses']:,} addresses) |"
            f" {big['cluster_seconds']} s ({big['ratio_to_scan']}x one scan of the inputs) | <= 60 s |"
        )
    for policy in ("haircut", "fifo", "poison"):
        t = graph["trace"][policy]
        lines.append(
            f"| trace 6 hops forward, {policy}, 1M-transaction graph | median {t['median_seconds']} s,"
            f" max {t['max_seconds']} s (median {t['median_flows']:,} flows) | <= 2 s |"
        )
    for policy in ("fifo", "haircut"):
        worst = graph["trace"].get(f"{policy}_follow_tagged")
        if worst:
            lines.append(
                f"| worst case: {policy} through every service (--follow-tagged) from a busy ad wallet |"
                f" {worst['seconds']} s ({worst['flows']:,} flows) | |"
            )
    e = graph["exposure"]
    lines += [
        f"| exposure, 1M-transaction graph, {e['seeds']:,} seeds, 3 hops | {e['seconds']} s | |",
        f"| exposure ROC AUC, bad vs ordinary (BTC-style, 1M) | {e['roc_auc_btc']} | >= 0.8 |",
        f"| exposure ROC AUC (ETH-style, {result['account']['transfers']:,} transfers) | {result['account']['roc_auc_eth']} | >= 0.8 |",
        f"| clustering pairwise precision (1M) | {graph['cluster']['pairwise_precision']} | |",
        f"| precision with undetected multi-party txs also excluded | {graph['cluster']['precision_without_multiparty_merges']} | 1.0 |",
        f"| clustering pairwise recall / recall of co-spend-linkable pairs | {graph['cluster']['pairwise_recall']} / {graph['cluster']['recall_of_linkable_pairs']} | |",
        f"| CoinJoins detected | {graph['cluster']['coinjoins_detected']:,} of {graph['cluster']['coinjoins']:,} | |",
        f"| import Bitcoin Core JSON | {result['import']['transactions_per_second']:,} tx/s ({result['import']['file_mib']} MiB) | |",
        "",
        "Full figures: `bench/results/crypto.json`. Command: `.venv/bin/python bench/crypto.py`.",
    ]  # fmt: skip
    (RESULTS / "crypto.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())

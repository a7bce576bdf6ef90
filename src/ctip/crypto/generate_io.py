"""Write a generated economy in the formats CTIP imports: Bitcoin Core JSON, flat CSV, TagPacks.

The files are what a real export looks like (``getblock`` verbosity 2 objects one per line, or
``getrawtransaction`` objects), so the demo and the tests exercise the same import path as an
analyst's node dump. The ground truth (owner and category per address) is written separately
and never imported.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ctip.crypto.generate import CATEGORIES, KINDS, SAT, GeneratedChain

TAG_CATEGORIES = {
    "exchange": "exchange",
    "mixer": "mixing_service",
    "coordinator": "coinjoin",
    "miner": "miner",
    "merchant": "shop",
}


def _coins(satoshi: int) -> float:
    return round(satoshi / SAT, 8)


def _transactions(
    chain: GeneratedChain, txids: list[str], strings: np.ndarray
) -> list[dict[str, Any]]:
    """Core-shaped transaction objects in chain order (inputs spend only earlier outputs)."""
    out_order = np.argsort(chain.out_tx, kind="stable")
    in_order = np.argsort(chain.in_tx, kind="stable")
    out_bounds = np.searchsorted(chain.out_tx[out_order], np.arange(chain.transactions + 1))
    in_bounds = np.searchsorted(chain.in_tx[in_order], np.arange(chain.transactions + 1))
    prev_tx = chain.out_tx[chain.in_prev]
    prev_n = chain.out_n[chain.in_prev]
    records = []
    for tx in range(chain.transactions):
        vin: list[dict[str, Any]]
        if chain.tx_kind[tx] == KINDS.index("coinbase"):
            vin = [{"coinbase": f"03{tx:06x}", "sequence": 4294967295}]
        else:
            vin = [
                {
                    "txid": txids[int(prev_tx[i])],
                    "vout": int(prev_n[i]),
                    "scriptSig": {"asm": "", "hex": ""},
                    "sequence": 4294967293,
                }
                for i in in_order[in_bounds[tx] : in_bounds[tx + 1]]
            ]
        vout = [
            {
                "value": _coins(int(chain.out_value[o])),
                "n": int(chain.out_n[o]),
                "scriptPubKey": {
                    "address": str(strings[chain.out_addr[o]]),
                    "type": "witness_v0_keyhash",
                },
            }
            for o in out_order[out_bounds[tx] : out_bounds[tx + 1]]
        ]
        records.append({"txid": txids[tx], "version": 2, "locktime": 0, "vin": vin, "vout": vout})
    return records


def write_core_json(chain: GeneratedChain, path: Path, *, blocks: bool = True) -> Path:
    """``getblock HASH 2`` objects one per line (``blocks``), else ``getrawtransaction`` ones."""
    txids = chain.txids()
    strings = chain.addresses()
    records = _transactions(chain, txids, strings)
    rng = np.random.default_rng(chain.seed + 31)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        if not blocks:
            for tx, record in enumerate(records):
                record.update(
                    blockhash=_hex(rng),
                    blocktime=int(chain.tx_time[tx]),
                    time=int(chain.tx_time[tx]),
                )
                handle.write(json.dumps(record) + "\n")
            return path
        bounds = np.flatnonzero(np.diff(chain.tx_block, prepend=-1, append=-1))
        for start, end in itertools.pairwise(bounds):
            height = int(chain.tx_block[start])
            block = {
                "hash": _hex(rng),
                "height": height,
                "time": int(chain.tx_time[end - 1]),
                "nTx": int(end - start),
                "tx": records[start:end],
            }
            handle.write(json.dumps(block) + "\n")
    return path


def _hex(rng: np.random.Generator) -> str:
    return bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()


def write_flat_csv(chain: GeneratedChain, path: Path) -> Path:
    """CTIP's flat layout: one row per input (with its outpoint) or output."""
    txids = chain.txids()
    strings = chain.addresses()
    prev_tx, prev_n = chain.out_tx[chain.in_prev], chain.out_n[chain.in_prev]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["txid", "side", "n", "address", "value", "prev_txid", "prev_n", "time", "block_height"]
        )
        for o in range(chain.out_tx.shape[0]):
            tx = int(chain.out_tx[o])
            writer.writerow(
                [txids[tx], "out", int(chain.out_n[o]), strings[chain.out_addr[o]],
                 f"{chain.out_value[o] / SAT:.8f}", "", "", int(chain.tx_time[tx]), int(chain.tx_block[tx])]
            )  # fmt: skip
        for i in range(chain.in_tx.shape[0]):
            tx = int(chain.in_tx[i])
            writer.writerow(
                [txids[tx], "in", int(chain.in_n[i]), "", "", txids[int(prev_tx[i])], int(prev_n[i]),
                 int(chain.tx_time[tx]), int(chain.tx_block[tx])]
            )  # fmt: skip
    return path


def write_tagpack(
    chain: GeneratedChain,
    path: Path,
    *,
    share: float = 0.3,
    seed: int = 5,
    strings: np.ndarray | None = None,
) -> Path:
    """A GraphSense TagPack naming services (exchanges, mixer, coordinator, pool, shops).

    A share of each service's addresses is tagged, as public tag sources cover services only
    partly; clustering spreads the tags to the rest.
    """
    rng = np.random.default_rng(seed)
    strings = chain.addresses() if strings is None else strings
    used = np.zeros(chain.addr_owner.shape[0], dtype=bool)
    used[chain.out_addr] = True
    tags = []
    for owner_id, owner in enumerate(chain.owners):
        category = TAG_CATEGORIES.get(owner.category)
        if category is None or (owner.category == "merchant" and owner_id % 5):
            continue
        addresses = np.flatnonzero((chain.addr_owner == owner_id) & used)
        if addresses.size == 0:
            continue
        count = max(1, int(addresses.size * share))
        for address in rng.choice(addresses, size=min(count, 50), replace=False):
            tags.append(
                {
                    "address": str(strings[address]),
                    "label": owner.name.replace("-", " ").title(),
                    "category": category,
                }
            )
    document = {
        "title": "Generated service attributions (synthetic)",
        "creator": "CTIP synthetic chain generator",
        "description": "Tags for the generated demo economy; no real entity is named.",
        "is_public": False,
        "currency": chain.chain.upper(),
        "network": chain.chain.upper(),
        "source": "https://example.org/ctip-synthetic",
        "confidence": "service_data",
        "lastmod": "2026-01-01",
        "tags": tags,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def write_ground_truth(chain: GeneratedChain, path: Path) -> Path:
    """address, owner, category, bad: for scoring, never for import."""
    strings = chain.addresses()
    category = chain.owner_category()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["address", "owner", "category", "bad"])
        for address in np.unique(chain.out_addr):
            owner = chain.owners[int(chain.addr_owner[address])]
            writer.writerow(
                [strings[address], owner.name, CATEGORIES[category[address]], int(owner.bad)]
            )
    return path

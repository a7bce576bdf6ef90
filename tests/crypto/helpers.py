"""Small hand-made chains for exact checks: valid addresses, Bitcoin Core-shaped JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ctip.ads.wallets import bech32_encode as segwit_encode
from ctip.engine.duckdb import DuckDBEngine

START = 1_640_995_200


def address(index: int) -> str:
    """A valid bech32 P2WPKH address for a small number (fake: the program is the number)."""
    return segwit_encode("bc", 0, bytes([index % 256]) * 19 + bytes([index // 256]))


def txid(name: str) -> str:
    return (name.encode().hex() * 64)[:64]


def tx(
    name: str,
    inputs: list[tuple[str, int]],
    outputs: list[tuple[int, float]],
    time: int,
) -> dict[str, Any]:
    """A getrawtransaction-style object; inputs name (tx name, output index)."""
    vin: list[dict[str, Any]] = (
        [{"txid": txid(t), "vout": n, "sequence": 4294967295} for t, n in inputs]
        if inputs
        else [{"coinbase": "03abcd", "sequence": 4294967295}]
    )
    vout = [
        {
            "value": value,
            "n": n,
            "scriptPubKey": {"address": address(a), "type": "witness_v0_keyhash"},
        }
        for n, (a, value) in enumerate(outputs)
    ]
    return {
        "txid": txid(name),
        "vin": vin,
        "vout": vout,
        "blocktime": START + time,
        "time": START + time,
    }


# A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7
SMALL_CHAIN = [
    tx("T0", [], [(1, 10.0)], 0),
    tx("T0b", [], [(2, 10.0)], 1),
    tx("T1", [("T0", 0), ("T0b", 0)], [(3, 12.0), (4, 7.9)], 10),
    tx("T2", [("T1", 1)], [(5, 5.0), (6, 2.8)], 20),
    tx("T3", [("T1", 0)], [(7, 11.9)], 30),
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def load_small_chain(engine: DuckDBEngine, folder: Path) -> None:
    from ctip.crypto.ingest import import_transactions

    import_transactions(engine, write_jsonl(folder / "small.jsonl", SMALL_CHAIN), chain="btc")


def by_address(flows: list[dict[str, Any]]) -> dict[str, float]:
    """Attributed value per receiving address (summed over transactions)."""
    out: dict[str, float] = {}
    for flow in flows:
        out[flow["to"]] = out.get(flow["to"], 0.0) + flow["attributed"]
    return out


def by_source(flows: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for flow in flows:
        out[flow["from"]] = out.get(flow["from"], 0.0) + flow["attributed"]
    return out

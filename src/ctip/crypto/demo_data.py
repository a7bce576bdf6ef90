"""Files for a generated chain: transactions, a TagPack of services, seeds and ground truth.

Shared by ``ctip crypto generate``, the demo step and the benchmark. The seeds are a sample
(30%) of the ad networks' addresses that appear in the transactions; the ground truth names
each address's owner and category and is for scoring only.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

from ctip.crypto.generate import CATEGORIES, generate_chain
from ctip.crypto.generate_account import GeneratedTransfers, generate_transfers
from ctip.crypto.generate_io import (
    write_core_json,
    write_flat_csv,
    write_ground_truth,
    write_tagpack,
)
from ctip.crypto.generate_parquet import truth_table, write_txio_parquet
from ctip.errors import BadInputError

SEED_SHARE = 0.3


def _write_lines(path: Path, lines: list[str], header: str) -> Path:
    path.write_text(f"# {header}\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_generated(
    out: Path, *, transactions: int, chain: str = "btc", seed: int = 1, layout: str = "core-json"
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 99)
    if chain == "eth":
        transfers = generate_transfers(transactions, seed=seed)
        files = {"transactions": transfers.write_csv(out / "transfers.csv")}
        names = transfers.addresses()
        files["tagpack"] = _account_tagpack(transfers, names, out / "tagpack.yaml")
        bad = np.intersect1d(
            transfers.bad_addresses(), np.concatenate([transfers.source, transfers.target])
        )
        files["ad_wallets"] = _write_lines(
            out / "ad-wallets.txt",
            [names[a] for a in transfers.ad_wallets],
            "wallets published in ads (synthetic)",
        )
        files["seeds"] = _write_lines(out / "seeds.txt", [names[a] for a in rng.choice(bad, max(1, int(len(bad) * SEED_SHARE)), replace=False)], "known-bad seed addresses (synthetic)")  # fmt: skip
        files["truth"] = _account_truth(transfers, names, out / "truth.csv")
        return files
    if chain != "btc":
        raise BadInputError(f"the generator makes btc or eth data, not {chain}")
    generated = generate_chain(transactions, seed=seed)
    if layout == "core-json":
        files = {"transactions": write_core_json(generated, out / "blocks.jsonl")}
    elif layout == "flat-csv":
        files = {"transactions": write_flat_csv(generated, out / "inputs-outputs.csv")}
    elif layout == "parquet":
        files = {"transactions": write_txio_parquet(generated, out / "txio.parquet")}
    else:
        raise BadInputError(f"unknown layout '{layout}'", hint="use core-json, flat-csv or parquet")
    strings = generated.addresses()
    used = np.unique(generated.out_addr)
    bad = np.intersect1d(generated.bad_addresses(), used)
    files["tagpack"] = write_tagpack(generated, out / "tagpack.yaml")
    files["ad_wallets"] = _write_lines(
        out / "ad-wallets.txt",
        [str(strings[a]) for a in generated.ad_wallets],
        "wallets published in ads (synthetic)",
    )
    files["seeds"] = _write_lines(out / "seeds.txt", [str(strings[a]) for a in rng.choice(bad, max(1, int(len(bad) * SEED_SHARE)), replace=False)], "known-bad seed addresses (synthetic)")  # fmt: skip
    if layout == "parquet":  # millions of addresses: written vectorised
        files["truth"] = out / "truth.parquet"
        pq.write_table(truth_table(generated), files["truth"])
    else:
        files["truth"] = write_ground_truth(generated, out / "truth.csv")
    return files


def _account_tagpack(transfers: GeneratedTransfers, names: list[str], path: Path) -> Path:
    used = np.unique(np.concatenate([transfers.source, transfers.target]))
    tags = []
    for address in used:
        owner = transfers.owners[int(transfers.addr_owner[address])]
        if owner.category in ("exchange", "mixer") and (
            owner.category == "mixer" or address % 3 == 0
        ):
            category = "exchange" if owner.category == "exchange" else "mixing_service"
            tags.append(
                {
                    "address": names[address],
                    "label": owner.name.replace("-", " ").title(),
                    "category": category,
                }
            )
    document = {
        "title": "Generated service attributions (synthetic)", "creator": "CTIP synthetic chain generator",
        "is_public": False, "currency": "ETH", "network": "ETH", "source": "https://example.org/ctip-synthetic",
        "confidence": "service_data", "tags": tags,
    }  # fmt: skip
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _account_truth(transfers: GeneratedTransfers, names: list[str], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["address", "owner", "category", "bad"])
        for address in np.unique(np.concatenate([transfers.source, transfers.target])):
            owner = transfers.owners[int(transfers.addr_owner[address])]
            assert owner.category in CATEGORIES
            writer.writerow([names[address], owner.name, owner.category, int(owner.bad)])
    return path

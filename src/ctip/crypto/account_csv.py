"""Account-chain transfers (Ethereum and other EVM chains, Tron) from exchange or explorer CSVs.

Exports name their columns differently (Etherscan's ``Txhash``, ``From``, ``To``,
``Value_IN(ETH)``, ``UnixTimestamp``; exchange returns with ``sender``/``receiver``), so the
columns are chosen with ``--tx --from --to --value --time`` (and optionally ``--asset``,
``--block``), falling back to common names. One row is one transfer. Rows of failed
transactions (an ``isError`` of 1 or a ``Status`` starting with "Error", as explorers write
them) moved no value: they are quarantined with that reason rather than stored as flows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctip.crypto.addresses import EVM_CHAINS, check_address, why_invalid
from ctip.crypto.cells import find_column, parse_amount, parse_time
from ctip.crypto.store import Rejected, error
from ctip.errors import BadInputError
from ctip.ingest.readers import ROW_COLUMN, SourceTable

ALIASES: dict[str, tuple[str, ...]] = {
    "tx": ("tx", "txhash", "tx_hash", "hash", "transaction_hash", "txid", "transaction_id"),
    "from": ("from", "from_address", "sender", "source_address", "src"),
    "to": ("to", "to_address", "receiver", "recipient", "destination_address", "dst"),
    "value": ("value", "amount", "quantity", "value_in_eth", "token_value"),
    "time": (
        "time",
        "timestamp",
        "unixtimestamp",
        "block_timestamp",
        "datetime_utc",
        "datetime",
        "date_time",
        "date",
    ),
    "asset": ("asset", "token", "token_symbol", "symbol", "currency"),
    "block": ("block", "blockno", "block_number", "block_height", "blocknumber"),
    "error": ("iserror", "is_error", "status", "txreceipt_status"),
}
EVM_TX = re.compile(r"^0x[0-9a-fA-F]{64}$")


@dataclass
class TransferBatch:
    columns: dict[str, list[Any]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "txid",
                "from_address",
                "from_kind",
                "to_address",
                "to_kind",
                "value",
                "asset",
                "block_time",
                "block_height",
                "row_number",
            )
        }
    )
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0
    address_errors: int = 0


def _failed(column: str | None, text: str) -> bool:
    if column is None or not text:
        return False
    lowered = text.strip().lower()
    if column.strip().lower().replace("_", "") == "iserror":
        return lowered == "1"
    if column.strip().lower() == "txreceipt_status":
        return lowered == "0"
    return lowered.startswith(("error", "fail"))


def parse_transfers(
    source: SourceTable,
    path: Path,
    chain: str,
    choices: dict[str, str | None],
    scale: float,
    default_asset: str,
) -> TransferBatch:
    name = str(path)
    found = {
        key: find_column(source.columns, choices.get(key), aliases, what=f"--{key}", path=name)
        for key, aliases in ALIASES.items()
    }
    for key in ("tx", "from", "to", "value", "time"):
        if found[key] is None:
            raise BadInputError(
                f"{name}: no column for {key}",
                hint=f"choose it with --{key} COLUMN (the columns are: {', '.join(source.columns[:20])})",
            )
    batch = TransferBatch(read=source.read)
    for rejected in source.rejected:
        batch.rejected.append(
            Rejected(rejected.row_number, rejected.raw, [error(None, None, None, rejected.reason)])
        )
    out = batch.columns
    for row in source.table.to_pylist():
        cells = {k: str(row.get(c) or "").strip() if c else "" for k, c in found.items()}
        problems: list[dict[str, str | None]] = []
        tx = cells["tx"]
        if not tx or (chain in EVM_CHAINS and not EVM_TX.match(tx)):
            problems.append(
                error(
                    found["tx"],
                    "tx",
                    tx,
                    "not a transaction hash (0x and 64 hex digits)"
                    if chain in EVM_CHAINS
                    else "no transaction id",
                )
            )
        ends = []
        for key in ("from", "to"):
            checked = check_address(chain, cells[key]) if cells[key] else None
            if checked is None:
                batch.address_errors += 1
                problems.append(error(found[key], key, cells[key], why_invalid(chain, cells[key])))
            ends.append(checked)
        value = parse_amount(cells["value"], scale)
        if value is None:
            problems.append(
                error(found["value"], "value", cells["value"], "not a non-negative amount")
            )
        time = parse_time(cells["time"])
        if time is None:
            problems.append(
                error(found["time"], "time", cells["time"], "not a date-time or Unix time")
            )
        block = cells["block"]
        if block and not block.isdigit():
            problems.append(error(found["block"], "block", block, "not a block number"))
        if _failed(found["error"], cells["error"]):
            problems.append(
                error(
                    found["error"], "status", cells["error"], "failed transaction: no value moved"
                )
            )
        if problems:
            batch.rejected.append(
                Rejected(
                    int(row[ROW_COLUMN]),
                    {k: v for k, v in row.items() if k != ROW_COLUMN},
                    problems,
                )
            )
            continue
        sender, receiver = ends
        assert sender is not None and receiver is not None
        for key, item in (
            ("txid", tx.lower() if chain in EVM_CHAINS else tx),
            ("from_address", sender.address),
            ("from_kind", sender.kind),
            ("to_address", receiver.address),
            ("to_kind", receiver.kind),
            ("value", value),
            ("asset", cells["asset"] or default_asset),
            ("block_time", time),
            ("block_height", int(block) if block else None),
            ("row_number", int(row[ROW_COLUMN])),
        ):
            out[key].append(item)
    return batch

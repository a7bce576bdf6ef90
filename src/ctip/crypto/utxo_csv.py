"""Flat input/output tables for UTXO chains: CTIP's own layout and Blockchair dumps.

CTIP's layout is one row per input or output::

    txid, side (in|out), n, address, value, prev_txid, prev_n, time, block_height

``n`` defaults to the order of appearance within the transaction and side; an input may give
its ``address`` and ``value`` directly or only the outpoint it spends (``prev_txid``,
``prev_n``), which is linked when that output is imported. Column names are matched loosely
(``tx_hash``, ``direction``, ``amount``, ``timestamp`` ... work too).

Blockchair's database dumps (``outputs`` and ``inputs``, tab-separated) have one row per output
with the transaction that later spent it (``spending_transaction_hash``, ``spending_index``);
such a row yields the output and, when spent, the input of the spending transaction. Their
values are in satoshi.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ctip.crypto.addresses import check_address, why_invalid
from ctip.crypto.cells import find_column, parse_amount, parse_time
from ctip.crypto.core_json import HEX64, UtxoBatch
from ctip.crypto.store import Rejected, error
from ctip.errors import BadInputError
from ctip.ingest.readers import ROW_COLUMN, SourceTable

ALIASES: dict[str, tuple[str, ...]] = {
    "txid": ("txid", "tx_id", "tx", "tx_hash", "hash", "transaction_hash", "transaction"),
    "side": ("side", "direction", "io", "in_out", "kind"),
    "n": ("n", "index", "position", "vout", "vin", "output_index", "input_index"),
    "address": ("address", "addr", "recipient"),
    "value": ("value", "amount", "value_btc", "amount_btc"),
    "prev_txid": ("prev_txid", "prev_tx", "prev_hash", "prevout_txid", "spent_txid"),
    "prev_n": ("prev_n", "prev_vout", "prev_index", "prevout_n", "spent_index"),
    "time": ("time", "block_time", "blocktime", "timestamp", "date"),
    "block": ("block_height", "height", "block", "block_id"),
    "coinbase": ("is_coinbase", "coinbase", "is_from_coinbase"),
}
SIDES = {
    "in": "in",
    "input": "in",
    "vin": "in",
    "i": "in",
    "out": "out",
    "output": "out",
    "vout": "out",
    "o": "out",
}
BLOCKCHAIR_COLUMNS = {"transaction_hash", "recipient", "spending_transaction_hash"}
TRUE = {"1", "true", "yes", "y", "t"}


def is_blockchair(columns: list[str]) -> bool:
    return {c.strip().lower() for c in columns} >= BLOCKCHAIR_COLUMNS


class FlatUtxoParser:
    """Rows of a flat input/output table -> ``UtxoBatch`` (Blockchair dumps included)."""

    def __init__(self, chain: str, scale: float) -> None:
        self.chain = chain
        self.scale = scale
        self.batch = UtxoBatch()
        self._tx_seen: set[str] = set()
        self._next_n: dict[tuple[str, str], int] = defaultdict(int)

    def parse(self, source: SourceTable, path: Path, choices: dict[str, str | None]) -> UtxoBatch:
        columns = source.columns
        name = str(path)
        found = {
            key: find_column(columns, choices.get(key), aliases, what=key, path=name)
            for key, aliases in ALIASES.items()
        }
        blockchair = is_blockchair(columns)
        if blockchair:
            self.scale = 10.0**-8 if choices.get("unit") != "coin" else 1.0
        for field_name in ("txid", "address", "value"):
            if found[field_name] is None:
                raise BadInputError(
                    f"{name}: no {field_name} column",
                    hint="name it (see 'docs/crypto.md', flat input/output CSV) or choose it with a flag",
                )
        if found["side"] is None and not blockchair:
            raise BadInputError(
                f"{name}: no side column saying whether a row is an input or an output",
                hint="add a 'side' column with 'in' or 'out'",
            )
        self.batch.read = source.read
        for rejected in source.rejected:
            self.batch.rejected.append(
                Rejected(
                    rejected.row_number, rejected.raw, [error(None, None, None, rejected.reason)]
                )
            )
        for row in source.table.to_pylist():
            if blockchair:
                self._blockchair_row(row, found)
            else:
                self._row(row, found)
        return self.batch

    def _cell(self, row: dict[str, Any], found: dict[str, str | None], key: str) -> str:
        column = found.get(key)
        return str(row.get(column) or "").strip() if column else ""

    def _row(self, row: dict[str, Any], found: dict[str, str | None]) -> None:
        number = int(row[ROW_COLUMN])
        problems: list[dict[str, str | None]] = []
        txid = self._txid(row, found, "txid", problems)
        side = SIDES.get(self._cell(row, found, "side").lower())
        if side is None:
            problems.append(
                error(found["side"], "side", self._cell(row, found, "side"), "not 'in' or 'out'")
            )
        address, kind = self._address(row, found, problems, required=side == "out")
        value_text = self._cell(row, found, "value")
        value = parse_amount(value_text, self.scale) if value_text else None
        if value is None and (side == "out" or value_text):
            problems.append(error(found["value"], "value", value_text, "not a non-negative amount"))
        n = self._index(row, found, "n", problems)
        time, block = self._time_block(row, found, problems)
        prev_txid = prev_n = None
        if side == "in":
            if self._cell(row, found, "prev_txid"):
                prev_txid = self._txid(row, found, "prev_txid", problems)
                prev_n = self._index(row, found, "prev_n", problems)
                if prev_n is None and not problems:
                    problems.append(
                        error(found["prev_n"], "prev_n", "", "the spent output's index is missing")
                    )
            elif address is None:
                problems.append(
                    error(
                        found["address"],
                        "address",
                        "",
                        "an input needs an address or prev_txid and prev_n",
                    )
                )
            elif value is None:
                problems.append(
                    error(found["value"], "value", "", "an input without prev_txid needs its value")
                )
        if problems or side is None or txid is None:
            self.batch.rejected.append(Rejected(number, _raw(row), problems))
            return
        if n is None:
            n = self._next_n[(txid, side)]
        self._next_n[(txid, side)] = max(self._next_n[(txid, side)], n + 1)
        coinbase = self._cell(row, found, "coinbase").lower() in TRUE
        self._add_tx(txid, block, time, coinbase, number)
        if side == "out":
            self._add_output(txid, n, address, kind, value, number)
        else:
            self._add_input(txid, n, prev_txid, prev_n, address, kind, value, number)

    def _blockchair_row(self, row: dict[str, Any], found: dict[str, str | None]) -> None:
        number = int(row[ROW_COLUMN])
        problems: list[dict[str, str | None]] = []
        txid = self._txid(row, found, "txid", problems)
        n = self._index(row, found, "n", problems)
        address, kind = self._address(row, found, problems, required=False)
        value_text = self._cell(row, found, "value")
        value = parse_amount(value_text, self.scale)
        if value is None:
            problems.append(error(found["value"], "value", value_text, "not a non-negative amount"))
        time, block = self._time_block(row, found, problems)
        spender = str(row.get("spending_transaction_hash") or "").strip().lower()
        spend_index = str(row.get("spending_index") or "").strip()
        if spender and not HEX64.match(spender):
            problems.append(
                error(
                    "spending_transaction_hash", "spending_txid", spender, "not a 64-digit hex id"
                )
            )
        if spender and not spend_index.isdigit():
            problems.append(
                error("spending_index", "spending_n", spend_index, "not an input index")
            )
        if problems or txid is None or n is None or value is None:
            self.batch.rejected.append(Rejected(number, _raw(row), problems))
            return
        coinbase = self._cell(row, found, "coinbase").lower() in TRUE
        self._add_tx(txid, block, time, coinbase, number)
        self._add_output(txid, n, address, kind, value, number)
        if spender:
            spend_time = parse_time(str(row.get("spending_time") or ""))
            spend_block_text = str(row.get("spending_block_id") or "").strip()
            spend_block = int(spend_block_text) if spend_block_text.isdigit() else None
            self._add_tx(spender, spend_block, spend_time, False, number)
            self._add_input(spender, int(spend_index), txid, n, address, kind, value, number)

    def _txid(
        self,
        row: dict[str, Any],
        found: dict[str, str | None],
        key: str,
        problems: list[dict[str, str | None]],
    ) -> str | None:
        text = self._cell(row, found, key)
        if not HEX64.match(text):
            problems.append(error(found[key], key, text, "not a 64-digit hex transaction id"))
            return None
        return text.lower()

    def _index(
        self,
        row: dict[str, Any],
        found: dict[str, str | None],
        key: str,
        problems: list[dict[str, str | None]],
    ) -> int | None:
        text = self._cell(row, found, key)
        if not text:
            return None
        if not text.isdigit():
            problems.append(error(found[key], key, text, "not a whole number >= 0"))
            return None
        return int(text)

    def _address(
        self,
        row: dict[str, Any],
        found: dict[str, str | None],
        problems: list[dict[str, str | None]],
        *,
        required: bool,
    ) -> tuple[str | None, str | None]:
        text = self._cell(row, found, "address")
        if not text or (not required and text.lower() in ("nonstandard", "null", "none")):
            if required and not text:
                problems.append(error(found["address"], "address", text, "no address"))
            return None, None
        checked = check_address(self.chain, text)
        if checked is None:
            if text.startswith(("s-", "d-", "m-")) and self.chain in ("btc", "bch", "ltc", "doge"):
                return None, None  # Blockchair's names for scripts without an address
            self.batch.address_errors += 1
            problems.append(error(found["address"], "address", text, why_invalid(self.chain, text)))
            return None, None
        return checked.address, checked.kind

    def _time_block(
        self,
        row: dict[str, Any],
        found: dict[str, str | None],
        problems: list[dict[str, str | None]],
    ) -> tuple[float | None, int | None]:
        time_text = self._cell(row, found, "time")
        time = parse_time(time_text) if time_text else None
        if time_text and time is None:
            problems.append(error(found["time"], "time", time_text, "not a date-time or Unix time"))
        block_text = self._cell(row, found, "block")
        if block_text and not block_text.isdigit():
            problems.append(error(found["block"], "block_height", block_text, "not a block height"))
        return time, int(block_text) if block_text.isdigit() else None

    def _add_tx(
        self, txid: str, block: int | None, time: float | None, coinbase: bool, row: int
    ) -> None:
        if txid in self._tx_seen:
            return
        self._tx_seen.add(txid)
        for key, value in zip(
            self.batch.tx, (txid, block, None, time, coinbase, row, 0), strict=True
        ):
            self.batch.tx[key].append(value)

    def _add_output(
        self,
        txid: str,
        n: int,
        address: str | None,
        kind: str | None,
        value: float | None,
        row: int,
    ) -> None:
        for key, item in zip(
            self.batch.outputs, (txid, n, address, kind, value, None, row), strict=True
        ):
            self.batch.outputs[key].append(item)

    def _add_input(
        self,
        txid: str,
        n: int,
        prev_txid: str | None,
        prev_n: int | None,
        address: str | None,
        kind: str | None,
        value: float | None,
        row: int,
    ) -> None:
        for key, item in zip(
            self.batch.inputs, (txid, n, prev_txid, prev_n, address, kind, value, row), strict=True
        ):
            self.batch.inputs[key].append(item)


def _raw(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != ROW_COLUMN}

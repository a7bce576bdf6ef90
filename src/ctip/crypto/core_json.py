"""Bitcoin Core JSON: ``getblock`` (verbosity 2 or 3) and ``getrawtransaction`` (verbose).

What a node operator or an exchange's compliance team hands over is usually the output of
``bitcoin-cli getblock HASH 2`` (one block with its transactions, pretty-printed or one per
line) or ``getrawtransaction TXID true`` (one transaction object per line). Both also come
wrapped in JSON-RPC envelopes (``{"result": ..., "error": null, "id": ...}``), which are
unwrapped. Forks of Bitcoin Core (Litecoin, Bitcoin Cash node, Dogecoin) print the same shapes.

A record is one transaction: row numbers are the line of a JSON Lines file or the 1-based
position in a JSON array (1 for a single object); transactions inside a block also carry their
position in the block. An input names the outpoint it spends; its address and value are filled
from that earlier output when it is imported (``getblock`` verbosity 3 and newer
``getrawtransaction`` give them directly in ``prevout``, and those are used).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ctip.crypto.addresses import check_address, why_invalid
from ctip.crypto.store import Rejected, error
from ctip.errors import BadInputError

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_SUPPLY = {"btc": 21e6, "bch": 21e6, "ltc": 84e6}


@dataclass
class UtxoBatch:
    """Parsed transactions as columns, ready for Arrow."""

    tx: dict[str, list[Any]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "txid",
                "block_height",
                "block_hash",
                "block_time",
                "is_coinbase",
                "row_number",
                "position",
            )
        }
    )
    inputs: dict[str, list[Any]] = field(
        default_factory=lambda: {
            k: []
            for k in ("txid", "n", "prev_txid", "prev_n", "address", "kind", "value", "row_number")
        }
    )
    outputs: dict[str, list[Any]] = field(
        default_factory=lambda: {
            k: [] for k in ("txid", "n", "address", "kind", "value", "script_type", "row_number")
        }
    )
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0
    address_errors: int = 0


def _records(path_name: str, data: bytes) -> Iterator[tuple[int, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path_name} is not UTF-8 text (byte {exc.start})") from exc
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        first = next((line for line in text.splitlines() if line.strip()), "")
        try:
            one_per_line = isinstance(json.loads(first), dict)
        except json.JSONDecodeError:
            one_per_line = False
        if not one_per_line:
            raise BadInputError(
                f"{path_name} is not valid JSON ({exc.msg} at line {exc.lineno})",
                hint="export it again with bitcoin-cli (one object, an array, or one per line)",
            ) from exc
        whole = None
    if isinstance(whole, list):
        yield from enumerate(whole, start=1)
        return
    if whole is not None:
        yield 1, whole
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _BadLine(line, exc.msg)


@dataclass
class _BadLine:
    line: str
    reason: str


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _script_address(script: Any) -> str | None:
    if not isinstance(script, dict):
        return None
    address = script.get("address")
    if address is None:
        addresses = script.get("addresses")
        if isinstance(addresses, list) and len(addresses) == 1:
            address = addresses[0]
    return address if isinstance(address, str) else None


class CoreJsonParser:
    """Turns Bitcoin Core JSON records into a ``UtxoBatch``; bad transactions are rejected."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.batch = UtxoBatch()
        self.maximum = MAX_SUPPLY.get(chain, 1e12)
        self._seen: set[str] = set()

    def parse(self, path_name: str, data: bytes) -> UtxoBatch:
        for row, record in _records(path_name, data):
            if isinstance(record, _BadLine):
                self.batch.read += 1
                self.batch.rejected.append(
                    Rejected(
                        row,
                        record.line[:2000],
                        [error(None, None, None, f"not valid JSON ({record.reason})")],
                    )
                )
                continue
            if isinstance(record, dict) and "result" in record and "error" in record:
                record = record["result"]
            if isinstance(record, dict) and isinstance(record.get("tx"), list):
                self._block(path_name, row, record)
            elif isinstance(record, dict) and "txid" in record:
                self.batch.read += 1
                block = (None, record.get("blockhash"), record.get("blocktime", record.get("time")))
                self._transaction(row, 0, record, block)
            else:
                self.batch.read += 1
                self.batch.rejected.append(
                    Rejected(
                        row,
                        record,
                        [
                            error(
                                None,
                                None,
                                None,
                                "neither a block (with 'tx') nor a transaction (with 'txid')",
                            )
                        ],
                    )
                )
        return self.batch

    def _block(self, path_name: str, row: int, block: dict[str, Any]) -> None:
        transactions = block["tx"]
        if transactions and all(isinstance(t, str) for t in transactions):
            raise BadInputError(
                f"{path_name}: block {block.get('height', '?')} lists only transaction ids",
                hint="export blocks with 'bitcoin-cli getblock HASH 2' (verbosity 2)",
            )
        height = block.get("height")
        info = (
            height if isinstance(height, int) and not isinstance(height, bool) else None,
            block.get("hash"),
            block.get("time", block.get("mediantime")),
        )
        for position, tx in enumerate(transactions, start=1):
            self.batch.read += 1
            if not isinstance(tx, dict):
                self.batch.rejected.append(
                    Rejected(
                        row, tx, [error(None, "tx", None, "not a transaction object")], position
                    )
                )
                continue
            self._transaction(row, position, tx, info)

    def _transaction(
        self, row: int, position: int, tx: dict[str, Any], block: tuple[Any, Any, Any]
    ) -> None:
        problems: list[dict[str, str | None]] = []
        txid = tx.get("txid")
        if not isinstance(txid, str) or not HEX64.match(txid):
            problems.append(error(None, "txid", txid, "not a 64-digit hex transaction id"))
            txid = ""
        txid = txid.lower()
        vin, vout = tx.get("vin"), tx.get("vout")
        if not isinstance(vin, list) or not vin:
            problems.append(error(None, "vin", None, "no inputs (vin) listed"))
            vin = []
        if not isinstance(vout, list) or not vout:
            problems.append(error(None, "vout", None, "no outputs (vout) listed"))
            vout = []
        coinbase = any(isinstance(i, dict) and "coinbase" in i for i in vin)
        inputs, outputs = [], []
        for index, item in enumerate(vin):
            if coinbase:
                break
            parsed = self._input(index, item, problems)
            if parsed is not None:
                inputs.append(parsed)
        for index, item in enumerate(vout):
            parsed_out = self._output(index, item, problems)
            if parsed_out is not None:
                outputs.append(parsed_out)
        block_time = block[2]
        if block_time is not None and (_number(block_time) is None or block_time < 0):
            problems.append(error(None, "time", block_time, "not a Unix time in seconds"))
        if problems:
            self.batch.address_errors += any("address" in (p["field"] or "") for p in problems)
            self.batch.rejected.append(Rejected(row, _shrink(tx), problems, position))
            return
        if txid in self._seen:
            return  # the same transaction twice in one file (overlapping block ranges)
        self._seen.add(txid)
        columns = self.batch.tx
        for key, value in zip(
            columns,
            (txid, block[0], block[1], block_time, coinbase, row, position),
            strict=True,
        ):
            columns[key].append(value)
        for n, prev_txid, prev_n, address, kind, value in inputs:
            for key, item in zip(
                self.batch.inputs,
                (txid, n, prev_txid, prev_n, address, kind, value, row),
                strict=True,
            ):
                self.batch.inputs[key].append(item)
        for n, address, kind, value, script_type in outputs:
            for key, item in zip(
                self.batch.outputs, (txid, n, address, kind, value, script_type, row), strict=True
            ):
                self.batch.outputs[key].append(item)

    def _input(
        self, index: int, item: Any, problems: list[dict[str, str | None]]
    ) -> tuple[int, str, int, str | None, str | None, float | None] | None:
        where = f"vin[{index}]"
        if not isinstance(item, dict):
            problems.append(error(None, where, None, "not an input object"))
            return None
        prev_txid, prev_n = item.get("txid"), item.get("vout")
        if not isinstance(prev_txid, str) or not HEX64.match(prev_txid):
            problems.append(error(None, f"{where}.txid", prev_txid, "not a 64-digit hex id"))
            return None
        if not isinstance(prev_n, int) or isinstance(prev_n, bool) or prev_n < 0:
            problems.append(error(None, f"{where}.vout", prev_n, "not an output index"))
            return None
        address = kind = None
        value = None
        prevout = item.get("prevout")
        if isinstance(prevout, dict):
            value = _number(prevout.get("value"))
            raw_address = _script_address(prevout.get("scriptPubKey"))
            if raw_address is not None:
                checked = check_address(self.chain, raw_address)
                if checked is None:
                    problems.append(
                        error(
                            None,
                            f"{where}.prevout.address",
                            raw_address,
                            why_invalid(self.chain, raw_address),
                        )
                    )
                    return None
                address, kind = checked.address, checked.kind
        return index, prev_txid.lower(), prev_n, address, kind, value

    def _output(
        self, index: int, item: Any, problems: list[dict[str, str | None]]
    ) -> tuple[int, str | None, str | None, float, str | None] | None:
        where = f"vout[{index}]"
        if not isinstance(item, dict):
            problems.append(error(None, where, None, "not an output object"))
            return None
        n = item.get("n", index)
        value = _number(item.get("value"))
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            problems.append(error(None, f"{where}.n", n, "not an output index"))
            return None
        if value is None or not 0 <= value <= self.maximum:
            problems.append(
                error(
                    None,
                    f"{where}.value",
                    item.get("value"),
                    f"not an amount between 0 and {self.maximum:,.0f}",
                )
            )
            return None
        script = item.get("scriptPubKey")
        script_type = script.get("type") if isinstance(script, dict) else None
        raw_address = _script_address(script)
        if raw_address is None:
            return n, None, None, value, script_type
        checked = check_address(self.chain, raw_address)
        if checked is None:
            problems.append(
                error(None, f"{where}.address", raw_address, why_invalid(self.chain, raw_address))
            )
            return None
        return n, checked.address, checked.kind, value, script_type


def _shrink(tx: dict[str, Any]) -> dict[str, Any]:
    """The quarantined copy: without the bulky hex and witness fields nobody fixes by hand."""
    drop = {"hex", "txinwitness", "scriptSig"}

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    result: dict[str, Any] = clean(tx)
    return result

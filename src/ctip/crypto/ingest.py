"""``ctip crypto import``: read a transaction export, check it, store it with provenance.

Formats: Bitcoin Core JSON and flat input/output CSVs (including Blockchair dumps) for UTXO
chains, transfer CSVs for account chains. The parsers (``core_json``, ``utxo_csv``,
``account_csv``) turn a file into columns plus rejected records; this module gives addresses and
transactions their ids, drops what is already stored, inserts the rest and quarantines the bad
records, all in one transaction.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from ctip.crypto.account_csv import TransferBatch, parse_transfers
from ctip.crypto.addresses import UTXO_CHAINS, is_utxo_chain
from ctip.crypto.cells import decimals_for
from ctip.crypto.core_json import CoreJsonParser, UtxoBatch
from ctip.crypto.store import CryptoImportReport, CryptoStore, new_import_id
from ctip.crypto.utxo_csv import FlatUtxoParser, is_blockchair
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.ingest.readers import decompress, read_bytes, read_table

INPUT_FORMATS = ("core-json", "flat-csv", "blockchair", "account-csv")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def detect_input_format(path: Path, data: bytes, chain: str) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".xz")]
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if (suffixes and suffixes[-1] in JSON_SUFFIXES) or head[:1] in (b"{", b"["):
        if not is_utxo_chain(chain):
            raise BadInputError(
                f"{path}: JSON transaction exports are read for UTXO chains ({', '.join(sorted(UTXO_CHAINS))})",
                hint="export account-chain transfers as CSV and choose columns with --from --to --value --time --tx",
            )
        return "core-json"
    if not is_utxo_chain(chain):
        return "account-csv"
    first_line = (
        data[:4096].decode("utf-8", errors="ignore").splitlines()[0].lower() if data else ""
    )
    return "blockchair" if "spending_transaction_hash" in first_line else "flat-csv"


def _scale(unit: str, chain: str, decimals: int | None) -> float:
    if unit not in ("coin", "base"):
        raise BadInputError(f"unknown unit '{unit}'", hint="use --unit coin or --unit base")
    return (
        1.0
        if unit == "coin"
        else 10.0 ** -(decimals if decimals is not None else decimals_for(chain))
    )


def import_transactions(
    engine: DuckDBEngine,
    path: Path,
    *,
    chain: str,
    input_format: str | None = None,
    source: str | None = None,
    unit: str = "coin",
    decimals: int | None = None,
    columns: dict[str, str | None] | None = None,
    asset: str | None = None,
) -> CryptoImportReport:
    """Import one file of ``chain`` transactions; see the module docstring."""
    chain = chain.strip().lower()
    raw = read_bytes(path)
    data, _ = decompress(path, raw)
    fmt = input_format or detect_input_format(path, data, chain)
    if fmt not in INPUT_FORMATS:
        raise BadInputError(
            f"unknown input format '{fmt}'", hint=f"use one of {', '.join(INPUT_FORMATS)}"
        )
    if (fmt == "account-csv") == is_utxo_chain(chain):
        raise BadInputError(
            f"input format {fmt} does not fit chain {chain}",
            hint="account-csv is for account chains (eth, ...); the others for UTXO chains",
        )
    sha = hashlib.sha256(raw).hexdigest()
    store = CryptoStore(engine)
    report = CryptoImportReport(new_import_id(), chain, source or path.name, path.name, sha, fmt)
    started = datetime.now(UTC)
    scale = _scale(unit, chain, decimals)
    choices = dict(columns or {})
    choices["unit"] = unit if unit != "coin" or fmt != "blockchair" else None
    batch: UtxoBatch | TransferBatch
    if fmt == "core-json":
        batch = CoreJsonParser(chain).parse(str(path), data)
    else:
        table = read_table(path)
        if fmt == "account-csv":
            batch = parse_transfers(table, path, chain, choices, scale, asset or chain.upper())
        else:
            if fmt == "blockchair" and not is_blockchair(table.columns):
                raise BadInputError(
                    f"{path}: not a Blockchair outputs/inputs dump (no spending_transaction_hash)"
                )
            batch = FlatUtxoParser(chain, scale).parse(table, path, choices)
    report.read = batch.read
    _refuse_wrong_chain(path, chain, batch)
    if store.file_seen(sha):
        report.duplicates = report.read
        report.warnings.append(
            "this file was imported before (same sha256): nothing new was loaded"
        )
        with engine.transaction():
            store.record_import(report, len(raw), started)
        return report
    with engine.transaction():
        if isinstance(batch, UtxoBatch):
            _write_utxo(store, batch, report, per_row=fmt != "core-json")
        else:
            _write_transfers(store, batch, report)
        store.quarantine(report, batch.rejected)
        report.quarantined = len({(r.row_number, r.position) for r in batch.rejected})
        report.duplicates = report.read - report.loaded - report.quarantined
        store.record_import(report, len(raw), started)
    return report


def _refuse_wrong_chain(path: Path, chain: str, batch: UtxoBatch | TransferBatch) -> None:
    """Every record failing on its addresses means the file is of another chain."""
    if batch.read >= 3 and len(batch.rejected) == batch.read and batch.address_errors >= batch.read:
        raise BadInputError(
            f"{path}: no address in it is valid on {chain}",
            hint="is this another chain? pass the right --chain",
        )


def _write_utxo(
    store: CryptoStore, batch: UtxoBatch, report: CryptoImportReport, *, per_row: bool
) -> None:
    engine = store.engine
    chain = report.chain
    tx = pa.table(
        {
            "txid": pa.array(batch.tx["txid"], pa.string()),
            "block_height": pa.array(batch.tx["block_height"], pa.int64()),
            "block_hash": pa.array(batch.tx["block_hash"], pa.string()),
            "block_time": pa.array(batch.tx["block_time"], pa.float64()),
            "is_coinbase": pa.array(batch.tx["is_coinbase"], pa.bool_()),
            "row_number": pa.array(batch.tx["row_number"], pa.int64()),
            "position": pa.array(batch.tx["position"], pa.int32()),
        }
    )
    inputs = pa.table(
        {
            "txid": pa.array(batch.inputs["txid"], pa.string()),
            "n": pa.array(batch.inputs["n"], pa.int32()),
            "prev_txid": pa.array(batch.inputs["prev_txid"], pa.string()),
            "prev_n": pa.array(batch.inputs["prev_n"], pa.int32()),
            "address": pa.array(batch.inputs["address"], pa.string()),
            "kind": pa.array(batch.inputs["kind"], pa.string()),
            "value": pa.array(batch.inputs["value"], pa.float64()),
            "row_number": pa.array(batch.inputs["row_number"], pa.int64()),
        }
    )
    outputs = pa.table(
        {
            "txid": pa.array(batch.outputs["txid"], pa.string()),
            "n": pa.array(batch.outputs["n"], pa.int32()),
            "address": pa.array(batch.outputs["address"], pa.string()),
            "kind": pa.array(batch.outputs["kind"], pa.string()),
            "value": pa.array(batch.outputs["value"], pa.float64()),
            "script_type": pa.array(batch.outputs["script_type"], pa.string()),
            "row_number": pa.array(batch.outputs["row_number"], pa.int64()),
        }
    )
    store.ensure_txids(
        chain, pa.concat_arrays([tx["txid"].combine_chunks(), inputs["prev_txid"].combine_chunks()])
    )
    addresses = pa.concat_tables(
        [outputs.select(["address", "kind"]), inputs.select(["address", "kind"])]
    )
    report.new_addresses = store.ensure_addresses(chain, addresses, report.import_id)
    for name, table in (("_b_tx", tx), ("_b_in", inputs), ("_b_out", outputs)):
        engine.register(name, table)
    ids = "(SELECT tx_id, txid FROM crypto_txids WHERE chain = $1)"
    addr = "(SELECT address_id, address FROM crypto_addresses WHERE chain = $1)"
    params = [chain]
    engine.sql(
        "CREATE TEMP TABLE _s_tx AS SELECT t.tx_id, b.* EXCLUDE (txid) FROM _b_tx b"
        f" JOIN {ids} t USING (txid)"
        " ANTI JOIN crypto_transactions c ON c.tx_id = t.tx_id",
        params,
    )
    engine.sql(
        "CREATE TEMP TABLE _s_out AS SELECT t.tx_id, b.n, a.address_id, b.value, b.script_type,"
        f" b.row_number FROM _b_out b JOIN {ids} t USING (txid) LEFT JOIN {addr} a USING (address)"
        " ANTI JOIN crypto_outputs c ON c.tx_id = t.tx_id AND c.n = b.n"
        " QUALIFY row_number() OVER (PARTITION BY t.tx_id, b.n ORDER BY b.row_number) = 1",
        params,
    )
    engine.sql(
        "CREATE TEMP TABLE _s_in AS SELECT t.tx_id, b.n, p.tx_id AS prev_tx_id, b.prev_n,"
        f" a.address_id, b.value, b.row_number FROM _b_in b JOIN {ids} t USING (txid)"
        f" LEFT JOIN {ids} p ON p.txid = b.prev_txid LEFT JOIN {addr} a USING (address)"
        " ANTI JOIN crypto_inputs c ON c.tx_id = t.tx_id AND c.n = b.n"
        " QUALIFY row_number() OVER (PARTITION BY t.tx_id, b.n ORDER BY b.row_number) = 1",
        params,
    )
    prov = [report.source, report.import_id, report.file_sha256]
    engine.sql(
        "INSERT INTO crypto_transactions SELECT tx_id, ?, block_height, block_hash,"
        " to_timestamp(block_time), is_coinbase, ?, ?, ?, row_number, position, ? FROM _s_tx",
        [chain, *prov, store.now],
    )
    engine.sql(
        "INSERT INTO crypto_outputs SELECT tx_id, n, address_id, value, script_type,"
        " ?, ?, ?, row_number, ? FROM _s_out",
        [*prov, store.now],
    )
    engine.sql(
        "INSERT INTO crypto_inputs SELECT tx_id, n, prev_tx_id, prev_n, address_id, value,"
        " ?, ?, ?, row_number, ? FROM _s_in",
        [*prov, store.now],
    )
    report.transactions = int(engine.scalar("SELECT count(*) FROM _s_tx"))
    report.outputs = int(engine.scalar("SELECT count(*) FROM _s_out"))
    report.inputs = int(engine.scalar("SELECT count(*) FROM _s_in"))
    if per_row:
        report.loaded = int(
            engine.scalar(
                "SELECT count(DISTINCT row_number) FROM"
                " (SELECT row_number FROM _s_out UNION ALL SELECT row_number FROM _s_in)"
            )
        )
    else:
        report.loaded = int(
            engine.scalar(
                "SELECT count(DISTINCT tx_id) FROM (SELECT tx_id FROM _s_tx UNION ALL"
                " SELECT tx_id FROM _s_out UNION ALL SELECT tx_id FROM _s_in)"
            )
        )
    for name in ("_s_tx", "_s_out", "_s_in"):
        engine.sql(f"DROP TABLE {name}")
    for name in ("_b_tx", "_b_in", "_b_out"):
        engine.unregister(name)
    resolved = store.resolve_inputs()
    unresolved = int(engine.scalar("SELECT count(*) FROM crypto_inputs WHERE value IS NULL"))
    if unresolved:
        report.warnings.append(
            f"{unresolved:,} inputs spend outputs not imported yet (resolved now: {resolved:,});"
            " import the earlier blocks to give them addresses and values"
        )


def _write_transfers(store: CryptoStore, batch: TransferBatch, report: CryptoImportReport) -> None:
    engine = store.engine
    chain = report.chain
    c = batch.columns
    table = pa.table(
        {
            "txid": pa.array(c["txid"], pa.string()),
            "from_address": pa.array(c["from_address"], pa.string()),
            "to_address": pa.array(c["to_address"], pa.string()),
            "value": pa.array(c["value"], pa.float64()),
            "asset": pa.array(c["asset"], pa.string()),
            "block_time": pa.array(c["block_time"], pa.float64()),
            "block_height": pa.array(c["block_height"], pa.int64()),
            "row_number": pa.array(c["row_number"], pa.int64()),
        }
    )
    store.ensure_txids(chain, table["txid"].combine_chunks())
    addresses = pa.table(
        {
            "address": pa.array(c["from_address"] + c["to_address"], pa.string()),
            "kind": pa.array(c["from_kind"] + c["to_kind"], pa.string()),
        }
    )
    report.new_addresses = store.ensure_addresses(chain, addresses, report.import_id)
    engine.register("_b_tr", table)
    engine.sql(
        "CREATE TEMP TABLE _s_tr AS SELECT t.tx_id, f.address_id AS from_id, r.address_id AS to_id,"
        " b.value, b.asset, b.block_time, b.block_height, b.row_number FROM _b_tr b"
        " JOIN (SELECT tx_id, txid FROM crypto_txids WHERE chain = $1) t USING (txid)"
        " JOIN (SELECT address_id, address FROM crypto_addresses WHERE chain = $1) f"
        "   ON f.address = b.from_address"
        " JOIN (SELECT address_id, address FROM crypto_addresses WHERE chain = $1) r"
        "   ON r.address = b.to_address"
        " ANTI JOIN (SELECT DISTINCT tx_id, from_id, to_id, value, asset FROM crypto_transfers) s"
        "   ON s.tx_id = t.tx_id AND s.from_id = f.address_id AND s.to_id = r.address_id"
        "   AND s.value = b.value AND s.asset = b.asset",
        [chain],
    )
    engine.sql(
        "INSERT INTO crypto_transfers SELECT tx_id, ?, from_id, to_id, value, asset,"
        " to_timestamp(block_time), block_height, ?, ?, ?, row_number, ? FROM _s_tr",
        [chain, report.source, report.import_id, report.file_sha256, store.now],
    )
    report.transfers = report.loaded = int(engine.scalar("SELECT count(*) FROM _s_tr"))
    report.transactions = int(engine.scalar("SELECT count(DISTINCT tx_id) FROM _s_tr"))
    engine.sql("DROP TABLE _s_tr")
    engine.unregister("_b_tr")

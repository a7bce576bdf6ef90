"""Writing crypto records: id dictionaries, provenance, quarantine and the import record.

Every importer (Bitcoin Core JSON, flat UTXO CSV, account CSV, TagPack) parses its file into
Arrow tables of strings and numbers, then hands them here. Addresses and transaction hashes get
dense integer ids the first time they are seen (``crypto_addresses``, ``crypto_txids``) so that
clustering and tracing work on integers; an input that names a previous transaction not (yet)
imported still gets an id, and links up when that transaction arrives.

The import contract is the workspace's: read = loaded + quarantined + duplicates, provenance on
every row, and a re-import of the same file recognised by its sha256 and row positions. One
addition, because a blockchain record has a global identity that case records lack: a
transaction (or an account transfer) already stored from *another* file is counted as a
duplicate instead of being stored twice, so overlapping explorer exports do not double flows.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ctip.engine.duckdb import DuckDBEngine

KIND = "crypto"


@dataclass
class Rejected:
    """A record that failed a check: its row (and position inside a block), raw value, errors."""

    row_number: int
    raw: Any
    errors: list[dict[str, str | None]]
    position: int = 0


@dataclass
class CryptoImportReport:
    import_id: str
    chain: str
    source: str
    file: str
    file_sha256: str
    input_format: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    transactions: int = 0
    inputs: int = 0
    outputs: int = 0
    transfers: int = 0
    tags: int = 0
    new_addresses: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_import_id() -> str:
    return "imp-" + uuid.uuid4().hex[:12]


def error(
    column: str | None, field_name: str | None, value: Any, reason: str
) -> dict[str, str | None]:
    text = None if value is None else str(value)[:200]
    return {"column": column, "field": field_name, "value": text, "reason": reason}


class CryptoStore:
    """Id dictionaries, quarantine and import records over one workspace engine."""

    def __init__(self, engine: DuckDBEngine) -> None:
        self.engine = engine
        self.now = datetime.now(UTC)

    def file_seen(self, sha256: str) -> bool:
        """Whether any record (stored or quarantined) already came from this file."""
        return bool(
            self.engine.scalar(
                "SELECT (SELECT count(*) FROM crypto_transactions WHERE file_sha256 = $1)"
                " + (SELECT count(*) FROM crypto_outputs WHERE file_sha256 = $1)"
                " + (SELECT count(*) FROM crypto_inputs WHERE file_sha256 = $1)"
                " + (SELECT count(*) FROM crypto_transfers WHERE file_sha256 = $1)"
                " + (SELECT count(*) FROM crypto_tags WHERE file_sha256 = $1)"
                " + (SELECT count(*) FROM quarantine WHERE file_sha256 = $1 AND kind = 'crypto')",
                [sha256],
            )
        )

    def ensure_addresses(self, chain: str, table: pa.Table, import_id: str) -> int:
        """Give every (address, kind) in ``table`` an id; return how many were new."""
        if table.num_rows == 0:
            return 0
        self.engine.register("_crypto_new_addresses", table)
        before = int(self.engine.scalar("SELECT count(*) FROM crypto_addresses"))
        self.engine.sql(
            "INSERT INTO crypto_addresses"
            " SELECT (SELECT coalesce(max(address_id), 0) FROM crypto_addresses)"
            "   + row_number() OVER (ORDER BY n.address), ?, n.address, n.kind, ?"
            " FROM (SELECT address, any_value(kind) AS kind FROM _crypto_new_addresses"
            "       WHERE address IS NOT NULL GROUP BY address) n"
            " ANTI JOIN (SELECT address FROM crypto_addresses WHERE chain = ?) a"
            "   ON a.address = n.address",
            [chain, import_id, chain],
        )
        self.engine.unregister("_crypto_new_addresses")
        return int(self.engine.scalar("SELECT count(*) FROM crypto_addresses")) - before

    def ensure_txids(self, chain: str, txids: pa.Array) -> None:
        """Give every transaction hash an id (including hashes only referred to by inputs)."""
        table = pa.table({"txid": txids})
        if table.num_rows == 0:
            return
        self.engine.register("_crypto_new_txids", table)
        self.engine.sql(
            "INSERT INTO crypto_txids"
            " SELECT (SELECT coalesce(max(tx_id), 0) FROM crypto_txids)"
            "   + row_number() OVER (ORDER BY n.txid), ?, n.txid"
            " FROM (SELECT DISTINCT txid FROM _crypto_new_txids WHERE txid IS NOT NULL) n"
            " ANTI JOIN (SELECT txid FROM crypto_txids WHERE chain = ?) t ON t.txid = n.txid",
            [chain, chain],
        )
        self.engine.unregister("_crypto_new_txids")

    def quarantine(self, report: CryptoImportReport, rejected: list[Rejected]) -> None:
        if not rejected:
            return
        sha = report.file_sha256
        table = pa.table(
            {
                "quarantine_id": [
                    f"q-{sha[:12]}-{r.row_number}" + (f".{r.position}" if r.position else "")
                    for r in rejected
                ],
                "row_number": pa.array([r.row_number for r in rejected], pa.int64()),
                "raw": [json.dumps(r.raw, ensure_ascii=False, default=str) for r in rejected],
                "errors": pa.array(
                    [r.errors for r in rejected],
                    pa.list_(
                        pa.struct(
                            [(n, pa.string()) for n in ("column", "field", "value", "reason")]
                        )
                    ),
                ),
            }
        )
        self.engine.register("_crypto_quarantine", table)
        self.engine.sql(
            "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
            " row_number, raw, errors, quarantined_at)"
            " SELECT quarantine_id, ?, ?, ?, ?, row_number, raw::JSON, errors, ?"
            " FROM _crypto_quarantine",
            [KIND, report.import_id, report.source, sha, self.now],
        )
        self.engine.unregister("_crypto_quarantine")

    def record_import(self, report: CryptoImportReport, size: int, started: datetime) -> None:
        self.engine.sql(
            "INSERT INTO imports (import_id, kind, source, file_name, file_sha256, file_size,"
            " input_format, mapping_name, mapping_json, started_at, finished_at, status, read,"
            " loaded, quarantined, duplicates, warnings)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?)",
            [
                report.import_id,
                KIND,
                report.source,
                report.file,
                report.file_sha256,
                size,
                report.input_format,
                f"crypto-{report.chain}",
                json.dumps({"chain": report.chain}),
                started,
                datetime.now(UTC),
                report.read,
                report.loaded,
                report.quarantined,
                report.duplicates,
                report.warnings,
            ],
        )

    def resolve_inputs(self) -> int:
        """Fill the address and value of inputs from the outputs they spend, where known.

        Bitcoin Core's ``getblock`` (verbosity 2) and ``getrawtransaction`` name only the
        outpoint an input spends; its address and value come from the earlier transaction,
        which may arrive in this import or a later one.
        """
        before = int(self.engine.scalar("SELECT count(*) FROM crypto_inputs WHERE value IS NULL"))
        if not before:
            return 0
        self.engine.sql(
            "UPDATE crypto_inputs SET address_id = o.address_id, value = o.value"
            " FROM crypto_outputs o"
            " WHERE crypto_inputs.value IS NULL AND crypto_inputs.prev_tx_id = o.tx_id"
            " AND crypto_inputs.prev_n = o.n"
        )
        after = int(self.engine.scalar("SELECT count(*) FROM crypto_inputs WHERE value IS NULL"))
        return before - after

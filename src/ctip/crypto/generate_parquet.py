"""A generated chain as the flat input/output Parquet table that Parquet jobs read.

Tests and benchmarks need millions of rows in seconds, so everything after the economy's own
transaction loop is vectorised: hashes and addresses are made once per transaction and per
address (numpy), and rows take them by index (Arrow ``take``). About 5.2 rows (inputs plus
outputs) come per transaction, so ``transactions_for_rows`` turns a row target into the
generator's size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctip.crypto.generate import CATEGORIES, SAT, GeneratedChain, generate_chain

ROWS_PER_TRANSACTION = 5.2
ROW_GROUP = 1_000_000


def hex_ids(count: int, seed: int) -> pa.Array:
    """``count`` random 64-hex-digit hashes as an Arrow string array."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(count, 32), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    text = np.empty((count, 64), dtype=np.uint8)
    text[:, 0::2] = digits[raw >> 4]
    text[:, 1::2] = digits[raw & 15]
    offsets = np.arange(0, 64 * count + 1, 64, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))


def _strings(values: np.ndarray) -> pa.Array:
    """A numpy array of equal-length ASCII strings as an Arrow string array, without Python
    objects per value."""
    width = values.dtype.itemsize // 4
    raw = values.astype(f"S{width}")
    offsets = np.arange(0, width * len(raw) + 1, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        len(raw), pa.py_buffer(offsets), pa.py_buffer(raw.tobytes())
    ).cast(pa.string())


def txio_table(chain: GeneratedChain) -> pa.Table:
    """One row per input and output in chain order (a transaction's inputs, then outputs)."""
    txids = hex_ids(chain.transactions, chain.seed + 104729)
    addresses = _strings(chain.addresses())
    tx = np.concatenate([chain.in_tx, chain.out_tx])
    is_out = np.concatenate(
        [np.zeros(chain.in_tx.shape[0], np.int8), np.ones(chain.out_tx.shape[0], np.int8)]
    )
    n = np.concatenate([chain.in_n, chain.out_n])
    order = np.lexsort((n, is_out, tx))
    tx, is_out, n = tx[order], is_out[order], n[order]
    address = np.concatenate([chain.in_addr, chain.out_addr])[order]
    value = np.concatenate([chain.in_value, chain.out_value])[order] / SAT
    direction = pa.DictionaryArray.from_arrays(
        pa.array(is_out, pa.int8()), pa.array(["in", "out"])
    ).cast(pa.string())
    return pa.table(
        {
            "tx": pc.take(txids, pa.array(tx)),
            "direction": direction,
            "n": pa.array(n, pa.int32()),
            "address": pc.take(addresses, pa.array(address)),
            "value": pa.array(value, pa.float64()),
            "time": pa.array(chain.tx_time[tx], pa.int64()).cast(pa.timestamp("s", tz="UTC")),
        }
    )


def truth_table(chain: GeneratedChain) -> pa.Table:
    """address, owner, category, bad for every address that appears (for scoring only)."""
    used = np.unique(chain.out_addr)
    owner = chain.addr_owner[used]
    names = pa.array([o.name for o in chain.owners])
    bad = np.array([o.bad for o in chain.owners], dtype=bool)
    return pa.table(
        {
            "address": _strings(chain.addresses()[used]),
            "owner": pc.take(names, pa.array(owner)),
            "category": pc.take(pa.array(CATEGORIES), pa.array(chain.owner_category()[used])),
            "bad": pa.array(bad[owner]),
        }
    )


def write_txio_parquet(chain: GeneratedChain, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(txio_table(chain), path, row_group_size=ROW_GROUP)
    return path


def transactions_for_rows(rows: int) -> int:
    """How many generated transactions give about ``rows`` input/output rows."""
    return max(100, math.ceil(rows / ROWS_PER_TRANSACTION))


def generate_txio(path: Path, rows: int, *, seed: int = 1) -> pa.Table:
    """Write about ``rows`` rows of a generated chain to ``path``; return its ground truth.

    For benchmarks: ``generate_txio(Path("txio.parquet"), 10_000_000)`` took two minutes and
    5.4 GB of memory on one busy core (the economy's per-transaction loop is most of it).
    """
    chain = generate_chain(transactions_for_rows(rows), seed=seed)
    write_txio_parquet(chain, path)
    return truth_table(chain)

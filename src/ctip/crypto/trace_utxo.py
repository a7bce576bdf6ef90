"""One hop of a UTXO trace: from tainted outputs to the transactions that spend (forward) or
created (backward) them, with the taint carried per policy.

The frontier is a set of tainted outputs. Each hop asks the workspace for the transactions it
touches (two joins against the input and output tables, whose cost grows with the frontier,
not the chain), applies the policy to all of them at once in NumPy (``taint``), and returns the
address-to-address flows of this hop plus the next frontier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ctip.crypto.taint import Intervals, fifo, spread
from ctip.engine.duckdb import DuckDBEngine


@dataclass
class Frontier:
    """Tainted outputs: where they are, how much taint, at which hop, and (FIFO) where inside."""

    tx: np.ndarray
    n: np.ndarray
    taint: np.ndarray
    hop: np.ndarray
    address: np.ndarray
    intervals: Intervals

    @property
    def size(self) -> int:
        return int(self.tx.shape[0])

    def take(self, keep: np.ndarray) -> Frontier:
        return Frontier(
            self.tx[keep], self.n[keep], self.taint[keep], self.hop[keep], self.address[keep],
            self.intervals.take(keep) if self.intervals.item.size else Intervals.empty(),
        )  # fmt: skip


@dataclass
class Flows:
    """Address-to-address flows of one hop, one row per (transaction, from, to)."""

    tx: np.ndarray
    source: np.ndarray
    target: np.ndarray
    value: np.ndarray  # value of the output (forward) or input (backward) on the far side
    attributed: np.ndarray
    hop: np.ndarray

    @classmethod
    def empty(cls) -> Flows:
        e = np.empty(0, np.int64)
        return cls(e, e, e, np.empty(0), np.empty(0), e)


@dataclass(frozen=True)
class Window:
    since: float | None = None  # Unix seconds
    until: float | None = None

    def sql(self, alias: str = "t") -> str:
        parts = []
        if self.since is not None:
            parts.append(f"epoch({alias}.block_time) >= {float(self.since)}")
        if self.until is not None:
            parts.append(f"epoch({alias}.block_time) < {float(self.until)}")
        return " AND ".join(parts) or "true"


def _columns(table: pa.Table, *names: str) -> list[np.ndarray]:
    return [table[name].to_numpy(zero_copy_only=False) for name in names]


def seed_outputs(engine: DuckDBEngine, addresses: np.ndarray, window: Window) -> Frontier:
    """Every output paid to the start addresses in the window, fully tainted, at hop 0."""
    engine.register("_seed", pa.table({"address_id": pa.array(addresses, pa.int64())}))
    rows = engine.to_arrow(
        "SELECT o.tx_id, o.n, o.value, o.address_id FROM crypto_outputs o"
        " SEMI JOIN _seed s USING (address_id) JOIN crypto_transactions t USING (tx_id)"
        f" WHERE {window.sql()} ORDER BY o.tx_id, o.n"
    )
    engine.unregister("_seed")
    tx, n, value, address = _columns(rows, "tx_id", "n", "value", "address_id")
    value = value.astype(float)
    return Frontier(tx, n, value, np.zeros(tx.shape[0], np.int64), address, Intervals.whole(value))


def _pairs(
    left_tx: np.ndarray, left_address: np.ndarray, left_weight: np.ndarray,
    right_tx: np.ndarray, right_address: np.ndarray, right_taint: np.ndarray, right_value: np.ndarray,
    hop: np.ndarray, tx_ids: np.ndarray, *, forward: bool,
) -> Flows:  # fmt: skip
    """Split each tainted far-side row's taint over the near-side rows by their taint share."""
    left = pd.DataFrame({"t": left_tx, "a": left_address, "w": left_weight})
    left = left[left.w > 0]
    left["w"] = left.w / left.groupby("t").w.transform("sum")
    right = pd.DataFrame({"t": right_tx, "b": right_address, "x": right_taint, "v": right_value})
    right = right[right.x > 0]
    joined = left.merge(right, on="t")
    joined["x"] = joined.x * joined.w
    grouped = joined.groupby(["t", "a", "b"], as_index=False).agg(x=("x", "sum"), v=("v", "sum"))
    t = grouped.t.to_numpy()
    source, target = grouped.a.to_numpy(), grouped.b.to_numpy()
    if not forward:
        source, target = target, source
    return Flows(
        tx_ids[t], source, target, grouped.v.to_numpy(float), grouped.x.to_numpy(float), hop[t]
    )


def _next_hop(tx_hop: np.ndarray, address: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Hops count value leaving the start set; moves inside it (change, consolidation) do not."""
    inside = np.isin(address, start) & (tx_hop == 0)
    return np.where(inside, 0, tx_hop + 1)


def forward_hop(
    engine: DuckDBEngine, frontier: Frontier, policy: str, window: Window, start: np.ndarray
) -> tuple[Flows, Frontier, np.ndarray]:
    """Flows of the transactions spending the frontier, the next frontier, and which frontier
    outputs were spent (the others are still held)."""
    engine.register(
        "_frontier",
        pa.table(
            {
                "f_tx": frontier.tx,
                "f_n": frontier.n,
                "f_idx": np.arange(frontier.size, dtype=np.int64),
            }
        ),
    )
    engine.sql(
        "CREATE OR REPLACE TEMP TABLE _spend AS SELECT DISTINCT i.tx_id FROM crypto_inputs i"
        " JOIN _frontier f ON i.prev_tx_id = f.f_tx AND i.prev_n = f.f_n"
        f" JOIN crypto_transactions t ON t.tx_id = i.tx_id WHERE {window.sql()}"
    )
    inputs = engine.to_arrow(
        "SELECT i.tx_id, i.n, coalesce(i.value, 0) AS value, coalesce(i.address_id, -1) AS address_id,"
        " coalesce(f.f_idx, -1) AS idx FROM crypto_inputs i SEMI JOIN _spend USING (tx_id)"
        " LEFT JOIN _frontier f ON i.prev_tx_id = f.f_tx AND i.prev_n = f.f_n ORDER BY i.tx_id, i.n"
    )
    outputs = engine.to_arrow(
        "SELECT o.tx_id, o.n, o.value, coalesce(o.address_id, -1) AS address_id FROM crypto_outputs o"
        " SEMI JOIN _spend USING (tx_id) ORDER BY o.tx_id, o.n"
    )
    engine.unregister("_frontier")
    in_tx, in_value, in_address, idx = _columns(inputs, "tx_id", "value", "address_id", "idx")
    out_tx, out_n, out_value, out_address = _columns(outputs, "tx_id", "n", "value", "address_id")
    tx_ids = np.unique(in_tx)
    count = tx_ids.shape[0]
    in_t = np.searchsorted(tx_ids, in_tx)
    out_t = np.searchsorted(tx_ids, out_tx)
    tainted = idx >= 0
    in_taint = np.zeros(in_tx.shape[0])
    in_taint[tainted] = frontier.taint[idx[tainted]]
    tx_hop = np.full(count, np.iinfo(np.int64).max)
    np.minimum.at(tx_hop, in_t[tainted], frontier.hop[idx[tainted]])
    if policy == "fifo":
        # frontier intervals -> input rows (an input is a whole earlier output)
        source = frontier.intervals
        row_of_item = np.full(frontier.size, -1, dtype=np.int64)
        row_of_item[idx[tainted]] = np.flatnonzero(tainted)
        keep = row_of_item[source.item] >= 0
        mapped = Intervals(row_of_item[source.item[keep]], source.start[keep], source.end[keep])
        out_intervals = fifo(
            in_t, in_value.astype(float), mapped, out_t, out_value.astype(float), count
        )
        out_taint = out_intervals.totals(out_tx.shape[0])
    else:
        out_intervals = Intervals.empty()
        out_taint = spread(in_t, in_value, in_taint, out_t, out_value.astype(float), count, policy)
    out_hop = _next_hop(tx_hop[out_t], out_address, start)
    flows = _pairs(
        in_t,
        in_address,
        in_taint,
        out_t,
        out_address,
        out_taint,
        out_value,
        tx_hop + 1,
        tx_ids,
        forward=True,
    )
    flows.hop = np.where(np.isin(flows.target, start) & (flows.hop == 1), 0, flows.hop)
    nxt = Frontier(out_tx, out_n, out_taint, out_hop, out_address, out_intervals)
    spent = np.zeros(frontier.size, dtype=bool)
    spent[idx[tainted]] = True
    return flows, nxt.take((out_taint > 0) & (out_address >= 0)), spent


def backward_hop(
    engine: DuckDBEngine, frontier: Frontier, policy: str, window: Window, start: np.ndarray
) -> tuple[Flows, Frontier, np.ndarray]:
    """Flows of the transactions that created the frontier, the next frontier (the outputs
    their inputs spent), and which frontier outputs were explained (the others were mined or
    lie outside the window)."""
    engine.register(
        "_frontier",
        pa.table(
            {
                "f_tx": frontier.tx,
                "f_n": frontier.n,
                "f_idx": np.arange(frontier.size, dtype=np.int64),
            }
        ),
    )
    engine.sql(
        "CREATE OR REPLACE TEMP TABLE _spend AS SELECT DISTINCT f.f_tx AS tx_id FROM _frontier f"
        f" JOIN crypto_transactions t ON t.tx_id = f.f_tx WHERE {window.sql()}"
    )
    outputs = engine.to_arrow(
        "SELECT o.tx_id, o.n, o.value, coalesce(o.address_id, -1) AS address_id,"
        " coalesce(f.f_idx, -1) AS idx FROM crypto_outputs o SEMI JOIN _spend USING (tx_id)"
        " LEFT JOIN _frontier f ON o.tx_id = f.f_tx AND o.n = f.f_n ORDER BY o.tx_id, o.n"
    )
    inputs = engine.to_arrow(
        "SELECT i.tx_id, i.n, coalesce(i.value, 0) AS value, coalesce(i.address_id, -1) AS address_id,"
        " coalesce(i.prev_tx_id, -1) AS prev_tx, coalesce(i.prev_n, -1) AS prev_n"
        " FROM crypto_inputs i SEMI JOIN _spend USING (tx_id) ORDER BY i.tx_id, i.n"
    )
    engine.unregister("_frontier")
    out_tx, out_value, out_address, idx = _columns(outputs, "tx_id", "value", "address_id", "idx")
    in_tx, in_value, in_address, prev_tx, prev_n = _columns(
        inputs, "tx_id", "value", "address_id", "prev_tx", "prev_n"
    )
    tx_ids = np.unique(out_tx)
    count = tx_ids.shape[0]
    out_t = np.searchsorted(tx_ids, out_tx)
    in_t = np.searchsorted(tx_ids, in_tx)
    tainted = idx >= 0
    out_taint = np.zeros(out_tx.shape[0])
    out_taint[tainted] = frontier.taint[idx[tainted]]
    tx_hop = np.full(count, np.iinfo(np.int64).max)
    np.minimum.at(tx_hop, out_t[tainted], frontier.hop[idx[tainted]])
    in_value = in_value.astype(float)
    if policy == "fifo":
        source = frontier.intervals
        row_of_item = np.full(frontier.size, -1, dtype=np.int64)
        row_of_item[idx[tainted]] = np.flatnonzero(tainted)
        keep = row_of_item[source.item] >= 0
        mapped = Intervals(row_of_item[source.item[keep]], source.start[keep], source.end[keep])
        in_intervals = fifo(out_t, out_value.astype(float), mapped, in_t, in_value, count)
        in_taint = in_intervals.totals(in_tx.shape[0])
    elif policy == "poison":
        in_intervals = Intervals.empty()
        in_taint = spread(out_t, out_value, out_taint, in_t, in_value, count, "poison")
    else:
        # haircut backwards: a tainted output is made of every input in proportion to its value
        in_intervals = Intervals.empty()
        total_in = np.bincount(in_t, weights=in_value, minlength=count).astype(float)
        tainted_out = np.bincount(out_t, weights=out_taint, minlength=count).astype(float)
        share = np.divide(
            in_value, total_in[in_t], out=np.zeros_like(in_value), where=total_in[in_t] > 0
        )
        in_taint = tainted_out[in_t] * share
    in_hop = _next_hop(tx_hop[in_t], in_address, start)
    flows = _pairs(
        out_t,
        out_address,
        out_taint,
        in_t,
        in_address,
        in_taint,
        in_value,
        tx_hop + 1,
        tx_ids,
        forward=False,
    )
    flows.hop = np.where(np.isin(flows.source, start) & (flows.hop == 1), 0, flows.hop)
    nxt = Frontier(prev_tx, prev_n.astype(np.int32), in_taint, in_hop, in_address, in_intervals)
    explained = np.isin(frontier.tx, in_tx)
    return flows, nxt.take((in_taint > 0) & (prev_tx >= 0)), explained

"""One hop of an account-chain trace: each address is a pool whose balance mixes what came in.

On Ethereum-like chains value sits in an account balance, not in coins, so the taint policies
act on each address's history in time order (Tironsakkul et al. 2019 on taint analysis for
account models):

- ``poison``: after the first tainted receipt every outgoing transfer is fully tainted;
- ``haircut``: an outgoing transfer carries the tainted share of the balance at that moment;
- ``fifo``: incoming amounts queue up and outgoing transfers take from the front of the queue.

Backward, the same pools answer the reverse question: which earlier receipts funded an
outgoing transfer (haircut: all receipts still in the pool, in proportion; fifo: the receipts
at the front of the queue; poison: every earlier receipt). Exports are partial, so an address
can send more than it is known to have received; the difference is unknown, untainted money.
Within a block, receipts are taken before spends. An address met again at a later hop is
simulated again with that hop's taint only (an approximation noted in docs/crypto.md).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ctip.crypto.trace_utxo import Flows, Window
from ctip.engine.duckdb import DuckDBEngine


@dataclass
class Receipts:
    """Tainted transfers at the frontier: which transfer (row id), to whom, how much, which hop."""

    transfer: np.ndarray
    address: np.ndarray  # the pool holding the taint (receiver forward, sender backward)
    taint: np.ndarray
    hop: np.ndarray

    @property
    def size(self) -> int:
        return int(self.transfer.shape[0])


def _history(engine: DuckDBEngine, addresses: np.ndarray, window: Window) -> dict[str, np.ndarray]:
    engine.register("_pools", pa.table({"address_id": pa.array(np.unique(addresses), pa.int64())}))
    table = engine.to_arrow(
        "SELECT t.rowid AS transfer, t.tx_id, t.from_id, t.to_id, t.value, epoch(t.block_time) AS time"
        " FROM crypto_transfers t"
        " WHERE (t.from_id IN (SELECT address_id FROM _pools) OR t.to_id IN (SELECT address_id FROM _pools))"
        f" AND t.from_id <> t.to_id AND {window.sql('t')} ORDER BY time, t.rowid"
    )
    engine.unregister("_pools")
    return {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}


def seed_transfers(
    engine: DuckDBEngine, addresses: np.ndarray, window: Window, *, forward: bool
) -> tuple[Flows, Receipts]:
    """Hop 1: every transfer out of (forward) or into (backward) the start addresses."""
    h = _history(engine, addresses, window)
    start = np.isin(h["from_id"] if forward else h["to_id"], addresses)
    inside = np.isin(h["to_id"] if forward else h["from_id"], addresses)
    keep = start & ~inside
    value = h["value"][keep].astype(float)
    flows = Flows(
        h["tx_id"][keep],
        h["from_id"][keep],
        h["to_id"][keep],
        value,
        value,
        np.ones(int(keep.sum()), np.int64),
    )
    holder = h["to_id"][keep] if forward else h["from_id"][keep]
    return flows, Receipts(h["transfer"][keep], holder, value, flows.hop.copy())


def _simulate(
    events: list[int],
    h: dict[str, np.ndarray],
    pool: int,
    marked: dict[int, float],
    policy: str,
    forward: bool,
) -> list[tuple[int, float]]:
    """Run one address's pool over its events; return (transfer index, taint) for the far side.

    Forward: ``marked`` maps incoming transfer indices to their taint; the result is the taint
    of outgoing transfers. Backward: ``marked`` maps outgoing transfers to the value to
    explain; the result is the attribution to incoming transfers.
    """
    result: list[tuple[int, float]] = []
    if forward:
        balance = tainted = 0.0
        queue: deque[list[float]] = deque()  # [amount, taint] chunks
        seen_taint = False
        for e in events:
            value = float(h["value"][e])
            if h["to_id"][e] == pool:
                balance += value
                taint = marked.get(e, 0.0)
                tainted += taint
                seen_taint |= taint > 0
                queue.append([value, taint])
                continue
            if policy == "poison":
                out = value if seen_taint else 0.0
            elif policy == "haircut":
                out = value * min(1.0, tainted / max(balance, value)) if tainted > 0 else 0.0
                tainted -= out
            else:
                out, need = 0.0, value
                while need > 1e-12 and queue:
                    chunk = queue[0]
                    used = min(need, chunk[0])
                    moved = chunk[1] * used / chunk[0] if chunk[0] > 0 else 0.0
                    out += moved
                    chunk[0] -= used
                    chunk[1] -= moved
                    need -= used
                    if chunk[0] <= 1e-12:
                        queue.popleft()
            balance = max(balance - value, 0.0)
            if out > 0:
                result.append((e, out))
        return result
    inflows: list[tuple[int, float]] = []  # (transfer, remaining amount)
    scale = 1.0  # haircut: every inflow keeps (1 - spent share) after each spend
    fifo_queue: deque[list[float]] = deque()
    balance = 0.0
    for e in events:
        value = float(h["value"][e])
        if h["to_id"][e] == pool:
            inflows.append((e, value / scale))
            fifo_queue.append([float(e), value])
            balance += value
            continue
        explain = marked.get(e, 0.0)
        if explain > 0 and policy == "poison":
            result.extend((i, float(h["value"][i])) for i, _ in inflows)
        elif explain > 0 and policy == "haircut" and balance > 0:
            known = min(1.0, balance / value)  # the rest came from before the export
            for i, amount in inflows:
                result.append((i, explain * known * amount * scale / balance))
        if policy == "fifo":
            need, fraction = value, explain / value if value > 0 else 0.0
            while need > 1e-12 and fifo_queue:
                chunk = fifo_queue[0]
                used = min(need, chunk[1])
                if fraction > 0:
                    result.append((int(chunk[0]), used * fraction))
                chunk[1] -= used
                need -= used
                if chunk[1] <= 1e-12:
                    fifo_queue.popleft()
        if balance > 0:
            scale *= max(0.0, 1.0 - min(value, balance) / balance)
        balance = max(balance - value, 0.0)
        if balance <= 1e-12 or scale < 1e-9:
            # the pool is empty (or nearly): start afresh so the scale stays well-conditioned
            inflows = [(i, amount * scale) for i, amount in inflows if amount * scale > 1e-12]
            scale = 1.0
    return result


def account_hop(
    engine: DuckDBEngine, receipts: Receipts, policy: str, window: Window, *, forward: bool
) -> tuple[Flows, Receipts]:
    """Move the taint held at the frontier pools one transfer further."""
    if receipts.size == 0:
        return Flows.empty(), receipts
    h = _history(engine, receipts.address, window)
    if h["transfer"].size == 0:
        return Flows.empty(), Receipts(
            *(np.empty(0, np.int64),) * 2, np.empty(0), np.empty(0, np.int64)
        )
    row_of = {int(t): i for i, t in enumerate(h["transfer"])}
    pools: dict[int, dict[int, float]] = defaultdict(dict)
    hop_of: dict[int, int] = {}
    for transfer, address, taint, hop in zip(
        receipts.transfer, receipts.address, receipts.taint, receipts.hop, strict=True
    ):
        row = row_of.get(int(transfer))
        if row is not None:
            pools[int(address)][row] = pools[int(address)].get(row, 0.0) + float(taint)
            hop_of[int(address)] = min(hop_of.get(int(address), 1 << 30), int(hop))
    events: dict[int, list[int]] = defaultdict(list)
    pool_set = set(pools)
    for row, (receiver, sender) in enumerate(
        zip(h["to_id"].tolist(), h["from_id"].tolist(), strict=True)
    ):
        if receiver in pool_set:
            events[receiver].append(row)
        if sender in pool_set:
            events[sender].append(row)
    for address, rows in events.items():
        # receipts before spends within the same second (one block)
        rows.sort(key=lambda r: (h["time"][r], h["to_id"][r] != address))
    moved: list[tuple[int, float, int]] = []
    for address, marked in pools.items():
        for row, taint in _simulate(events[address], h, address, marked, policy, forward):
            moved.append((row, taint, hop_of[address] + 1))
    if not moved:
        return Flows.empty(), Receipts(
            *(np.empty(0, np.int64),) * 2, np.empty(0), np.empty(0, np.int64)
        )
    moved_rows = np.array([m[0] for m in moved], dtype=np.int64)
    taint = np.array([m[1] for m in moved])
    hops = np.array([m[2] for m in moved], dtype=np.int64)
    flows = Flows(
        h["tx_id"][moved_rows],
        h["from_id"][moved_rows],
        h["to_id"][moved_rows],
        h["value"][moved_rows].astype(float),
        taint,
        hops,
    )
    holder = h["to_id"][moved_rows] if forward else h["from_id"][moved_rows]
    return flows, Receipts(h["transfer"][moved_rows], holder, taint, hops)

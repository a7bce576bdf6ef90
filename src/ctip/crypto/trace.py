"""``ctip crypto trace``: follow value from (or back to) an address or cluster for N hops.

A hop is one transaction (UTXO chains) or one transfer (account chains); moves inside the start
set (change back to the start cluster, a consolidation) do not count as hops. Value is
attributed per policy (``taint``, ``trace_account``). By default a trace stops where it
reaches an attributed entity (an address or cluster with a tag): funds arriving at an exchange
or a service are where an investigator sends a request, and following them through a service's
shared wallets would smear them over all its customers. ``follow_tagged`` goes through.

The result lists the flows (address to address, per transaction, with the attributed value),
the endpoints (where value rests: held, stopped at a tagged entity, or at the hop limit), a
summary by tagged category, and, with a target address, the shortest and the highest-value
path to it (the highest-value path maximises the smallest attributed amount along the way).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ctip.crypto.addresses import is_utxo_chain
from ctip.crypto.lookup import StartSet, resolve_start, tagged_addresses
from ctip.crypto.taint import POLICIES
from ctip.crypto.trace_account import Receipts, account_hop, seed_transfers
from ctip.crypto.trace_utxo import Flows, Frontier, Window, backward_hop, forward_hop, seed_outputs
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError

EPSILON = 1e-12


@dataclass(frozen=True)
class TraceRequest:
    start: str
    direction: str = "forward"
    hops: int = 3
    policy: str = "haircut"
    since: datetime | None = None
    until: datetime | None = None
    min_value: float = 0.0
    to: str | None = None
    chain: str | None = None
    follow_tagged: bool = False

    def check(self) -> None:
        if self.direction not in ("forward", "backward"):
            raise BadInputError(
                f"unknown direction '{self.direction}'", hint="use forward or backward"
            )
        if self.policy not in POLICIES:
            raise BadInputError(
                f"unknown policy '{self.policy}'", hint=f"use {', '.join(POLICIES)}"
            )
        if not 1 <= self.hops <= 50:
            raise BadInputError("--hops must be between 1 and 50")
        if self.min_value < 0:
            raise BadInputError("--min-value must not be negative")

    def window(self) -> Window:
        return Window(
            self.since.timestamp() if self.since else None,
            self.until.timestamp() if self.until else None,
        )


@dataclass
class _Collected:
    flows: list[Flows]
    held: dict[int, float]
    stopped: dict[int, float]
    limit: dict[int, float]
    seed_value: float = 0.0


def _add(store: dict[int, float], addresses: np.ndarray, values: np.ndarray) -> None:
    for address, value in zip(addresses.tolist(), values.tolist(), strict=True):
        store[address] = store.get(address, 0.0) + value


def _trace_utxo(
    engine: DuckDBEngine, request: TraceRequest, start: StartSet, stop: np.ndarray
) -> _Collected:
    window, forward = request.window(), request.direction == "forward"
    frontier = seed_outputs(engine, start.addresses, window)
    out = _Collected([], {}, {}, {}, float(frontier.taint.sum()))
    for _ in range(request.hops * 4 + 4):
        if frontier.size == 0:
            break
        step = forward_hop if forward else backward_hop
        flows, nxt, consumed = step(engine, frontier, request.policy, window, start.addresses)
        # forward: outputs nobody spent yet (held); backward: outputs whose creating transaction
        # has no inputs in the data (newly mined, or before the imported range)
        _add(out.held, frontier.address[~consumed], frontier.taint[~consumed])
        out.flows.append(flows)
        nxt = nxt.take(nxt.taint >= max(request.min_value, EPSILON))
        frontier = _stop(nxt, stop, out, request.hops)
    if frontier.size:
        _add(out.limit, frontier.address, frontier.taint)
    return out


def _stop(nxt: Frontier, stop: np.ndarray, out: _Collected, hops: int) -> Frontier:
    stopped = np.isin(nxt.address, stop) & (nxt.hop > 0)
    _add(out.stopped, nxt.address[stopped], nxt.taint[stopped])
    at_limit = ~stopped & (nxt.hop >= hops)
    _add(out.limit, nxt.address[at_limit], nxt.taint[at_limit])
    return nxt.take(~stopped & ~at_limit)


def _trace_account(
    engine: DuckDBEngine, request: TraceRequest, start: StartSet, stop: np.ndarray
) -> _Collected:
    window, forward = request.window(), request.direction == "forward"
    flows, receipts = seed_transfers(engine, start.addresses, window, forward=forward)
    out = _Collected([flows], {}, {}, {}, float(flows.attributed.sum()))
    for _ in range(request.hops + 1):
        keep = receipts.taint >= max(request.min_value, EPSILON)
        receipts = Receipts(
            receipts.transfer[keep],
            receipts.address[keep],
            receipts.taint[keep],
            receipts.hop[keep],
        )
        stopped = np.isin(receipts.address, stop)
        _add(out.stopped, receipts.address[stopped], receipts.taint[stopped])
        at_limit = ~stopped & (receipts.hop >= request.hops)
        _add(out.limit, receipts.address[at_limit], receipts.taint[at_limit])
        go = ~stopped & ~at_limit
        receipts = Receipts(
            receipts.transfer[go], receipts.address[go], receipts.taint[go], receipts.hop[go]
        )
        if receipts.size == 0:
            break
        flows, nxt = account_hop(engine, receipts, request.policy, window, forward=forward)
        if forward:
            # taint that no later transfer carried on stays with its holder
            carried = (
                pd.Series(flows.attributed).groupby(flows.source).sum()
                if flows.tx.size
                else pd.Series(dtype=float)
            )
            held = pd.Series(receipts.taint).groupby(receipts.address).sum()
            rest = held.sub(carried, fill_value=0.0).clip(lower=0.0)
            rest = rest[rest.index.isin(receipts.address)]
            _add(out.held, rest.index.to_numpy(), rest.to_numpy())
        out.flows.append(flows)
        receipts = nxt
    return out


def trace(engine: DuckDBEngine, request: TraceRequest) -> dict[str, Any]:
    """Run a trace and return its result as plain data (see the module docstring)."""
    request.check()
    start = resolve_start(engine, request.start, request.chain)
    stop = np.empty(0, np.int64) if request.follow_tagged else tagged_addresses(engine, start.chain)
    stop = stop[~np.isin(stop, start.addresses)]
    if is_utxo_chain(start.chain):
        collected = _trace_utxo(engine, request, start, stop)
    else:
        collected = _trace_account(engine, request, start, stop)
    flows = _frame(collected.flows, request.min_value)
    return _assemble(engine, request, start, flows, collected)


def _frame(parts: list[Flows], min_value: float) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "tx": np.concatenate([p.tx for p in parts]) if parts else np.empty(0, np.int64),
            "source": np.concatenate([p.source for p in parts]) if parts else np.empty(0, np.int64),
            "target": np.concatenate([p.target for p in parts]) if parts else np.empty(0, np.int64),
            "value": np.concatenate([p.value for p in parts]) if parts else np.empty(0),
            "attributed": np.concatenate([p.attributed for p in parts]) if parts else np.empty(0),
            "hop": np.concatenate([p.hop for p in parts]) if parts else np.empty(0, np.int64),
        }
    )
    frame = frame[
        (frame.attributed >= max(min_value, EPSILON)) & (frame.source >= 0) & (frame.target >= 0)
    ]
    return frame.groupby(["hop", "tx", "source", "target"], as_index=False).agg(
        value=("value", "max"), attributed=("attributed", "sum")
    )


FLOW_ROWS = """
SELECT f.hop, x.txid,
       strftime(coalesce(t.block_time, m.time), '%Y-%m-%dT%H:%M:%SZ') AS time,
       s.address AS "from", d.address AS "to", f.value, f.attributed,
       s.category AS from_category, d.category AS to_category,
       {far}.label AS to_label, {far}.cluster_id AS to_cluster
FROM _trace_flows f
JOIN crypto_txids x ON x.tx_id = f.tx
LEFT JOIN crypto_transactions t ON t.tx_id = f.tx
LEFT JOIN (SELECT tx_id, min(block_time) AS time FROM crypto_transfers
           WHERE tx_id IN (SELECT tx FROM _trace_flows) GROUP BY tx_id) m ON m.tx_id = f.tx
LEFT JOIN _trace_labels s ON s.address_id = f.source
LEFT JOIN _trace_labels d ON d.address_id = f.target
ORDER BY f.hop, f.attributed DESC, x.txid
"""

ENDPOINT_ROWS = """
SELECT l.address, l.cluster_id AS cluster, l.label, l.category, r.hop, r.attributed, r.status
FROM _trace_reached r LEFT JOIN _trace_labels l ON l.address_id = r.address_id
ORDER BY r.attributed DESC, l.address
"""


def _label_table(engine: DuckDBEngine, ids: np.ndarray) -> dict[int, dict[str, Any]]:
    """Create ``_trace_labels`` (address, cluster and attribution of every address in the
    trace) and return it as a dict for the path and category summaries."""
    from ctip.crypto.tags import ENTITY_LABELS

    engine.register("_label_query", pa.table({"address_id": pa.array(np.unique(ids), pa.int64())}))
    engine.sql(
        "CREATE OR REPLACE TEMP TABLE _trace_labels AS SELECT e.*, a.address FROM ("
        + ENTITY_LABELS
        + ") e JOIN crypto_addresses a USING (address_id)"
    )
    engine.unregister("_label_query")
    table = engine.to_arrow(
        "SELECT address_id, address, cluster_id, label, category FROM _trace_labels"
    )
    return {int(r["address_id"]): r for r in table.to_pylist()}


def _assemble(
    engine: DuckDBEngine,
    request: TraceRequest,
    start: StartSet,
    flows: pd.DataFrame,
    collected: _Collected,
) -> dict[str, Any]:
    forward = request.direction == "forward"
    rest = list(collected.held) + list(collected.stopped) + list(collected.limit)
    ids = np.concatenate(
        [
            flows.source.to_numpy(),
            flows.target.to_numpy(),
            np.array(rest, dtype=np.int64),
            start.addresses,
        ]
    ).astype(np.int64)
    labels = _label_table(engine, ids)
    names = {a: str(v["address"]) for a, v in labels.items()}
    engine.register("_trace_flows", pa.Table.from_pandas(flows, preserve_index=False))
    flow_rows = engine.to_arrow(FLOW_ROWS.format(far="d" if forward else "s")).to_pylist()
    far = "target" if forward else "source"
    reached = flows.groupby(far).agg(attributed=("attributed", "sum"), hop=("hop", "min"))
    address_ids = reached.index.to_numpy()
    status = np.select(
        [np.isin(address_ids, list(collected.stopped)), np.isin(address_ids, list(collected.held)),
         np.isin(address_ids, list(collected.limit))],
        ["stopped-at-tag", "held" if forward else "origin", "hop-limit"],
        default="passed-on",
    )  # fmt: skip
    engine.register(
        "_trace_reached",
        pa.table({"address_id": pa.array(address_ids, pa.int64()), "hop": reached.hop.to_numpy(),
                  "attributed": reached.attributed.to_numpy(), "status": status.tolist()}),
    )  # fmt: skip
    endpoints = engine.to_arrow(ENDPOINT_ROWS).to_pylist()
    for name in ("_trace_flows", "_trace_reached"):
        engine.unregister(name)
    engine.sql("DROP TABLE IF EXISTS _trace_labels")
    result: dict[str, Any] = {
        "start": {"query": request.start, "chain": start.chain, "kind": start.kind, "cluster": start.cluster,
                  "addresses": [names.get(a, str(a)) for a in start.addresses[:20].tolist()],
                  "address_count": int(start.addresses.shape[0])},
        "direction": request.direction, "policy": request.policy, "hops": request.hops,
        "since": request.since, "until": request.until, "min_value": request.min_value,
        "follow_tagged": request.follow_tagged,
        "summary": {
            "seed_value": collected.seed_value,
            "flows": len(flow_rows),
            "transactions": int(flows.tx.nunique()),
            "addresses": len(reached),
            "max_hop": int(flows.hop.max()) if len(flows) else 0,
            "stopped_at_tagged": float(sum(collected.stopped.values())),
            ("held" if forward else "origin"): float(sum(collected.held.values())),
            "at_hop_limit": float(sum(collected.limit.values())),
            "unaccounted": _unaccounted(request, collected),
        },
        "categories": _categories(flows, labels, collected, forward),
        "endpoints": endpoints,
        "flows": flow_rows,
        "paths": None,
    }  # fmt: skip
    if request.to:
        result["paths"] = _paths(engine, request, start, flows, names)
    return result


def _unaccounted(request: TraceRequest, collected: _Collected) -> float | None:
    """Seed value not found at any endpoint: fees (forward), money from before the exported
    history (backward, account chains), amounts below --min-value. None for poison, which
    does not conserve value."""
    if request.policy == "poison":
        return None
    found = (
        sum(collected.stopped.values())
        + sum(collected.held.values())
        + sum(collected.limit.values())
    )
    return max(collected.seed_value - found, 0.0)


def _categories(
    flows: pd.DataFrame, labels: dict[int, dict[str, Any]], collected: _Collected, forward: bool
) -> list[dict[str, Any]]:
    """Value entering (forward) or coming from (backward) each tagged category, and the value
    left with untagged holders (held, or still moving at the hop limit)."""
    rows = []
    if not flows.empty:
        category = {a: v.get("category") for a, v in labels.items() if v.get("category")}
        near, far = ("source", "target") if forward else ("target", "source")
        frame = flows.assign(
            near_cat=flows[near].map(category),
            far_cat=flows[far].map(category),
            far_label=flows[far].map({a: v.get("label") for a, v in labels.items()}),
        )
        entering = frame[frame.far_cat.notna() & (frame.far_cat != frame.near_cat)]
        for name, group in entering.groupby("far_cat"):
            rows.append(
                {
                    "category": str(name),
                    "attributed": float(group.attributed.sum()),
                    "addresses": int(group[far].nunique()),
                    "entities": sorted({str(x) for x in group.far_label.dropna()})[:20],
                    "first_hop": int(group.hop.min()),
                }
            )
    held = "untagged (held)" if forward else "untagged (origin)"
    for name, store in ((held, collected.held), ("untagged (at hop limit)", collected.limit)):
        untagged = {a: v for a, v in store.items() if not labels.get(a, {}).get("category")}
        if untagged:
            rows.append({"category": name, "attributed": float(sum(untagged.values())),
                         "addresses": len(untagged), "entities": [], "first_hop": None})  # fmt: skip
    return sorted(rows, key=lambda r: -r["attributed"])


def _paths(
    engine: DuckDBEngine,
    request: TraceRequest,
    start: StartSet,
    flows: pd.DataFrame,
    names: dict[int, str],
) -> dict[str, Any]:
    target = resolve_start(engine, request.to or "", start.chain)
    goal = set(target.addresses.tolist())
    edges = flows.groupby(["source", "target"], as_index=False).attributed.sum()
    graph: dict[int, list[tuple[int, float]]] = {}
    for row in edges.itertuples(index=False):
        a, b = (
            (int(row.source), int(row.target))
            if request.direction == "forward"
            else (int(row.target), int(row.source))
        )
        graph.setdefault(a, []).append((b, float(row.attributed)))
    sources = start.addresses.tolist()

    def describe(
        path: list[int] | None, weights: dict[tuple[int, int], float]
    ) -> dict[str, Any] | None:
        if path is None:
            return None
        amounts = [weights[(a, b)] for a, b in itertools.pairwise(path)]
        return {"hops": len(path) - 1, "addresses": [names.get(a, str(a)) for a in path],
                "amounts": amounts, "bottleneck": min(amounts) if amounts else None}  # fmt: skip

    weights = {(a, b): w for a, out in graph.items() for b, w in out}
    return {
        "to": request.to,
        "shortest": describe(_shortest(graph, sources, goal), weights),
        "highest_value": describe(_widest(graph, sources, goal), weights),
    }


def _shortest(
    graph: dict[int, list[tuple[int, float]]], sources: list[int], goal: set[int]
) -> list[int] | None:
    parent: dict[int, int | None] = dict.fromkeys(sources)
    layer = list(sources)
    while layer:
        following = []
        for node in layer:
            if node in goal and node not in sources:
                path = [node]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for nxt, _ in graph.get(node, []):
                if nxt not in parent:
                    parent[nxt] = node
                    following.append(nxt)
        layer = following
    return None


def _widest(
    graph: dict[int, list[tuple[int, float]]], sources: list[int], goal: set[int]
) -> list[int] | None:
    """Maximum-bottleneck path (a Dijkstra variant on the smallest edge so far)."""
    best: dict[int, float] = dict.fromkeys(sources, float("inf"))
    parent: dict[int, int | None] = dict.fromkeys(sources)
    heap = [(-float("inf"), s) for s in sources]
    done: set[int] = set()
    while heap:
        width, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        if node in goal and node not in sources:
            path = [node]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for nxt, amount in graph.get(node, []):
            candidate = min(-width, amount)
            if candidate > best.get(nxt, -1.0):
                best[nxt] = candidate
                parent[nxt] = node
                heapq.heappush(heap, (-candidate, nxt))
    return None


def trace_params(request: TraceRequest) -> dict[str, Any]:
    params = asdict(request)
    for key in ("since", "until"):
        if params[key] is not None:
            params[key] = params[key].astimezone(UTC).isoformat()
    return params

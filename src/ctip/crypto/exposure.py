"""``ctip crypto exposure``: how close every address is to a set of known-bad seed addresses.

Exposure is the share of an address's value that it received from the seeds or sent to them,
directly or through intermediaries, within N hops. It is computed on the value-flow graph of the
whole workspace:

- Each UTXO transaction sends value from every input address to every output address in
  proportion (the haircut rule: W[u, v] += in_u * out_v / total_in); an account transfer sends
  its value from sender to receiver. Flows from an address to itself (change, self-transfers)
  are dropped, as are those inside one cluster at cluster level.
- ``score``: a value-weighted walk over counterparties. Of all the value an address moved (in
  and out), the share exchanged with seeds, plus ``decay`` times the exposure of the other
  counterparties in proportion to the value exchanged with each:
  ``x = P (s + decay (1 - s) x)``, iterated N times, where ``P`` divides each address's flows
  (both directions, ``W + W^T``) by its total. Each hop may be a receipt or a payment, so a
  wallet that pays into the same collector as a seed, or is paid by the same victims, is
  exposed too: illicit networks are mostly siblings around shared counterparties, rarely a
  straight chain from one bad wallet to the next.
- ``score_in`` and ``score_out`` are the strictly directional parts, as in compliance tools'
  "received from" and "sent to" exposure: the same walk only backwards along payments
  (``P_in`` divides by the receiver's receipts) or only forwards (``P_out`` divides by the
  sender's payments).

All scores lie in [0, 1]: a large exchange that received a little from a seed scores low, a
wallet funded only by a seed scores 1. Nothing depends on how the data was made: a score is a
property of the flow graph, the seeds and two parameters (hops, and decay per hop after the
first). Time order is not used (a flow before a seed turned bad counts too); ``trace`` is the
time-respecting tool.

The walk is SQL written once (``flows_sql``, ``nodes_sql``, ``links_sql``, ``hop_sql``,
``scores_sql``), run by ``exposure_walk`` one step at a time: here on the workspace (each step
kept in memory as Arrow), and by ``ctip crypto exposure --input`` as stages of a Parquet job
on DuckDB or Spark (``ctip.crypto.exposure_job``), so both give the same scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ctip.engine.base import Engine
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError

# (name, build) -> the view holding build()'s result: ParquetJob.stage, or InMemoryStages.
Stage = Callable[[str, Callable[[], str]], str]

# Relations fed to UTXO_FLOWS: inputs and outputs as ``tx_id, node, value``, address known and
# value positive. ACCOUNT_FLOWS' relation: ``source, target, value``.
UTXO_FLOWS = """
SELECT i.node AS source, o.node AS target, CAST(sum(i.value * o.value / i.total) AS DOUBLE) AS value
FROM (
    SELECT tx_id, node, value, sum(value) OVER (PARTITION BY tx_id) AS total
    FROM (SELECT tx_id, node, sum(value) AS value FROM ({inputs}) ins GROUP BY tx_id, node) g
) i
JOIN (SELECT tx_id, node, sum(value) AS value FROM ({outputs}) outs GROUP BY tx_id, node) o
  ON o.tx_id = i.tx_id
WHERE i.node <> o.node
GROUP BY i.node, o.node
"""

ACCOUNT_FLOWS = """
SELECT source, target, CAST(sum(value) AS DOUBLE) AS value FROM ({transfers}) transfers
WHERE source <> target GROUP BY source, target
"""

# Per node: value sent and received, and whether it is a seed (1.0 or 0.0).
NODES = """
WITH sides AS (
    SELECT source AS node, value AS sent, CAST(0 AS DOUBLE) AS received FROM {flows}
    UNION ALL
    SELECT target AS node, CAST(0 AS DOUBLE) AS sent, value AS received FROM {flows}
),
totals AS (SELECT node, sum(sent) AS sent, sum(received) AS received FROM sides GROUP BY node)
SELECT t.node, t.sent, t.received,
       CASE WHEN k.node IS NULL THEN CAST(0 AS DOUBLE) ELSE CAST(1 AS DOUBLE) END AS seed
FROM totals t LEFT JOIN (SELECT DISTINCT s.node FROM {seeds} s) k ON k.node = t.node
"""

# One row per flow and end: the share of ``node``'s flows (w_any: all of them; w_in: its
# receipts; w_out: its payments) exchanged with ``other``. Rows of the matrices P, P_in, P_out.
LINKS = """
SELECT f.source AS node, f.target AS other, f.value / (n.sent + n.received) AS w_any,
       CAST(0 AS DOUBLE) AS w_in, f.value / n.sent AS w_out
FROM {flows} f JOIN {nodes} n ON n.node = f.source
UNION ALL
SELECT f.target AS node, f.source AS other, f.value / (n.sent + n.received) AS w_any,
       f.value / n.received AS w_in, CAST(0 AS DOUBLE) AS w_out
FROM {flows} f JOIN {nodes} n ON n.node = f.target
"""

# One hop: x_new[u] = sum over u's links of w[u, v] * (seed[v] + decay (1 - seed[v]) x[v]).
HOP = """
SELECT l.node,
       sum(l.w_any * {y_any}) AS x_any,
       sum(l.w_in * {y_in}) AS x_in,
       sum(l.w_out * {y_out}) AS x_out
FROM {links} l JOIN {nodes} n ON n.node = l.other{previous_join}
GROUP BY l.node
"""

SCORES = """
WITH clipped AS (
    SELECT x.node, least(greatest(x.x_any, CAST(0 AS DOUBLE)), CAST(1 AS DOUBLE)) AS score,
           least(greatest(x.x_in, CAST(0 AS DOUBLE)), CAST(1 AS DOUBLE)) AS score_in,
           least(greatest(x.x_out, CAST(0 AS DOUBLE)), CAST(1 AS DOUBLE)) AS score_out,
           n.received, n.sent, n.seed
    FROM {last_hop} x JOIN {nodes} n ON n.node = x.node
)
SELECT node, score, score_in, score_out, score_in * received AS exposed_received,
       score_out * sent AS exposed_sent
FROM clipped{where}
"""


def _double(number: float) -> str:
    return f"CAST({float(number)!r} AS DOUBLE)"


def flows_sql(*, utxo: tuple[str, str] | None = None, transfers: str | None = None) -> str:
    """Value flows ``source, target, value`` between nodes, self-flows left out.

    ``utxo``: (inputs, outputs) queries with ``tx_id, node, value`` rows (address known, value
    positive): each transaction's value goes from every input node to every output node in
    proportion (the haircut rule). ``transfers``: a query of ``source, target, value`` rows.
    """
    parts = []
    if utxo is not None:
        parts.append(UTXO_FLOWS.format(inputs=utxo[0], outputs=utxo[1]))
    if transfers is not None:
        parts.append(ACCOUNT_FLOWS.format(transfers=transfers))
    if len(parts) == 1:
        return parts[0]
    union = " UNION ALL ".join(f"({part})" for part in parts)
    return (
        f"SELECT source, target, sum(value) AS value FROM ({union}) parts GROUP BY source, target"
    )


def nodes_sql(flows: str, seeds: str) -> str:
    """Per node of the view ``flows``: ``node, sent, received, seed`` (``seeds``: a view with
    a ``node`` column)."""
    return NODES.format(flows=flows, seeds=seeds)


def links_sql(flows: str, nodes: str) -> str:
    """``node, other, w_any, w_in, w_out``: each flow seen from both of its ends."""
    return LINKS.format(flows=flows, nodes=nodes)


def hop_sql(links: str, nodes: str, previous: str | None, decay: float) -> str:
    """One step of the walk: ``node, x_any, x_in, x_out`` from the previous step's view (none
    before the first hop, when only the seeds count)."""
    if previous is None:
        terms = {f"y_{part}": "n.seed" for part in ("any", "in", "out")}
        join = ""
    else:
        terms = {
            f"y_{part}": f"(n.seed + {_double(decay)} * (1 - n.seed) * coalesce(p.x_{part}, 0))"
            for part in ("any", "in", "out")
        }
        join = f" LEFT JOIN {previous} p ON p.node = l.other"
    return HOP.format(links=links, nodes=nodes, previous_join=join, **terms)


def scores_sql(nodes: str, last_hop: str, min_score: float | None = 0.0) -> str:
    """``node, score, score_in, score_out, exposed_received, exposed_sent`` of every node that
    is not a seed and scores above ``min_score`` (None: of every node, seeds included)."""
    where = (
        "" if min_score is None else f" WHERE seed = 0 AND score > {_double(max(min_score, 0.0))}"
    )
    return SCORES.format(nodes=nodes, last_hop=last_hop, where=where)


def check_walk(hops: int, decay: float) -> None:
    if not 1 <= hops <= 20:
        raise BadInputError("--hops must be between 1 and 20")
    if not 0 <= decay <= 1:
        raise BadInputError("--decay must be between 0 and 1")


def exposure_walk(
    stage: Stage,
    flows: str,
    seeds: str,
    *,
    hops: int = 3,
    decay: float = 0.5,
    min_score: float | None = 0.0,
    on_nodes: Callable[[str], None] | None = None,
) -> str:
    """Run the walk over the view ``flows`` from the view ``seeds`` (``node``), one ``stage``
    per step (``nodes``, ``links``, ``hop_01`` ... ``hop_NN``); return the view of the scores
    (``scores_sql``'s columns) as built by ``stage("scores", ...)``. ``on_nodes`` looks at the
    nodes view before the walk (to stop early when no seed is in the graph)."""
    check_walk(hops, decay)
    nodes = stage("nodes", lambda: nodes_sql(flows, seeds))
    if on_nodes is not None:
        on_nodes(nodes)
    links = stage("links", lambda: links_sql(flows, nodes))
    previous: str | None = None
    for hop in range(1, hops + 1):
        previous = stage(f"hop_{hop:02d}", _hop(links, nodes, previous, decay))
    assert previous is not None
    last = previous
    return stage("scores", lambda: scores_sql(nodes, last, min_score))


def _hop(links: str, nodes: str, previous: str | None, decay: float) -> Callable[[], str]:
    return lambda: hop_sql(links, nodes, previous, decay)


@dataclass
class InMemoryStages:
    """Walk steps on the workspace: each kept as an Arrow table registered on the engine
    (works on a read-only workspace), dropped by ``close``."""

    engine: Engine
    prefix: str = "_exposure_"
    names: list[str] | None = None

    def __call__(self, name: str, build: Callable[[], str]) -> str:
        view = self.prefix + name
        self.engine.register(view, self.engine.to_arrow(build()))
        self.names = [*(self.names or []), view]
        return view

    def close(self) -> None:
        for view in self.names or []:
            self.engine.unregister(view)
        self.names = []


def workspace_flows_sql(level: str = "address") -> str:
    """The workspace's value flows at address or cluster level (``flows_sql``)."""
    if level == "cluster":
        inputs = (
            "SELECT i.tx_id, c.cluster_id AS node, i.value FROM crypto_inputs i"
            " JOIN crypto_clusters c ON c.address_id = i.address_id WHERE i.value > 0"
        )
        outputs = (
            "SELECT o.tx_id, c.cluster_id AS node, o.value FROM crypto_outputs o"
            " JOIN crypto_clusters c ON c.address_id = o.address_id WHERE o.value > 0"
        )
        transfers = (
            "SELECT cf.cluster_id AS source, ct.cluster_id AS target, t.value"
            " FROM crypto_transfers t JOIN crypto_clusters cf ON cf.address_id = t.from_id"
            " JOIN crypto_clusters ct ON ct.address_id = t.to_id WHERE t.value > 0"
        )
    else:
        inputs = (
            "SELECT tx_id, address_id AS node, value FROM crypto_inputs"
            " WHERE address_id IS NOT NULL AND value > 0"
        )
        outputs = (
            "SELECT tx_id, address_id AS node, value FROM crypto_outputs"
            " WHERE address_id IS NOT NULL AND value > 0"
        )
        transfers = (
            "SELECT from_id AS source, to_id AS target, value FROM crypto_transfers WHERE value > 0"
        )
    return flows_sql(utxo=(inputs, outputs), transfers=transfers)


@dataclass
class FlowGraph:
    """Value flows between nodes (addresses, or clusters), without self-flows."""

    flows: pa.Table  # source, target, value

    @property
    def nodes(self) -> np.ndarray:
        """Every node with a flow, sorted: the order of ``exposure_scores``' arrays."""
        ends = np.concatenate([self.flows["source"].to_numpy(), self.flows["target"].to_numpy()])
        return np.unique(ends)

    @property
    def size(self) -> int:
        return int(self.nodes.shape[0])


def _check_clusters(engine: Engine, level: str) -> None:
    if level == "cluster" and not engine.scalar("SELECT count(*) FROM crypto_clusters"):
        raise BadInputError(
            "no clusters yet", hint="run 'ctip crypto cluster' or use --level address"
        )


def flow_graph(engine: DuckDBEngine, *, level: str = "address") -> FlowGraph:
    """The workspace's value-flow graph at address or cluster level."""
    _check_clusters(engine, level)
    return FlowGraph(engine.to_arrow(workspace_flows_sql(level)))


def exposure_scores(
    graph: FlowGraph, seeds: np.ndarray, *, hops: int = 3, decay: float = 0.5
) -> dict[str, np.ndarray]:
    """Incoming, outgoing and combined exposure of every node of ``graph`` to the ``seeds``
    (node ids), in the order of ``graph.nodes``: the SQL walk on an in-memory DuckDB."""
    check_walk(hops, decay)
    nodes = graph.nodes
    engine = DuckDBEngine()
    try:
        engine.register("_flows", graph.flows)
        engine.register("_seeds", pa.table({"node": pa.array(seeds, graph.flows["source"].type)}))
        stages = InMemoryStages(engine)
        scores = engine.to_arrow(
            f"SELECT * FROM {exposure_walk(stages, '_flows', '_seeds', hops=hops, decay=decay, min_score=None)}"
        )
        position = np.searchsorted(nodes, scores["node"].to_numpy())
        out: dict[str, np.ndarray] = {}
        for name in ("score", "score_in", "score_out", "exposed_received", "exposed_sent"):
            values = np.zeros(nodes.shape[0])
            values[position] = scores[name].to_numpy()
            out[name] = values
    finally:
        engine.close()
    return {**out, "seed": np.isin(nodes, seeds)}


def exposure(
    engine: DuckDBEngine,
    seed_addresses: np.ndarray,
    *,
    hops: int = 3,
    decay: float = 0.5,
    level: str = "address",
    min_score: float = 0.0,
) -> list[dict[str, Any]]:
    """Scored addresses (seeds excluded), highest first, with cluster and attribution."""
    check_walk(hops, decay)
    _check_clusters(engine, level)
    engine.register("_seed_ids", pa.table({"address_id": pa.array(seed_addresses, pa.int64())}))
    seeds = (
        "(SELECT DISTINCT cluster_id AS node FROM crypto_clusters"
        " SEMI JOIN _seed_ids USING (address_id))"
        if level == "cluster"
        else "(SELECT address_id AS node FROM _seed_ids)"
    )
    stages = InMemoryStages(engine)
    try:
        flows = stages("flows", lambda: workspace_flows_sql(level))
        scores = exposure_walk(stages, flows, seeds, hops=hops, decay=decay, min_score=min_score)
        node_join = (
            "JOIN crypto_clusters c ON c.cluster_id = e.node JOIN crypto_addresses a USING (address_id)"
            if level == "cluster"
            else "JOIN crypto_addresses a ON a.address_id = e.node LEFT JOIN crypto_clusters c USING (address_id)"
        )
        rows = engine.records(
            "SELECT a.address, a.chain, c.cluster_id AS cluster, e.score, e.score_in, e.score_out,"
            " e.exposed_received, e.exposed_sent, a.address_id"
            f" FROM {scores} e {node_join}"
            " ANTI JOIN _seed_ids s ON s.address_id = a.address_id"
            " ORDER BY e.score DESC, a.address",
        )
    finally:
        stages.close()
        engine.unregister("_seed_ids")
    return rows


def by_category(engine: DuckDBEngine, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tagged entities among the exposed addresses, grouped by category and label."""
    from ctip.crypto.tags import entity_labels

    labels = entity_labels(engine, [int(r["address_id"]) for r in rows])
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        label = labels.get(int(row["address_id"]), {})
        if not label.get("category"):
            continue
        key = (str(label["category"]), str(label.get("label")))
        group = groups.setdefault(
            key,
            {"category": key[0], "label": key[1], "cluster": label.get("cluster_id"), "addresses": 0,
             "score": 0.0, "exposed_received": 0.0, "exposed_sent": 0.0},
        )  # fmt: skip
        group["addresses"] += 1
        group["score"] = max(group["score"], float(row["score"]))
        group["exposed_received"] += float(row["exposed_received"])
        group["exposed_sent"] += float(row["exposed_sent"])
    return sorted(
        groups.values(), key=lambda g: (-g["exposed_received"] - g["exposed_sent"], g["label"])
    )

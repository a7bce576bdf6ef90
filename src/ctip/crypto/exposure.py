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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError


@dataclass
class FlowGraph:
    """Value flows between nodes (addresses, or clusters), without self-flows."""

    nodes: np.ndarray  # address id or cluster id of each node
    weights: sp.csr_matrix  # weights[u, v] = value from u to v

    @property
    def size(self) -> int:
        return int(self.nodes.shape[0])


UTXO_FLOWS = """
WITH inputs AS (
    SELECT i.tx_id, {node_in} AS node, sum(i.value) AS value FROM crypto_inputs i {join_in}
    WHERE i.address_id IS NOT NULL AND i.value > 0 GROUP BY ALL
),
outputs AS (
    SELECT o.tx_id, {node_out} AS node, sum(o.value) AS value FROM crypto_outputs o {join_out}
    WHERE o.address_id IS NOT NULL AND o.value > 0 GROUP BY ALL
),
totals AS (SELECT tx_id, sum(value) AS total FROM inputs GROUP BY tx_id)
SELECT i.node AS source, o.node AS target, sum(i.value * o.value / t.total) AS value
FROM inputs i JOIN totals t USING (tx_id) JOIN outputs o USING (tx_id)
WHERE i.node <> o.node GROUP BY ALL
"""

ACCOUNT_FLOWS = """
SELECT {node_from} AS source, {node_to} AS target, sum(t.value) AS value
FROM crypto_transfers t {join}
WHERE t.value > 0 GROUP BY ALL HAVING source <> target
"""


def flow_graph(engine: DuckDBEngine, *, level: str = "address") -> FlowGraph:
    """The workspace's value-flow graph at address or cluster level."""
    if level == "cluster":
        if not engine.scalar("SELECT count(*) FROM crypto_clusters"):
            raise BadInputError(
                "no clusters yet", hint="run 'ctip crypto cluster' or use --level address"
            )
        utxo = UTXO_FLOWS.format(
            node_in="ci.cluster_id", join_in="JOIN crypto_clusters ci ON ci.address_id = i.address_id",
            node_out="co.cluster_id", join_out="JOIN crypto_clusters co ON co.address_id = o.address_id",
        )  # fmt: skip
        account = ACCOUNT_FLOWS.format(
            node_from="cf.cluster_id", node_to="ct.cluster_id",
            join="JOIN crypto_clusters cf ON cf.address_id = t.from_id"
                 " JOIN crypto_clusters ct ON ct.address_id = t.to_id",
        )  # fmt: skip
    else:
        utxo = UTXO_FLOWS.format(
            node_in="i.address_id", join_in="", node_out="o.address_id", join_out=""
        )
        account = ACCOUNT_FLOWS.format(node_from="t.from_id", node_to="t.to_id", join="")
    table = engine.to_arrow(
        f"SELECT source, target, sum(value) AS value FROM ({utxo} UNION ALL {account}) GROUP BY ALL"
    )
    source = table["source"].to_numpy()
    target = table["target"].to_numpy()
    value = table["value"].to_numpy(zero_copy_only=False).astype(float)
    nodes, index = np.unique(np.concatenate([source, target]), return_inverse=True)
    count = nodes.shape[0]
    weights = sp.csr_matrix(
        (value, (index[: source.shape[0]], index[source.shape[0] :])), shape=(count, count)
    )
    return FlowGraph(nodes, weights)


def _normalise(matrix: sp.csr_matrix, axis: int) -> sp.csr_matrix:
    totals = np.asarray(matrix.sum(axis=axis)).ravel()
    inverse = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    scale = sp.diags(inverse)
    return (matrix @ scale if axis == 0 else scale @ matrix).tocsr()


def exposure_scores(
    graph: FlowGraph, seeds: np.ndarray, *, hops: int = 3, decay: float = 0.5
) -> dict[str, np.ndarray]:
    """Incoming, outgoing and combined exposure of every node to the ``seeds`` (node ids)."""
    if not 1 <= hops <= 20:
        raise BadInputError("--hops must be between 1 and 20")
    if not 0 <= decay <= 1:
        raise BadInputError("--decay must be between 0 and 1")
    seed = np.isin(graph.nodes, seeds).astype(float)
    back = _normalise(graph.weights, axis=0).T.tocsr()  # row v: shares of v's receipts
    forward = _normalise(graph.weights, axis=1)  # row u: shares of u's payments
    both = _normalise((graph.weights + graph.weights.T).tocsr(), axis=1)  # row u: all its flows
    x_any, x_in, x_out = (np.zeros(graph.size) for _ in range(3))
    for _ in range(hops):
        x_any = both @ (seed + decay * (1.0 - seed) * x_any)
        x_in = back @ (seed + decay * (1.0 - seed) * x_in)
        x_out = forward @ (seed + decay * (1.0 - seed) * x_out)
    x_any, x_in, x_out = (np.clip(x, 0.0, 1.0) for x in (x_any, x_in, x_out))
    received = np.asarray(graph.weights.sum(axis=0)).ravel()
    sent = np.asarray(graph.weights.sum(axis=1)).ravel()
    return {
        "score": x_any,
        "score_in": x_in,
        "score_out": x_out,
        "exposed_received": x_in * received,
        "exposed_sent": x_out * sent,
        "seed": seed.astype(bool),
    }


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
    graph = flow_graph(engine, level=level)
    if level == "cluster":
        engine.register("_seed_ids", pa.table({"address_id": pa.array(seed_addresses, pa.int64())}))
        seeds = engine.to_arrow(
            "SELECT DISTINCT cluster_id FROM crypto_clusters SEMI JOIN _seed_ids USING (address_id)"
        )["cluster_id"].to_numpy()
        engine.unregister("_seed_ids")
    else:
        seeds = seed_addresses
    scores = exposure_scores(graph, seeds, hops=hops, decay=decay)
    keep = (scores["score"] > max(min_score, 0.0)) & ~scores["seed"]
    columns = {name: values[keep] for name, values in scores.items() if name != "seed"}
    table = pa.table(
        {
            "node": pa.array(graph.nodes[keep], pa.int64()),
            **{k: pa.array(v) for k, v in columns.items()},
        }
    )
    engine.register("_exposure", table)
    node_join = (
        "JOIN crypto_clusters c ON c.cluster_id = e.node JOIN crypto_addresses a USING (address_id)"
        if level == "cluster"
        else "JOIN crypto_addresses a ON a.address_id = e.node LEFT JOIN crypto_clusters c USING (address_id)"
    )
    rows = engine.records(
        "SELECT a.address, a.chain, c.cluster_id AS cluster, e.score, e.score_in, e.score_out,"
        " e.exposed_received, e.exposed_sent, a.address_id"
        f" FROM _exposure e {node_join}"
        " ANTI JOIN (SELECT unnest($1::BIGINT[]) AS address_id) s ON s.address_id = a.address_id"
        " ORDER BY e.score DESC, a.address",
        [seed_addresses.tolist()],
    )
    engine.unregister("_exposure")
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

"""Address clustering: the multi-input (co-spend) heuristic, with CoinJoins left out.

The heuristic (Nakamoto 2008, section 10; Reid & Harrigan 2011; Meiklejohn et al. 2013): the
inputs of one transaction are signed by one wallet, so their addresses have one owner. It is
the backbone of every chain-analysis product and is sound for ordinary wallets; it fails for
transactions that several people sign together. Those are detected and excluded:

- ``equal-outputs`` (CoinJoin: Wasabi, Whirlpool, JoinMarket): at least two outputs of the
  same non-dust value, at least as many distinct input addresses as the largest group of equal
  outputs, and at least half of the other outputs explainable as one change output per
  participant plus a coordinator fee (``2 * equal >= outputs - 1``);
- ``many-owners``: at least ``many_owners`` distinct input addresses *and* as many outputs -
  a single wallet consolidates (many inputs, one or two outputs) or pays out in batches (few
  inputs, many outputs), but rarely does both at once; such a transaction is taken as a
  multi-party one. An exchange that does both loses some links (recall), never precision.

What is *not* detected, by design of the protocols: PayJoin (BIP-78) and other two-party
transactions that look like ordinary payments. They are the documented source of false merges.

Change heuristics guess which output of a payment returns to the payer. They add many links
but each wrong guess merges two owners (and, through them, two whole clusters), so they are off
by default; ``fresh`` is Meiklejohn's one-time-change rule (of two outputs, exactly one goes to
an address never seen before, and no output goes back to an input address), ``optimal`` is the
optimal-change rule (of two outputs, exactly one is smaller than every input: a wallet would
not have added an unneeded input). Both only apply to non-CoinJoin transactions with two
outputs.

The CoinJoin rules and the co-spend links are SQL in ``ctip.crypto.cospend``, shared with the
Parquet job (``ctip.crypto.cluster_job``) that clusters whole chains on Spark. Here, connected
components of the resulting address graph are computed with SciPy's sparse-graph routine
(linear time, C), which is what lets tens of millions of transactions cluster in seconds. A
cluster's id is its smallest address id, stable when clusters only grow.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ctip.crypto.cospend import COINJOIN_RULES, edges_sql, features_sql
from ctip.crypto.store import CryptoStore
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError

CHANGE_HEURISTICS = ("fresh", "optimal")


@dataclass(frozen=True)
class ClusterParams:
    exclude_coinjoins: bool = True
    many_owners: int = 10
    dust: float = 0.00001  # coin units: outputs at or below are ignored in equal-value groups
    change: tuple[str, ...] = ()


@dataclass
class ClusterRun:
    run_id: str
    transactions: int
    multi_input: int
    coinjoins: dict[str, int]
    change_links: int
    addresses: int
    clusters: int
    multi_address_clusters: int
    largest: int
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The workspace's tables in the shape the shared co-spend SQL reads (``ctip.crypto.cospend``).
WORKSPACE_INPUTS = "SELECT tx_id AS tx, address_id AS address FROM crypto_inputs"
WORKSPACE_OUTPUTS = "SELECT tx_id AS tx, value FROM crypto_outputs"


def detect_coinjoins(engine: DuckDBEngine) -> dict[str, np.ndarray]:
    """Transaction ids flagged by each rule (on the multi-input transactions in ``_multi``)."""
    flagged = engine.to_arrow("SELECT tx, coinjoin FROM _multi WHERE coinjoin IS NOT NULL")
    tx = flagged["tx"].to_numpy()
    rule = np.asarray(flagged["coinjoin"].to_pylist(), dtype=object)
    return {name: np.sort(tx[rule == name]) for name in COINJOIN_RULES}


def _co_spend_edges(engine: DuckDBEngine, params: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    edges = engine.to_arrow(
        edges_sql(WORKSPACE_INPUTS, "_multi", exclude_coinjoins=params.exclude_coinjoins)
    )
    return edges["a"].to_numpy(), edges["b"].to_numpy()


CHANGE_CANDIDATES = """
WITH two AS (
    SELECT tx_id FROM crypto_outputs GROUP BY tx_id
    HAVING count(*) = 2 AND count(address_id) = 2 AND count(DISTINCT address_id) = 2
),
tx AS (
    SELECT t.tx_id, t.block_time, t.block_height FROM crypto_transactions t SEMI JOIN two USING (tx_id)
    WHERE NOT t.is_coinbase
),
inputs AS (
    SELECT i.tx_id, min(i.address_id) AS first, min(i.value) AS smallest, count(*) AS n_in,
           list(DISTINCT i.address_id) AS addresses
    FROM crypto_inputs i SEMI JOIN tx USING (tx_id) WHERE i.address_id IS NOT NULL GROUP BY i.tx_id
),
first_seen AS (
    SELECT o.address_id, min((t.block_height, t.block_time, o.tx_id)) AS seen
    FROM crypto_outputs o JOIN crypto_transactions t USING (tx_id)
    WHERE o.address_id IS NOT NULL GROUP BY o.address_id
)
SELECT o.tx_id, o.address_id, o.value, i.first, i.smallest,
       list_contains(i.addresses, o.address_id) AS to_input,
       f.seen = (t.block_height, t.block_time, o.tx_id) AS fresh
FROM crypto_outputs o JOIN tx t USING (tx_id) JOIN inputs i USING (tx_id)
JOIN first_seen f USING (address_id)
ORDER BY o.tx_id, o.n
"""


def _change_edges(
    engine: DuckDBEngine, excluded: np.ndarray, heuristics: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    rows = engine.to_arrow(CHANGE_CANDIDATES)
    if rows.num_rows == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tx = rows["tx_id"].to_numpy()
    address = rows["address_id"].to_numpy()
    value = rows["value"].to_numpy(zero_copy_only=False)
    first = rows["first"].to_numpy()
    smallest = rows["smallest"].to_numpy(zero_copy_only=False)
    to_input = rows["to_input"].to_numpy(zero_copy_only=False).astype(bool)
    fresh = rows["fresh"].to_numpy(zero_copy_only=False).astype(bool)
    # rows come in pairs (two outputs per transaction)
    pair = tx[0::2] == tx[1::2]
    keep = pair & ~np.isin(tx[0::2], excluded) & ~(to_input[0::2] | to_input[1::2])
    picks = np.zeros(tx.shape[0], dtype=bool)
    if "fresh" in heuristics:
        a, b = fresh[0::2], fresh[1::2]
        picks[0::2] |= keep & a & ~b
        picks[1::2] |= keep & b & ~a
    if "optimal" in heuristics:
        a, b = value[0::2] < smallest[0::2], value[1::2] < smallest[1::2]
        picks[0::2] |= keep & a & ~b
        picks[1::2] |= keep & b & ~a
    return address[picks], first[picks]


def cluster_addresses(engine: DuckDBEngine, params: ClusterParams | None = None) -> ClusterRun:
    """Cluster every address in the workspace and store the result (replacing the last run)."""
    params = params or ClusterParams()
    unknown = set(params.change) - set(CHANGE_HEURISTICS)
    if unknown:
        raise BadInputError(
            f"unknown change heuristic '{sorted(unknown)[0]}'",
            hint=f"use {' or '.join(CHANGE_HEURISTICS)}",
        )
    started = time.perf_counter()
    CryptoStore(engine).resolve_inputs()
    run_id = "cl-" + uuid.uuid4().hex[:12]
    nodes = int(engine.scalar("SELECT coalesce(max(address_id), 0) + 1 FROM crypto_addresses"))
    engine.sql("DROP TABLE IF EXISTS _multi")
    engine.sql(
        "CREATE TEMP TABLE _multi AS "
        + features_sql(
            WORKSPACE_INPUTS, WORKSPACE_OUTPUTS, dust=params.dust, many_owners=params.many_owners
        )
    )
    flagged = detect_coinjoins(engine) if params.exclude_coinjoins else {}
    excluded = np.unique(np.concatenate([np.empty(0, np.int64), *flagged.values()]))
    a, b = _co_spend_edges(engine, params)
    change_links = 0
    if params.change:
        ca, cb = _change_edges(engine, excluded, params.change)
        change_links = int(ca.shape[0])
        a, b = np.concatenate([a, ca]), np.concatenate([b, cb])
    graph = coo_matrix((np.ones(a.shape[0], dtype=np.int8), (a, b)), shape=(nodes, nodes))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(int(labels.max()) + 1 if nodes else 0, nodes, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(nodes, dtype=np.int64))
    cluster_of = smallest[labels]
    multi_input = int(engine.scalar("SELECT count(*) FROM _multi"))
    engine.sql("DROP TABLE _multi")
    with engine.transaction():
        engine.sql("DELETE FROM crypto_clusters")
        engine.sql("DELETE FROM crypto_coinjoins")
        engine.register(
            "_clusters",
            pa.table(
                {"address_id": pa.array(np.arange(nodes, dtype=np.int64)), "cluster_id": cluster_of}
            ),
        )
        engine.sql(
            "INSERT INTO crypto_clusters SELECT c.address_id, c.cluster_id, ? FROM _clusters c"
            " SEMI JOIN crypto_addresses a USING (address_id)",
            [run_id],
        )
        engine.unregister("_clusters")
        for rule, ids in flagged.items():
            engine.register("_flagged", pa.table({"tx_id": pa.array(ids, pa.int64())}))
            engine.sql(
                "INSERT INTO crypto_coinjoins SELECT tx_id, ?, ? FROM _flagged", [rule, run_id]
            )
            engine.unregister("_flagged")
        stats = engine.rows("SELECT count(*), count(DISTINCT cluster_id) FROM crypto_clusters")[0]
        sizes = engine.rows(
            "SELECT coalesce(max(n), 0), count(*) FILTER (WHERE n > 1) FROM"
            " (SELECT count(*) AS n FROM crypto_clusters GROUP BY cluster_id)"
        )[0]
        run = ClusterRun(
            run_id=run_id,
            transactions=int(engine.scalar("SELECT count(*) FROM crypto_transactions")),
            multi_input=multi_input,
            coinjoins={rule: int(ids.shape[0]) for rule, ids in flagged.items()},
            change_links=change_links,
            addresses=int(stats[0]),
            clusters=int(stats[1]),
            multi_address_clusters=int(sizes[1]),
            largest=int(sizes[0]),
            seconds=0.0,
            params=asdict(params),
        )
        run.seconds = round(time.perf_counter() - started, 3)
        chains = [
            str(r[0]) for r in engine.rows("SELECT DISTINCT chain FROM crypto_addresses ORDER BY 1")
        ]
        engine.sql(
            "INSERT INTO crypto_cluster_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                datetime.now(UTC),
                chains,
                json.dumps(run.params),
                run.transactions,
                int(excluded.shape[0]),
                run.addresses,
                run.clusters,
                run.largest,
                run.seconds,
            ],
        )
    return run

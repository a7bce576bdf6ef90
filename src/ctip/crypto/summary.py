"""``ctip crypto show``: what the workspace knows about one address or cluster."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ctip.crypto.lookup import resolve_start
from ctip.crypto.tags import entity_labels
from ctip.engine.duckdb import DuckDBEngine

TOTALS = """
WITH received AS (
    SELECT o.value, t.block_time FROM crypto_outputs o SEMI JOIN _show USING (address_id)
    LEFT JOIN crypto_transactions t USING (tx_id)
    UNION ALL SELECT value, block_time FROM crypto_transfers SEMI JOIN _show s ON s.address_id = to_id
),
sent AS (
    SELECT i.value, t.block_time FROM crypto_inputs i SEMI JOIN _show USING (address_id)
    LEFT JOIN crypto_transactions t USING (tx_id)
    UNION ALL SELECT value, block_time FROM crypto_transfers SEMI JOIN _show s ON s.address_id = from_id
)
SELECT (SELECT coalesce(sum(value), 0) FROM received) AS received,
       (SELECT count(*) FROM received) AS receipts,
       (SELECT coalesce(sum(value), 0) FROM sent) AS sent,
       (SELECT count(*) FROM sent) AS payments,
       (SELECT min(block_time) FROM (SELECT block_time FROM received UNION ALL SELECT block_time FROM sent)) AS first_seen,
       (SELECT max(block_time) FROM (SELECT block_time FROM received UNION ALL SELECT block_time FROM sent)) AS last_seen
"""


def describe(engine: DuckDBEngine, target: str, chain: str | None = None) -> dict[str, Any]:
    start = resolve_start(engine, target, chain)
    ids = start.addresses.tolist()
    engine.register("_show", pa.table({"address_id": pa.array(ids, pa.int64())}))
    try:
        totals = engine.records(TOTALS)[0]
        addresses = [str(r[0]) for r in engine.rows(
            "SELECT address FROM crypto_addresses SEMI JOIN _show USING (address_id) ORDER BY address LIMIT 10")]  # fmt: skip
        tags = engine.records(
            "SELECT t.label, t.category, t.confidence, t.origin, t.tag_source AS source, t.address"
            " FROM crypto_tags t JOIN crypto_addresses a ON a.chain = t.chain AND a.address = t.address"
            " SEMI JOIN _show USING (address_id) ORDER BY coalesce(t.confidence_level, 0) DESC LIMIT 20"
        )
    finally:
        engine.unregister("_show")
    size = None
    if start.cluster is not None:
        size = int(
            engine.scalar(
                "SELECT count(*) FROM crypto_clusters WHERE cluster_id = ?", [start.cluster]
            )
        )
    label = entity_labels(engine, ids[:1]).get(ids[0], {})
    return {
        "kind": start.kind,
        "chain": start.chain,
        "cluster": f"cluster:{start.cluster}" if start.cluster is not None else None,
        "cluster_size": size,
        "label": label.get("label"),
        "category": label.get("category"),
        "label_from": label.get("via"),
        "addresses": addresses,
        **totals,
        "tags": tags,
    }

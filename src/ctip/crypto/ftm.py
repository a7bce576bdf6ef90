"""FollowTheMoney export: wallets, their holders and the payments between them.

FtM (the model of Aleph/OpenAleph and OpenSanctions) has ``CryptoWallet`` (an address, with its
``holder``) and ``Payment`` (``payer`` and ``beneficiary`` are legal entities, not wallets). So
each address becomes a CryptoWallet, each cluster a ``LegalEntity`` that holds its wallets
(named by its attribution tag when it has one), and each flow a Payment from the sending
cluster's entity to the receiving one, with the transaction hash, date, amount and currency,
and the two addresses in the description. Ids are stable hashes of chain and address (or
cluster and transaction), so exporting twice gives the same entities and tools can merge.

Either the flows of a saved trace are exported, or every flow in the workspace (UTXO
transactions split between inputs and outputs by the haircut rule, account transfers as they
are).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from followthemoney import model

from ctip.crypto.tags import entity_labels
from ctip.engine.duckdb import DuckDBEngine

NAMESPACE = "ctip-crypto"

WORKSPACE_FLOWS = """
WITH inputs AS (
    SELECT i.tx_id, i.address_id AS node, sum(i.value) AS value FROM crypto_inputs i
    WHERE i.address_id IS NOT NULL AND i.value > 0 GROUP BY ALL
),
outputs AS (
    SELECT o.tx_id, o.address_id AS node, sum(o.value) AS value FROM crypto_outputs o
    WHERE o.address_id IS NOT NULL AND o.value > 0 GROUP BY ALL
),
totals AS (SELECT tx_id, sum(value) AS total FROM inputs GROUP BY tx_id),
flows AS (
    SELECT i.tx_id, i.node AS source, o.node AS target, i.value * o.value / t.total AS value
    FROM inputs i JOIN totals t USING (tx_id) JOIN outputs o USING (tx_id) WHERE i.node <> o.node
    UNION ALL
    SELECT tx_id, from_id, to_id, value FROM crypto_transfers WHERE from_id <> to_id
)
SELECT x.txid, coalesce(tr.block_time, (SELECT min(block_time) FROM crypto_transfers m
       WHERE m.tx_id = f.tx_id)) AS time, fa.address AS "from", ta.address AS "to",
       f.value, f.value AS attributed, fa.chain
FROM flows f JOIN crypto_txids x USING (tx_id) LEFT JOIN crypto_transactions tr USING (tx_id)
JOIN crypto_addresses fa ON fa.address_id = f.source JOIN crypto_addresses ta ON ta.address_id = f.target
"""


def _address_info(
    engine: DuckDBEngine, addresses: set[str], chain: str | None
) -> dict[str, dict[str, Any]]:
    if not addresses:
        return {}
    rows = engine.records(
        "SELECT address_id, address, chain FROM crypto_addresses"
        " WHERE address IN (SELECT unnest($1::VARCHAR[]))" + (" AND chain = $2" if chain else ""),
        [sorted(addresses), chain] if chain else [sorted(addresses)],
    )
    labels = entity_labels(engine, [int(r["address_id"]) for r in rows])
    return {str(r["address"]): {**r, **labels.get(int(r["address_id"]), {})} for r in rows}


def _cluster(item: dict[str, Any]) -> Any:
    """The cluster of an address, or the address itself before clustering."""
    return item["cluster_id"] if item.get("cluster_id") is not None else f"a{item['address_id']}"


def ftm_entities(
    engine: DuckDBEngine, flows: list[dict[str, Any]] | None = None, *, chain: str | None = None
) -> Iterator[dict[str, Any]]:
    """CryptoWallet, LegalEntity and Payment entities as FtM dicts, wallets first."""
    if flows is None:
        flows = engine.records(WORKSPACE_FLOWS)
    info = _address_info(engine, {f["from"] for f in flows} | {f["to"] for f in flows}, chain)
    holders: dict[Any, str] = {}
    for address in sorted(info):
        item = info[address]
        currency = str(item["chain"]).upper()
        cluster = _cluster(item)
        holder = model.make_entity("LegalEntity")
        holder.make_id(NAMESPACE, item["chain"], "cluster", str(cluster))
        if cluster not in holders:
            holders[cluster] = str(holder.id)
            holder.add("name", item.get("label") or f"{currency} wallet cluster c{cluster}")
            if item.get("category"):
                holder.add("description", f"attribution category: {item['category']}")
            yield holder.to_dict()
        wallet = model.make_entity("CryptoWallet")
        wallet.make_id(NAMESPACE, item["chain"], address)
        wallet.add("publicKey", address)
        wallet.add("cryptoAddress", address)
        wallet.add("currency", currency)
        wallet.add("blockchain", item["chain"])
        wallet.add("holder", holders[cluster])
        if item.get("label"):
            wallet.add("alias", item["label"])
        yield wallet.to_dict()
    for flow in flows:
        source, target = info.get(flow["from"]), info.get(flow["to"])
        if source is None or target is None:
            continue
        payment = model.make_entity("Payment")
        payment.make_id(NAMESPACE, flow["txid"], flow["from"], flow["to"])
        payment.add("payer", holders[_cluster(source)])
        payment.add("beneficiary", holders[_cluster(target)])
        payment.add("amount", f"{float(flow['attributed']):.8f}")
        payment.add("currency", str(source["chain"]).upper())
        payment.add("transactionNumber", flow["txid"])
        if flow.get("time") is not None:
            payment.add(
                "date",
                flow["time"].date().isoformat()
                if hasattr(flow["time"], "date")
                else str(flow["time"])[:10],
            )
        payment.add("description", f"{flow['from']} -> {flow['to']}")
        yield payment.to_dict()

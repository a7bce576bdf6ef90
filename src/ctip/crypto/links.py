"""Wallets found in ads and case records, linked to the chain: tags, clusters, ad networks.

The ads capability stores every checksum-valid wallet it finds in an ad as an identifier
(``ad_identifiers`` with kind 'wallet', the currency in ``detail``) and groups ads into
networks (``ad_networks``). This module reads those tables, and finds wallets in the free text
of case records with the ads capability's ``find_wallets``; each wallet then becomes a tag
(origin 'ads' or 'case', category 'ad-network' or 'case') keeping the provenance of the ad or
case it came from. Through clustering, the tag reaches every address of the wallet's cluster:
a payment to an exchange deposit address that clusters with an advertised wallet is a payment
to the ad network.

The other direction goes back to the ads capability: ``cluster_link_rows`` gives, for ads
whose wallets fall in one multi-address cluster, a shared 'wallet' link value, so ads that
advertise different addresses of the same wallet join one network (registered with
``ctip.ads.service.register_link_source``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ctip.crypto.addresses import check_address
from ctip.engine.duckdb import DuckDBEngine

CURRENCY_CHAINS = {
    "BTC": "btc",
    "LTC": "ltc",
    "ETH": "eth",
    "TRX": "trx",
    "BCH": "bch",
    "DOGE": "doge",
}
CASE_TEXT_COLUMNS = (
    "case_comment",
    "incoming_referral_details",
    "outgoing_referral_details",
    "reason_for_case_closure",
)


@dataclass
class LinkReport:
    ad_wallets: int
    case_wallets: int
    tags: int
    in_workspace: int
    clusters: int
    networks: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _has_table(engine: DuckDBEngine, name: str) -> bool:
    return bool(
        engine.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"
            " AND table_name = ?",
            [name],
        )
    )


def ad_wallets(engine: DuckDBEngine) -> list[dict[str, Any]]:
    """One row per (wallet, ad): canonical address, chain, ad, network and the ad's provenance."""
    if not _has_table(engine, "ad_identifiers"):
        return []
    network = (
        "(SELECT ad_key, any_value(network_id) AS network_id FROM ad_networks GROUP BY ad_key)"
        if _has_table(engine, "ad_networks")
        else "(SELECT NULL::VARCHAR AS ad_key, NULL::VARCHAR AS network_id WHERE false)"
    )
    rows = engine.records(
        "SELECT DISTINCT i.value, i.detail, i.ad_key, n.network_id, a.source, a.import_id,"
        " a.file_sha256, a.row_number FROM ad_identifiers i JOIN ads a USING (ad_key)"
        f" LEFT JOIN {network} n USING (ad_key) WHERE i.kind = 'wallet' ORDER BY ALL"
    )
    return [r for r in (_canonical(r, "value", "detail") for r in rows) if r is not None]


def _canonical(row: dict[str, Any], value: str, currency: str) -> dict[str, Any] | None:
    chain = CURRENCY_CHAINS.get(str(row.get(currency) or "").upper())
    if chain is None:
        return None  # Monero and other chains without traceable flows
    checked = check_address(chain, str(row[value]))
    if checked is None:
        return None
    return {**row, "address": checked.address, "chain": chain}


def case_wallets(engine: DuckDBEngine) -> list[dict[str, Any]]:
    """Wallets written in the free-text fields and kept columns of case records."""
    try:
        from ctip.ads.wallets import find_wallets
    except ImportError:  # the ads capability is not installed
        return []
    text = " || ' ' || ".join(f"coalesce({c}, '')" for c in CASE_TEXT_COLUMNS)
    rows = engine.records(
        f"SELECT case_id, source, import_id, file_sha256, row_number, {text} || ' '"
        " || coalesce(CAST(extra AS VARCHAR), '') AS text FROM cases"
        " WHERE regexp_matches(" + text + " || coalesce(CAST(extra AS VARCHAR), ''),"
        " '(0x[0-9a-fA-F]{40}|[13LMT][1-9A-HJ-NP-Za-km-z]{25,34}|(bc|ltc)1[0-9a-z]{8,})')"
    )
    found = []
    for row in rows:
        for wallet in find_wallets(row.pop("text")):
            item = _canonical(
                {**row, "value": wallet.address, "currency": wallet.currency}, "value", "currency"
            )
            if item is not None:
                found.append(item)
    return found


def link_wallets(engine: DuckDBEngine) -> LinkReport:
    """Replace the ads and case tags with the wallets found now; return what was linked."""
    ads = ad_wallets(engine)
    cases = case_wallets(engine)
    now = datetime.now(UTC)
    run = "link-" + now.strftime("%Y%m%d%H%M%S")
    by_wallet: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for row in ads:
        by_wallet.setdefault((row["chain"], row["address"], row.get("network_id")), []).append(row)
    columns: dict[str, list[Any]] = {k: [] for k in (
        "chain", "address", "label", "category", "confidence", "level", "context", "origin",
        "source", "import_id", "file_sha256", "row_number")}  # fmt: skip

    def add(row: dict[str, Any], **values: Any) -> None:
        for key in columns:
            columns[key].append(values.get(key, row.get(key)))

    for (chain, address, network), rows in sorted(by_wallet.items(), key=lambda kv: str(kv[0])):
        first = rows[0]
        label = f"Ad network {network}" if network else f"Wallet in {len(rows)} ad(s)"
        context = json.dumps(
            {"ads": [r["ad_key"] for r in rows[:50]], "ad_count": len(rows), "network": network}
        )
        add(first, chain=chain, address=address, label=label, category="ad-network",
            confidence="ctip_ad", level=60, context=context, origin="ads")  # fmt: skip
    for row in cases:
        add(row, label=f"Case {row['case_id']}", category="case", confidence="ctip_case", level=80,
            context=json.dumps({"case_id": row["case_id"]}), origin="case")  # fmt: skip
    with engine.transaction():
        engine.sql("DELETE FROM crypto_tags WHERE origin IN ('ads', 'case')")
        if columns["address"]:
            table = pa.table({k: pa.array(v, pa.int64() if k in ("level", "row_number") else pa.string())
                              for k, v in columns.items()})  # fmt: skip
            engine.register("_links", table)
            engine.sql(
                "INSERT INTO crypto_tags SELECT chain, address, label, category, NULL, ?, confidence,"
                " level, false, NULL, context, origin, ?, source, import_id, file_sha256,"
                " row_number, ? FROM _links",
                ["ctip " + "ads and cases", run, now],
            )
            engine.unregister("_links")
    linked = engine.rows(
        "SELECT count(DISTINCT a.address_id), count(DISTINCT c.cluster_id) FROM crypto_tags t"
        " JOIN crypto_addresses a ON a.chain = t.chain AND a.address = t.address"
        " LEFT JOIN crypto_clusters c USING (address_id) WHERE t.origin IN ('ads', 'case')"
    )[0]
    return LinkReport(
        ad_wallets=len({(r["chain"], r["address"]) for r in ads}),
        case_wallets=len({(r["chain"], r["address"]) for r in cases}),
        tags=len(columns["address"]),
        in_workspace=int(linked[0]),
        clusters=int(linked[1]),
        networks=len({r.get("network_id") for r in ads if r.get("network_id")}),
    )


def linked_clusters(engine: DuckDBEngine) -> list[dict[str, Any]]:
    """Clusters holding a wallet from an ad or a case, with the networks and cases they link."""
    return engine.records(
        "WITH linked AS (SELECT a.address_id, t.address, t.chain, t.origin, t.label, t.context"
        "   FROM crypto_tags t JOIN crypto_addresses a ON a.chain = t.chain AND a.address = t.address"
        "   WHERE t.origin IN ('ads', 'case')),"
        " sizes AS (SELECT cluster_id, count(*) AS size FROM crypto_clusters GROUP BY cluster_id)"
        " SELECT coalesce(c.cluster_id, l.address_id) AS cluster, any_value(l.chain) AS chain,"
        "   any_value(s.size) AS cluster_size, list(DISTINCT l.address ORDER BY l.address) AS wallets,"
        "   list(DISTINCT l.label ORDER BY l.label) FILTER (WHERE l.origin = 'ads') AS ad_networks,"
        "   list(DISTINCT l.label ORDER BY l.label) FILTER (WHERE l.origin = 'case') AS cases"
        " FROM linked l LEFT JOIN crypto_clusters c USING (address_id) LEFT JOIN sizes s USING (cluster_id)"
        " GROUP BY 1 ORDER BY cluster_size DESC NULLS LAST, cluster"
    )


def cluster_link_rows(engine: DuckDBEngine) -> pa.Table:
    """(ad_key, kind, value) rows joining ads whose wallets share a multi-address cluster."""
    empty = pa.table({"ad_key": pa.array([], pa.string()), "kind": pa.array([], pa.string()),
                      "value": pa.array([], pa.string())})  # fmt: skip
    wallets = ad_wallets(engine)
    if not wallets:
        return empty
    engine.register("_ad_wallets", pa.table({
        "ad_key": [w["ad_key"] for w in wallets], "chain": [w["chain"] for w in wallets],
        "address": [w["address"] for w in wallets]}))  # fmt: skip
    table = engine.to_arrow(
        "WITH sizes AS (SELECT cluster_id, count(*) AS size FROM crypto_clusters GROUP BY ALL)"
        " SELECT DISTINCT w.ad_key, 'wallet' AS kind,"
        " 'crypto-cluster:' || w.chain || ':' || c.cluster_id AS value"
        " FROM _ad_wallets w JOIN crypto_addresses a ON a.chain = w.chain AND a.address = w.address"
        " JOIN crypto_clusters c USING (address_id) JOIN sizes s USING (cluster_id) WHERE s.size > 1"
    )
    engine.unregister("_ad_wallets")
    return table if table.num_rows else empty

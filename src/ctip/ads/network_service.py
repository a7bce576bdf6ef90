"""``ctip ads networks``: build networks from stored identifiers, clusters and image links, and
describe each one (ads, contacts, sites, cities, time span, indicator counts)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ctip.ads import decisions
from ctip.ads.networks import LINK_KINDS
from ctip.ads.pipeline import TempStages, links_sql, networks_stage
from ctip.ads.service import (
    LINK_SOURCES,
    _finish,
    _start,
    ad_count,
    is_current,
    run_cluster,
    run_extract,
)
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.workspace import Workspace

WORKSPACE_IDENTIFIERS = "SELECT ad_key, kind, value FROM ad_identifiers"


def link_rows(engine: DuckDBEngine, kinds: tuple[str, ...]) -> pa.Table:
    """All (ad_key, kind, value) link rows of the wanted kinds, rejected links left out.

    The SQL is the Parquet jobs' (``pipeline.links_sql``) plus what only the workspace has:
    link sources registered by other capabilities and the analyst's rejected links.
    """
    empty = pa.schema([("ad_key", pa.string()), ("kind", pa.string()), ("value", pa.string())])
    parts = [
        source(engine).select(["ad_key", "kind", "value"]).cast(empty) for source in LINK_SOURCES
    ]
    engine.register("_ctip_extra_links", pa.concat_tables([empty.empty_table(), *parts]))
    rejected = sorted(t for t, d in decisions.link_decisions(engine).items() if d == "reject")
    engine.register("_ctip_rejected_links", pa.table({"target": pa.array(rejected, pa.string())}))
    try:
        return engine.to_arrow(
            links_sql(
                WORKSPACE_IDENTIFIERS,
                "ads",
                "ad_clusters",
                kinds,
                extra="_ctip_extra_links",
                rejected="_ctip_rejected_links",
            )
            + " ORDER BY ad_key, kind, value"
        )
    finally:
        engine.unregister("_ctip_extra_links")
        engine.unregister("_ctip_rejected_links")


def run_networks(
    workspace: Workspace,
    *,
    kinds: tuple[str, ...] = LINK_KINDS,
    max_size: int = 5000,
    min_size: int = 2,
    region: str = "US",
) -> list[dict[str, Any]]:
    """Build and store networks; returns one summary per network of ``min_size`` ads or more.

    The graph and its ids come from the same stage as ``ctip ads networks --input ...``
    (``pipeline.networks_stage``), run into a temp table.
    """
    unknown = [k for k in kinds if k not in LINK_KINDS]
    if unknown:
        raise BadInputError(f"unknown link kind '{unknown[0]}'", hint=", ".join(LINK_KINDS))
    engine = workspace.engine
    if not is_current(engine, "extract"):
        run_extract(workspace, region=region)
    if "cluster" in kinds and not is_current(engine, "cluster"):
        run_cluster(workspace)
    links = link_rows(engine, kinds)
    engine.register("_ctip_links", links)
    stages = TempStages(engine)
    networks = networks_stage(stages, "_ctip_links", "ads", max_size=max_size)
    confirmed = {t for t, d in decisions.link_decisions(engine).items() if d == "confirm"}
    with engine.transaction():
        run_id = _start(engine, "networks", {"kinds": list(kinds), "max_size": max_size}, "1")
        engine.sql("DELETE FROM ad_networks")
        engine.sql("DELETE FROM ad_network_links")
        engine.sql(
            "INSERT INTO ad_networks (run_id, ad_key, network_id, component_id)"
            f" SELECT ?, ad_key, network_id, component_id FROM {networks} ORDER BY ad_key",
            [run_id],
        )
        engine.sql(
            "INSERT INTO ad_network_links (run_id, network_id, kind, value, ads, decision)"
            " SELECT ?, n.network_id, l.kind, l.value, count(DISTINCT l.ad_key),"
            " CASE WHEN l.kind || ':' || l.value IN (SELECT unnest(?::VARCHAR[]))"
            " THEN 'confirmed' END FROM _ctip_links l JOIN ad_networks n USING (ad_key)"
            " GROUP BY ALL",
            [run_id, sorted(confirmed)],
        )
        _finish(engine, run_id, ad_count(engine))
    engine.unregister("_ctip_links")
    stages.drop()
    return network_summaries(engine, min_size=min_size)


def network_summaries(
    engine: DuckDBEngine, *, min_size: int = 2, limit: int | None = None
) -> list[dict[str, Any]]:
    """One row per stored network: members, contacts, sites, cities, time span, flags."""
    rows = engine.records(
        """
        WITH members AS (
            SELECT n.network_id, n.component_id, a.* FROM ad_networks n JOIN ads a USING (ad_key)
        ), sized AS (
            SELECT network_id, any_value(component_id) AS component, count(*) AS size,
                list(DISTINCT id ORDER BY id) AS ids,
                list(DISTINCT site ORDER BY site) FILTER (WHERE site IS NOT NULL) AS sites,
                list(DISTINCT location ORDER BY location) FILTER (WHERE location IS NOT NULL) AS cities,
                min(posted_at) AS first_seen, max(posted_at) AS last_seen
            FROM members GROUP BY network_id HAVING count(*) >= ?
        ), contacts AS (
            SELECT network_id,
                list(DISTINCT value ORDER BY value) FILTER (WHERE kind = 'phone') AS phones,
                list(DISTINCT value ORDER BY value) FILTER (WHERE kind = 'email') AS emails,
                list(DISTINCT value ORDER BY value) FILTER (WHERE kind = 'handle') AS handles,
                list(DISTINCT value ORDER BY value) FILTER (WHERE kind = 'wallet') AS wallets
            FROM ad_network_links GROUP BY network_id
        ), flags AS (
            SELECT network_id, map_from_entries(list((code, ads) ORDER BY code)) AS indicators,
                max(top) AS top_score
            FROM (
                SELECT n.network_id, f.code, count(DISTINCT f.ad_key) AS ads, 0.0 AS top
                FROM ad_networks n JOIN ad_flags f USING (ad_key) GROUP BY ALL
            ) GROUP BY network_id
        ), scores AS (
            SELECT n.network_id, max(s.score) AS max_score
            FROM ad_networks n JOIN ad_scores s USING (ad_key) GROUP BY ALL
        )
        SELECT s.network_id AS network, s.ids, coalesce(c.phones, []) AS phones,
            coalesce(c.emails, []) AS emails, coalesce(c.handles, []) AS handles,
            coalesce(c.wallets, []) AS wallets, coalesce(s.sites, []) AS sites,
            s.first_seen, s.last_seen, s.size, coalesce(s.cities, []) AS cities,
            s.component, f.indicators, sc.max_score
        FROM sized s LEFT JOIN contacts c USING (network_id) LEFT JOIN flags f USING (network_id)
        LEFT JOIN scores sc USING (network_id)
        ORDER BY s.size DESC, s.network_id
        """
        + (" LIMIT ?" if limit else ""),
        [min_size, limit] if limit else [min_size],
    )
    for row in rows:
        row["indicators"] = dict(row["indicators"] or {})
    return rows

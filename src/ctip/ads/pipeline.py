"""The ads steps as named stages over an Engine, shared by the workspace and Parquet jobs.

Every step is written once here: Arrow batch functions (``ctip.ads.batch``) for the Python
work, portable SQL (DuckDB dialect, transpiled for Spark) for the relational work. What runs
them differs:

- a Parquet job (``ctip ads cluster --input ads.parquet --output DIR``, DuckDB or Spark) passes
  a ``ctip.engine.jobs.ParquetJob``: each stage is written to ``DIR/<stage>`` and reused when a
  rerun finds it finished;
- the workspace passes ``TempStages``: each stage becomes a DuckDB temp table.

Input is a view ``ads`` with the columns ``ad_key, id, title, body, url, site, location, age,
posted_at, images`` (the workspace table, or ``ctip.ads.jobs.define_ads_view`` over Parquet).
No step compares every ad with every other: LSH buckets pair each ad with its neighbour in the
bucket (linear in the bucket), and everything else is joins and group-bys on keys.

Connected components (of verified text pairs, and of ads sharing identifiers) run on the
driver with scipy's union-find over the collected edges rather than as iterative min-label
propagation in SQL. Neighbour pairs chain a bucket into a path, so label propagation would
need as many full passes over the edges as the largest cluster has members (hundreds of
shuffles on Spark), while the edges themselves are few (at most ``bands`` per ad, and only
values shared by two or more ads for networks), so collecting them costs one pass and tens of
bytes per edge. Leiden splitting of very large networks needs the graph on the driver anyway.
Should the edges outgrow the driver, the SQL large-star/small-star components of
``ctip.engine.components`` (O(log n) rounds) are the drop-in replacement for ``label``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ctip.ads.batch import (
    EXTRACT_COLUMNS,
    EXTRACTED_SCHEMA,
    SCREEN_COLUMNS,
    SCREENED_SCHEMA,
    SIGN_COLUMNS,
    SIGNED_SCHEMA,
    VERIFIED_SCHEMA,
    extract_batches,
    screen_batches,
    sign_batches,
    verify_batches,
)
from ctip.ads.cluster import MinHashLSH, components
from ctip.ads.indicators import Catalogue
from ctip.ads.networks import build_networks
from ctip.engine.base import Engine
from ctip.engine.duckdb import DuckDBEngine

IDENTIFIER_KINDS = ("phone", "email", "handle", "wallet")
# A cluster decision: ("confirm" | "reject", the member ad keys at decision time).
ClusterDecision = tuple[str, Sequence[str]]


class Stages(Protocol):
    """Where stages run: ``ParquetJob`` (Parquet datasets) or ``TempStages`` (temp tables)."""

    @property
    def engine(self) -> Engine: ...

    def stage(
        self, name: str, build: Callable[[], str], *, partition_by: Sequence[str] = ()
    ) -> str:
        """Run ``build``'s SQL as stage ``name``; return the view name later SQL should use."""
        ...


@dataclass
class TempStages:
    """Stages as DuckDB temp tables, for the workspace and for files read in memory.

    Temp tables keep the workspace file untouched (nothing is written until the step stores
    its results) and vanish with the connection.
    """

    engine: DuckDBEngine
    prefix: str = "_ctip_ads_"
    tables: list[str] = field(default_factory=list)

    def stage(
        self, name: str, build: Callable[[], str], *, partition_by: Sequence[str] = ()
    ) -> str:
        del partition_by  # only meaningful for Parquet datasets
        table = self.prefix + name
        self.engine.sql(f"CREATE OR REPLACE TEMP TABLE {table} AS {build()}")
        self.tables.append(table)
        return table

    def drop(self) -> None:
        for table in self.tables:
            self.engine.sql(f"DROP TABLE IF EXISTS {table}")
        self.tables.clear()


def _select(columns: Sequence[str], source: str) -> str:
    """Columns for a batch function; ``age`` as text, as every step reads it as text."""
    parts = ["CAST(age AS VARCHAR) AS age" if c == "age" else c for c in columns]
    return f"SELECT {', '.join(parts)} FROM {source}"


def _run(stages: Stages, name: str, build: Callable[[], str], scratch: str) -> str:
    """Run a stage, then drop the scratch view its ``build`` registered: the stage's output
    (temp table or Parquet) replaces it, and on a long-lived workspace connection it would
    otherwise keep a whole Arrow table in memory."""
    result = stages.stage(name, build)
    stages.engine.unregister(scratch)
    return result


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- extract and screen -----------------------------------------------------------------------


def extract_stage(stages: Stages, ads: str, *, region: str) -> str:
    """Stage ``extracted``: identifiers per ad (see ``batch.EXTRACTED_SCHEMA``)."""
    engine = stages.engine

    def build() -> str:
        engine.map_arrow(
            _select(EXTRACT_COLUMNS, ads),
            partial(extract_batches, region=region),
            EXTRACTED_SCHEMA,
            "_ctip_ads_extract_out",
        )
        return f"SELECT {', '.join(EXTRACTED_SCHEMA.names)} FROM _ctip_ads_extract_out"

    return _run(stages, "extracted", build, "_ctip_ads_extract_out")


def screen_stage(
    stages: Stages,
    ads: str,
    *,
    catalogue: Catalogue,
    rejected: Mapping[str, frozenset[str]] | None = None,
    confirmed: frozenset[tuple[str, str]] = frozenset(),
) -> str:
    """Stage ``screened``: score, indicators (JSON) and flags per ad."""
    engine = stages.engine
    function = partial(
        screen_batches, catalogue=catalogue, rejected=dict(rejected or {}), confirmed=confirmed
    )

    def build() -> str:
        engine.map_arrow(
            _select(SCREEN_COLUMNS, ads), function, SCREENED_SCHEMA, "_ctip_ads_screen_out"
        )
        return f"SELECT {', '.join(SCREENED_SCHEMA.names)} FROM _ctip_ads_screen_out"

    return _run(stages, "screened", build, "_ctip_ads_screen_out")


# --- cluster ----------------------------------------------------------------------------------

# Each ad is paired with the next one in each LSH bucket (ordered by id, then key, so the
# result does not depend on how keys were minted): linear, like ``MinHashLSH.candidate_pairs``.
CANDIDATES_SQL = """
SELECT DISTINCT least(ad_key, next_key) AS left_key, greatest(ad_key, next_key) AS right_key
FROM (
    SELECT ad_key, lead(ad_key) OVER (PARTITION BY band_key ORDER BY id, ad_key) AS next_key
    FROM (SELECT ad_key, id, unnest(band_keys) AS band_key FROM {signed})
)
WHERE next_key IS NOT NULL
"""


def cluster_stages(
    stages: Stages,
    ads: str,
    *,
    lsh: MinHashLSH,
    decisions: Sequence[ClusterDecision] = (),
) -> str:
    """Stages ``signatures``, ``candidates``, ``pairs`` and ``clusters`` (ad -> cluster id).

    Cluster ids are ``c-`` + the smallest ad key in the cluster. ``decisions`` are the
    workspace's analyst decisions on clusters (Parquet jobs have none).
    """
    engine = stages.engine

    def sign() -> str:
        engine.map_arrow(
            _select(SIGN_COLUMNS, ads),
            partial(sign_batches, lsh=lsh),
            SIGNED_SCHEMA,
            "_ctip_ads_sign_out",
        )
        return f"SELECT {', '.join(SIGNED_SCHEMA.names)} FROM _ctip_ads_sign_out"

    signed = _run(stages, "signatures", sign, "_ctip_ads_sign_out")
    candidates = stages.stage("candidates", lambda: CANDIDATES_SQL.format(signed=signed))

    def verify() -> str:
        engine.map_arrow(
            f"SELECT c.left_key, c.right_key, l.signature AS left_signature,"
            f" r.signature AS right_signature FROM {candidates} c"
            f" JOIN {signed} l ON l.ad_key = c.left_key"
            f" JOIN {signed} r ON r.ad_key = c.right_key",
            partial(verify_batches, bins=lsh.bins),
            VERIFIED_SCHEMA,
            "_ctip_ads_verify_out",
        )
        return (
            "SELECT left_key, right_key, similarity FROM _ctip_ads_verify_out"
            f" WHERE similarity >= CAST({float(lsh.threshold)!r} AS DOUBLE)"
        )

    pairs = _run(stages, "pairs", verify, "_ctip_ads_verify_out")

    def label() -> str:
        edges = engine.to_arrow(f"SELECT left_key, right_key FROM {pairs}")
        left, right = apply_cluster_decisions(
            _strings(edges.column("left_key")), _strings(edges.column("right_key")), decisions
        )
        engine.register("_ctip_ads_cluster_members", cluster_members(left, right))
        return (
            f"SELECT s.ad_key, s.id, coalesce(m.cluster_id, 'c-' || s.ad_key) AS cluster_id"
            f" FROM {signed} s LEFT JOIN _ctip_ads_cluster_members m ON m.ad_key = s.ad_key"
        )

    return _run(stages, "clusters", label, "_ctip_ads_cluster_members")


def _strings(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.cast(pa.string())


def apply_cluster_decisions(
    left: pa.Array, right: pa.Array, decisions: Sequence[ClusterDecision]
) -> tuple[pa.Array, pa.Array]:
    """Rejected clusters lose the text links among their members; confirmed ones are linked."""
    for decision, members in decisions:
        if len(members) < 2:
            continue
        if decision == "reject":
            inside = pa.array(list(members), pa.string())
            banned = pc.and_(pc.is_in(left, inside), pc.is_in(right, inside))
            left, right = left.filter(pc.invert(banned)), right.filter(pc.invert(banned))
        else:
            others = list(members[1:])
            left = pa.concat_arrays([left, pa.array([members[0]] * len(others), pa.string())])
            right = pa.concat_arrays([right, pa.array(others, pa.string())])
    return left, right


def encode(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Integer codes of ``values`` and the distinct values in order of first appearance.

    Done by Arrow in C++, so millions of keys never become Python strings on the driver.
    """
    uniques = pc.unique(values)
    codes: np.ndarray = pc.index_in(values, value_set=uniques).to_numpy().astype(np.int64)
    return codes, uniques


def smallest_ids(keys: pa.Array, labels: np.ndarray, prefix: str) -> pa.Array:
    """Per key, ``prefix`` + the smallest key with the same label: ids that stay stable while
    membership does, whatever order the engine returned rows in."""
    order = pc.sort_indices(keys).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    smallest = np.full(int(labels.max()) + 1 if len(labels) else 0, len(order), dtype=np.int64)
    np.minimum.at(smallest, labels, rank)
    chosen = keys.take(pa.array(order[smallest[labels]]))
    return pc.binary_join_element_wise(prefix, chosen, "")


MEMBERS_SCHEMA = pa.schema([("ad_key", pa.string()), ("cluster_id", pa.string())])


def cluster_members(left: pa.Array, right: pa.Array) -> pa.Table:
    """(ad_key, cluster_id) for every ad in a verified pair: components of the pair graph."""
    if len(left) == 0:
        return MEMBERS_SCHEMA.empty_table()
    codes, keys = encode(pa.concat_arrays([left, right]))
    labels = components(len(keys), codes.reshape(2, -1).T)
    return pa.table([keys, smallest_ids(keys, labels, "c-")], schema=MEMBERS_SCHEMA)


# --- networks ---------------------------------------------------------------------------------


def links_sql(
    identifiers: str,
    ads: str,
    clusters: str,
    kinds: Sequence[str],
    *,
    extra: str | None = None,
    rejected: str | None = None,
) -> str:
    """(ad_key, kind, value) link rows of the wanted ``kinds``, each once.

    ``identifiers`` is SQL giving (ad_key, kind, value) per sighting; ``extra`` a view of more
    link rows (other capabilities' sources, workspace only); ``rejected`` a view with a
    ``target`` column of rejected ``kind:value`` links (workspace only).
    """
    wanted = ", ".join(_quote(k) for k in kinds)
    identifier_kinds = ", ".join(_quote(k) for k in IDENTIFIER_KINDS)
    parts = [
        f"SELECT ad_key, kind, value FROM ({identifiers}) WHERE kind IN ({identifier_kinds})",
        f"SELECT ad_key, 'image' AS kind, image AS value"
        f" FROM (SELECT ad_key, unnest(images) AS image FROM {ads})",
        f"SELECT ad_key, 'cluster' AS kind, cluster_id AS value FROM {clusters}"
        f" WHERE cluster_id IN"
        f" (SELECT cluster_id FROM {clusters} GROUP BY cluster_id HAVING count(*) > 1)",
    ]
    if extra is not None:
        parts.append(f"SELECT ad_key, kind, value FROM {extra}")
    union = "\n    UNION ALL\n    ".join(parts)
    query = (
        f"SELECT DISTINCT ad_key, kind, value FROM (\n    {union}\n)"
        f" WHERE value IS NOT NULL AND kind IN ({wanted})"
    )
    if rejected is not None:
        query += f" AND kind || ':' || value NOT IN (SELECT target FROM {rejected})"
    return query


NETWORK_MEMBERS_SCHEMA = pa.schema(
    [("ad_key", pa.string()), ("network_id", pa.string()), ("component_id", pa.string())]
)


def network_members(engine: Engine, links: str, ads: str, *, max_size: int) -> pa.Table:
    """(ad_key, network_id, component_id) for every ad sharing a link value with another ad.

    Only values shared by two or more ads can join anything, so only those rows reach the
    driver. Rows come sorted by ad id, key, kind and value, so node numbering (which Leiden's
    result depends on) is the same on every engine and for every way of minting keys.
    """
    rows = engine.to_arrow(
        f"SELECT l.ad_key, l.kind, l.value FROM {links} l"
        f" JOIN (SELECT kind, value FROM {links} GROUP BY kind, value HAVING count(*) > 1) s"
        f" ON s.kind = l.kind AND s.value = l.value"
        f" JOIN {ads} a ON a.ad_key = l.ad_key"
        f" ORDER BY a.id, l.ad_key, l.kind, l.value"
    )
    if rows.num_rows == 0:
        return NETWORK_MEMBERS_SCHEMA.empty_table()
    ad_index, keys = encode(_strings(rows.column("ad_key")))
    value_index, _ = encode(
        pc.binary_join_element_wise(
            _strings(rows.column("kind")), _strings(rows.column("value")), ":"
        )
    )
    assignment = build_networks(len(keys), ad_index, value_index, max_size=max_size)
    return pa.table(
        [
            keys,
            smallest_ids(keys, assignment.network, "n-"),
            smallest_ids(keys, assignment.component, "g-"),
        ],
        schema=NETWORK_MEMBERS_SCHEMA,
    )


def networks_stage(stages: Stages, links: str, ads: str, *, max_size: int) -> str:
    """Stage ``networks``: every ad with its network and connected-component ids.

    Ids are ``n-`` / ``g-`` + the smallest ad key in the network or component; an ad that
    shares nothing is a network of one.
    """
    engine = stages.engine

    def build() -> str:
        members = network_members(engine, links, ads, max_size=max_size)
        engine.register("_ctip_ads_network_members", members)
        return (
            "SELECT a.ad_key, a.id, coalesce(m.network_id, 'n-' || a.ad_key) AS network_id,"
            " coalesce(m.component_id, 'g-' || a.ad_key) AS component_id"
            f" FROM {ads} a LEFT JOIN _ctip_ads_network_members m ON m.ad_key = a.ad_key"
        )

    return _run(stages, "networks", build, "_ctip_ads_network_members")


def network_summary_sql(networks: str, links: str, ads: str, *, min_size: int) -> str:
    """One row per network of ``min_size`` ads or more: members, contacts, sites, time span."""

    def values(kind: str) -> str:
        return (
            f"list_sort(list(DISTINCT l.value) FILTER (WHERE l.kind = {_quote(kind)})) AS {kind}s"
        )

    return f"""
    WITH members AS (
        SELECT n.network_id, n.component_id, a.ad_key, a.id, a.site, a.location, a.posted_at
        FROM {networks} n JOIN {ads} a ON a.ad_key = n.ad_key
    ), sized AS (
        SELECT network_id, min(component_id) AS component, count(*) AS size,
            list_sort(list(DISTINCT id)) AS ids,
            list_sort(list(DISTINCT site) FILTER (WHERE site IS NOT NULL)) AS sites,
            list_sort(list(DISTINCT location) FILTER (WHERE location IS NOT NULL)) AS cities,
            min(posted_at) AS first_seen, max(posted_at) AS last_seen
        FROM members GROUP BY network_id HAVING count(*) >= {int(min_size)}
    ), contacts AS (
        SELECT n.network_id, {values("phone")}, {values("email")}, {values("handle")},
            {values("wallet")}
        FROM {links} l JOIN {networks} n ON n.ad_key = l.ad_key GROUP BY n.network_id
    )
    SELECT s.network_id AS network, s.size, s.ids, coalesce(c.phones, []) AS phones,
        coalesce(c.emails, []) AS emails, coalesce(c.handles, []) AS handles,
        coalesce(c.wallets, []) AS wallets, coalesce(s.sites, []) AS sites,
        coalesce(s.cities, []) AS cities, s.first_seen, s.last_seen, s.component
    FROM sized s LEFT JOIN contacts c ON c.network_id = s.network_id
    """

"""Workspace steps for ads: extract, screen, cluster, networks. The CLI and the demo call these.

Each step reads the ads in the workspace, replaces its previous results and records a run in
``ad_runs``. ``networks`` needs identifiers and clusters: it runs ``extract`` and ``cluster``
first when they are missing or older than the ads. Analyst decisions are applied in every step
(see ``decisions``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ctip.ads import decisions
from ctip.ads.cluster import MinHashLSH
from ctip.ads.extract import KINDS
from ctip.ads.indicators import Catalogue, load_catalogue
from ctip.ads.jobs import CLUSTER_VERSION, EXTRACTOR_VERSION
from ctip.ads.pipeline import TempStages, cluster_stages, extract_stage, screen_stage
from ctip.ads.templates import summarise
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import NotFoundError
from ctip.workspace import Workspace

LinkSource = Callable[[DuckDBEngine], pa.Table]
# Other capabilities add link rows (ad_key, kind, value) here, e.g. media's image matches.
LINK_SOURCES: list[LinkSource] = []


def register_link_source(source: LinkSource) -> None:
    """Add a provider of extra network links: a function returning (ad_key, kind, value)."""
    if source not in LINK_SOURCES:
        LINK_SOURCES.append(source)


def ad_count(engine: DuckDBEngine) -> int:
    return int(engine.scalar("SELECT count(*) FROM ads") or 0)


def _start(engine: DuckDBEngine, step: str, params: dict[str, Any], version: str) -> str:
    run_id = "run-" + uuid.uuid4().hex[:10]
    engine.sql(
        "INSERT INTO ad_runs (run_id, step, started_at, params, version) VALUES (?, ?, ?, ?, ?)",
        [run_id, step, datetime.now(UTC), json.dumps(params), version],
    )
    return run_id


def _finish(engine: DuckDBEngine, run_id: str, ads: int) -> None:
    engine.sql(
        "UPDATE ad_runs SET finished_at = ?, ads = ? WHERE run_id = ?",
        [datetime.now(UTC), ads, run_id],
    )


def is_current(engine: DuckDBEngine, step: str) -> bool:
    """Whether the latest finished run of ``step`` covered every ad now stored."""
    row = engine.rows(
        "SELECT ads, finished_at FROM ad_runs WHERE step = ? AND finished_at IS NOT NULL"
        " ORDER BY finished_at DESC LIMIT 1",
        [step],
    )
    latest_import = engine.scalar("SELECT max(imported_at) FROM ads")
    return bool(row) and row[0][0] == ad_count(engine) and row[0][1] >= latest_import


# --- extract ---------------------------------------------------------------------------------


def _require_ads(engine: DuckDBEngine) -> None:
    if ad_count(engine) == 0:
        raise NotFoundError("no ads in the workspace", hint="run 'ctip import ads FILE' first")


def run_extract(workspace: Workspace, *, region: str = "US") -> list[dict[str, Any]]:
    """Extract identifiers from every stored ad; store them; return one row per ad.

    Runs the same stage as ``ctip ads extract --input ... --output ...`` (``pipeline``), here
    into a temp table, then stores every sighting in ``ad_identifiers``.
    """
    engine = workspace.engine
    _require_ads(engine)
    stages = TempStages(engine)
    with engine.transaction():
        run_id = _start(engine, "extract", {"region": region}, EXTRACTOR_VERSION)
        extracted = extract_stage(stages, "ads", region=region)
        engine.sql("DELETE FROM ad_identifiers")
        engine.sql(
            "INSERT INTO ad_identifiers (run_id, ad_key, kind, value, detail, field, start_pos,"
            " end_pos, evidence) SELECT ?, ad_key, i.kind, i.value, i.detail, i.field,"
            " i.start_pos, i.end_pos, i.evidence"
            f" FROM (SELECT ad_key, unnest(identifiers) AS i FROM {extracted})",
            [run_id],
        )
        rows = engine.records(
            f"SELECT ad_key, id, {', '.join(KINDS)} FROM {extracted} ORDER BY ad_key"
        )
        _finish(engine, run_id, len(rows))
    stages.drop()
    return [
        {"id": r["id"], "ad_key": r["ad_key"], **{k: json.loads(r[k]) for k in KINDS}} for r in rows
    ]


def _insert(engine: DuckDBEngine, table: str, data: pa.Table, run_id: str) -> None:
    if data.num_rows == 0:
        return
    engine.register("_ctip_ads_batch", data)
    columns = ", ".join(data.column_names)
    engine.sql(
        f"INSERT INTO {table} (run_id, {columns}) SELECT ?, {columns} FROM _ctip_ads_batch",
        [run_id],
    )
    engine.unregister("_ctip_ads_batch")


# --- screen ----------------------------------------------------------------------------------


def run_screen(workspace: Workspace, *, catalogue: Catalogue | None = None) -> list[dict[str, Any]]:
    """Screen every stored ad, leaving out rejected flags; store flags and scores.

    Runs the same stage as ``ctip ads screen --input ... --output ...``, with the analyst's
    flag decisions applied.
    """
    engine = workspace.engine
    _require_ads(engine)
    catalogue = catalogue or load_catalogue()
    decided = decisions.flag_decisions(engine)
    rejected: dict[str, set[str]] = {}
    for (key, code), verdict in decided.items():
        if verdict == "reject":
            rejected.setdefault(key, set()).add(code)
    confirmed = frozenset(target for target, verdict in decided.items() if verdict == "confirm")
    stages = TempStages(engine)
    with engine.transaction():
        run_id = _start(engine, "screen", {}, catalogue.version)
        screened = screen_stage(
            stages,
            "ads",
            catalogue=catalogue,
            rejected={key: frozenset(codes) for key, codes in rejected.items()},
            confirmed=confirmed,
        )
        engine.sql("DELETE FROM ad_flags")
        engine.sql("DELETE FROM ad_scores")
        engine.sql(
            "INSERT INTO ad_flags (run_id, ad_key, code, weight, evidence, decision)"
            " SELECT ?, ad_key, f.code, f.weight, f.evidence, f.decision"
            f" FROM (SELECT ad_key, unnest(flags) AS f FROM {screened})",
            [run_id],
        )
        engine.sql(
            "INSERT INTO ad_scores (run_id, ad_key, score, catalogue_version)"
            f" SELECT ?, ad_key, score, catalogue_version FROM {screened}",
            [run_id],
        )
        rows = engine.records(
            f"SELECT ad_key, id, score, indicators FROM {screened} ORDER BY ad_key"
        )
        _finish(engine, run_id, len(rows))
    stages.drop()
    return [
        {"id": r["id"], "ad_key": r["ad_key"], "score": r["score"],
         "indicators": json.loads(r["indicators"])}
        for r in rows
    ]  # fmt: skip


# --- cluster ---------------------------------------------------------------------------------


def run_cluster(
    workspace: Workspace, *, threshold: float = 0.5, summaries: int = 2000
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cluster stored ads by text; apply cluster decisions; store assignments and templates.

    Runs the same stages as ``ctip ads cluster --input ... --output ...`` (signatures in
    Arrow batches, LSH buckets and pairs in SQL, components of verified pairs), with the
    analyst's cluster decisions applied to the pairs.
    """
    engine = workspace.engine
    _require_ads(engine)
    stages = TempStages(engine)
    clusters = cluster_stages(
        stages, "ads", lsh=MinHashLSH(threshold=threshold), decisions=_cluster_decisions(engine)
    )
    rows = engine.records(
        f"SELECT c.id, c.ad_key, c.cluster_id AS cluster FROM {clusters} c ORDER BY c.ad_key"
    )
    ranked = engine.records(
        f"SELECT cluster_id, count(*) AS size FROM {clusters} GROUP BY cluster_id"
        " HAVING count(*) > 1 ORDER BY size DESC, cluster_id LIMIT ?",
        [summaries],
    )
    texts: dict[str, list[str]] = {}
    if ranked:
        engine.register(
            "_ctip_ads_ranked", pa.table({"cluster_id": [r["cluster_id"] for r in ranked]})
        )
        for cluster, title, body in engine.rows(
            f"SELECT c.cluster_id, a.title, a.body FROM {clusters} c"
            " JOIN _ctip_ads_ranked r USING (cluster_id) JOIN ads a USING (ad_key)"
            " ORDER BY c.ad_key"
        ):
            texts.setdefault(cluster, []).append(f"{title or ''}\n{body or ''}")
        engine.unregister("_ctip_ads_ranked")
    stages.drop()
    confirmed = {d.target for d in decisions.active(engine, "cluster") if d.decision == "confirm"}
    summary_rows = []
    for item in ranked:
        cluster = item["cluster_id"]
        template = summarise(texts[cluster])
        summary_rows.append(
            {
                "cluster": cluster,
                "size": int(item["size"]),
                **template.as_dict(),
                "decision": "confirmed" if cluster in confirmed else None,
            }
        )
    with engine.transaction():
        run_id = _start(engine, "cluster", {"threshold": threshold}, CLUSTER_VERSION)
        engine.sql("DELETE FROM ad_clusters")
        engine.sql("DELETE FROM ad_cluster_summaries")
        _insert(
            engine,
            "ad_clusters",
            pa.table(
                {"ad_key": [r["ad_key"] for r in rows], "cluster_id": [r["cluster"] for r in rows]}
            ),
            run_id,
        )
        _insert(
            engine,
            "ad_cluster_summaries",
            pa.table(
                {
                    "cluster_id": [r["cluster"] for r in summary_rows],
                    "size": pa.array([r["size"] for r in summary_rows], pa.int64()),
                    "template": [r["template"] for r in summary_rows],
                    "slots": [json.dumps(r["slots"], ensure_ascii=False) for r in summary_rows],
                    "decision": pa.array([r["decision"] for r in summary_rows], pa.string()),
                }
            ),
            run_id,
        )
        _finish(engine, run_id, len(rows))
    return rows, summary_rows


def _cluster_decisions(engine: DuckDBEngine) -> list[tuple[str, list[str]]]:
    """Active cluster decisions with their members still in the workspace, in key order."""
    keys = {str(r[0]) for r in engine.rows("SELECT ad_key FROM ads")}
    return [
        (item.decision, sorted(k for k in item.members if k in keys))
        for item in decisions.active(engine, "cluster")
    ]

"""Workspace steps for ads: extract, screen, cluster, networks. The CLI and the demo call these.

Each step reads the ads in the workspace, replaces its previous results and records a run in
``ad_runs``. ``networks`` needs identifiers and clusters: it runs ``extract`` and ``cluster``
first when they are missing or older than the ads. Analyst decisions are applied in every step
(see ``decisions``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from ctip.ads import decisions
from ctip.ads.cluster import MinHashLSH, Tokenizer, components
from ctip.ads.extract import KINDS, extract_identifiers
from ctip.ads.indicators import Catalogue, load_catalogue, screen
from ctip.ads.templates import summarise
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import NotFoundError
from ctip.workspace import Workspace

AD_COLUMNS = "ad_key, id, title, body, url, site, location, posted_at, age, images"
BATCH = 20_000
EXTRACTOR_VERSION = "1"
LinkSource = Callable[[DuckDBEngine], pa.Table]
# Other capabilities add link rows (ad_key, kind, value) here, e.g. media's image matches.
LINK_SOURCES: list[LinkSource] = []


def register_link_source(source: LinkSource) -> None:
    """Add a provider of extra network links: a function returning (ad_key, kind, value)."""
    if source not in LINK_SOURCES:
        LINK_SOURCES.append(source)


def ad_count(engine: DuckDBEngine) -> int:
    return int(engine.scalar("SELECT count(*) FROM ads") or 0)


def iter_ads(engine: DuckDBEngine, batch: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    total = ad_count(engine)
    if total == 0:
        raise NotFoundError("no ads in the workspace", hint="run 'ctip import ads FILE' first")
    for offset in range(0, total, batch):
        yield engine.records(
            f"SELECT {AD_COLUMNS} FROM ads ORDER BY ad_key LIMIT ? OFFSET ?", [batch, offset]
        )


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

IDENTIFIER_SCHEMA = pa.schema(
    [(n, pa.string()) for n in ("ad_key", "kind", "value", "detail", "field")]
    + [("start_pos", pa.int32()), ("end_pos", pa.int32()), ("evidence", pa.string())]
)


def run_extract(workspace: Workspace, *, region: str = "US") -> list[dict[str, Any]]:
    """Extract identifiers from every stored ad; store them; return one row per ad."""
    engine = workspace.engine
    out: list[dict[str, Any]] = []
    with engine.transaction():
        run_id = _start(engine, "extract", {"region": region}, EXTRACTOR_VERSION)
        engine.sql("DELETE FROM ad_identifiers")
        count = 0
        for ads in iter_ads(engine):
            rows: dict[str, list[Any]] = {name: [] for name in IDENTIFIER_SCHEMA.names}
            for ad in ads:
                extraction = extract_identifiers(ad, region=region)
                out.append({"id": ad["id"], "ad_key": ad["ad_key"], **extraction.as_dict()})
                for kind in KINDS:
                    singular = {"phones": "phone", "emails": "email", "handles": "handle",
                                "urls": "url", "crypto": "wallet", "prices": "price",
                                "ages": "age"}[kind]  # fmt: skip
                    for found in getattr(extraction, kind):
                        detail = found.detail.get("currency") or found.detail.get("platform")
                        for evidence in found.evidence:
                            for name, value in zip(
                                IDENTIFIER_SCHEMA.names,
                                (ad["ad_key"], singular, found.value, detail, evidence.field,
                                 evidence.start, evidence.end, evidence.text),
                                strict=True,
                            ):  # fmt: skip
                                rows[name].append(value)
            _insert(engine, "ad_identifiers", pa.table(rows, schema=IDENTIFIER_SCHEMA), run_id)
            count += len(ads)
        _finish(engine, run_id, count)
    return out


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
    """Screen every stored ad, leaving out rejected flags; store flags and scores."""
    engine = workspace.engine
    catalogue = catalogue or load_catalogue()
    decided = decisions.flag_decisions(engine)
    rejected_codes: dict[str, set[str]] = {}
    for (key, code), verdict in decided.items():
        if verdict == "reject":
            rejected_codes.setdefault(key, set()).add(code)
    out: list[dict[str, Any]] = []
    with engine.transaction():
        run_id = _start(engine, "screen", {}, catalogue.version)
        engine.sql("DELETE FROM ad_flags")
        engine.sql("DELETE FROM ad_scores")
        count = 0
        for ads in iter_ads(engine):
            flags: dict[str, list[Any]] = {
                k: [] for k in ("ad_key", "code", "weight", "evidence", "decision")
            }
            scores: dict[str, list[Any]] = {"ad_key": [], "score": [], "catalogue_version": []}
            for ad in ads:
                key = ad["ad_key"]
                rejected = frozenset(rejected_codes.get(key, ()))
                result = screen(ad, catalogue=catalogue, suppressed=rejected)
                items = []
                for flag in result.flags:
                    decision = decided.get((key, flag.code))
                    item = {
                        **flag.as_dict(),
                        "decision": "confirmed" if decision == "confirm" else None,
                    }
                    items.append(item)
                    for name, value in (("ad_key", key), ("code", flag.code), ("weight", flag.weight),
                                        ("evidence", json.dumps(item["evidence"], ensure_ascii=False)),
                                        ("decision", item["decision"])):  # fmt: skip
                        flags[name].append(value)
                scores["ad_key"].append(key)
                scores["score"].append(result.score)
                scores["catalogue_version"].append(catalogue.version)
                out.append(
                    {"id": ad["id"], "ad_key": key, "score": result.score, "indicators": items}
                )
            _insert(engine, "ad_flags", pa.table(flags), run_id)
            _insert(engine, "ad_scores", pa.table(scores), run_id)
            count += len(ads)
        _finish(engine, run_id, count)
    return out


# --- cluster ---------------------------------------------------------------------------------


def run_cluster(
    workspace: Workspace, *, threshold: float = 0.5, summaries: int = 2000
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cluster stored ads by text; apply cluster decisions; store assignments and templates."""
    engine = workspace.engine
    keys: list[str] = []
    ids: list[str] = []
    texts: list[str] = []
    for ads in iter_ads(engine):
        for ad in ads:
            keys.append(ad["ad_key"])
            ids.append(ad["id"])
            texts.append(f"{ad['title'] or ''}\n{ad['body'] or ''}")
    tokens, offsets = Tokenizer().corpus(texts)
    lsh = MinHashLSH(threshold=threshold)
    signature = lsh.signatures(tokens, offsets)
    pairs = lsh.candidate_pairs(signature)
    pairs = pairs[lsh.similarity(signature, pairs) >= threshold]
    labels = _apply_cluster_decisions(engine, keys, pairs)
    cluster_ids = _cluster_ids(keys, labels)
    members: dict[str, list[int]] = {}
    for index, cluster in enumerate(cluster_ids):
        members.setdefault(cluster, []).append(index)
    confirmed = {d.target for d in decisions.active(engine, "cluster") if d.decision == "confirm"}
    ranked = sorted((c for c, m in members.items() if len(m) > 1), key=lambda c: -len(members[c]))
    summary_rows = []
    for cluster in ranked[:summaries]:
        template = summarise([texts[i] for i in members[cluster]])
        summary_rows.append(
            {
                "cluster": cluster,
                "size": len(members[cluster]),
                **template.as_dict(),
                "decision": "confirmed" if cluster in confirmed else None,
            }
        )
    with engine.transaction():
        run_id = _start(engine, "cluster", {"threshold": threshold}, "minhash-oph-1")
        engine.sql("DELETE FROM ad_clusters")
        engine.sql("DELETE FROM ad_cluster_summaries")
        _insert(
            engine, "ad_clusters", pa.table({"ad_key": keys, "cluster_id": cluster_ids}), run_id
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
        _finish(engine, run_id, len(keys))
    rows = [
        {"id": i, "ad_key": k, "cluster": c} for i, k, c in zip(ids, keys, cluster_ids, strict=True)
    ]
    return rows, summary_rows


def _apply_cluster_decisions(
    engine: DuckDBEngine, keys: list[str], pairs: np.ndarray
) -> np.ndarray:
    """Rejected clusters: drop text links among their members. Confirmed: link them all."""
    position = {key: index for index, key in enumerate(keys)}
    extra: list[tuple[int, int]] = []
    for item in decisions.active(engine, "cluster"):
        indices = sorted(position[k] for k in item.members if k in position)
        if len(indices) < 2:
            continue
        if item.decision == "reject":
            banned = np.isin(pairs[:, 0], indices) & np.isin(pairs[:, 1], indices)
            pairs = pairs[~banned]
        else:
            extra.extend((indices[0], other) for other in indices[1:])
    if extra:
        pairs = np.concatenate([pairs, np.asarray(extra, dtype=np.int64)])
    return components(len(keys), pairs)


def _cluster_ids(keys: list[str], labels: np.ndarray) -> list[str]:
    """Stable ids: 'c-' + the smallest ad key in the cluster."""
    smallest: dict[int, str] = {}
    for key, label in zip(keys, labels.tolist(), strict=True):
        if label not in smallest or key < smallest[label]:
            smallest[label] = key
    return [f"c-{smallest[label]}" for label in labels.tolist()]

"""Attribution tags: GraphSense TagPack YAML in, labels for addresses and clusters out.

A TagPack (https://github.com/graphsense/graphsense-tagpacks) is a YAML document with a header
(``title``, ``creator``, ``description``, ``is_public``) and a list of ``tags``; any tag field
(``label``, ``source``, ``currency``/``network``, ``category``, ``abuse``, ``confidence``,
``is_cluster_definer``, ``context``, ``actor``) set in the header is the default for every tag.
Confidence is an id of GraphSense's confidence taxonomy (``ownership``, ``service_data``,
``web_crawl`` ...) whose levels are kept in ``data/confidence.yaml``; a number (0-1 or 0-100)
is accepted too. Tags on transactions (``tx_hash``) are quarantined: CTIP attributes addresses.

A row number is the line of the tag in the file, so a quarantine entry points at the line to
fix. Tags from CTIP itself (wallets found in ads and cases) are stored in the same table with
``origin`` 'ads' or 'case' (see ``links``).

An address takes its own most confident tag; an untagged address takes the most confident tag
of its cluster, preferring tags marked ``is_cluster_definer`` (as GraphSense does), so tagging
one deposit address of an exchange labels the whole exchange cluster.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from ctip.crypto.addresses import check_address, why_invalid
from ctip.crypto.store import CryptoImportReport, CryptoStore, Rejected, error, new_import_id
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.ingest.readers import decompress, read_bytes

TAG_FIELDS = (
    "label",
    "source",
    "currency",
    "network",
    "category",
    "abuse",
    "confidence",
    "is_cluster_definer",
    "context",
    "actor",
    "lastmod",
)
CHAIN_NAMES = {
    "bitcoin": "btc",
    "ethereum": "eth",
    "litecoin": "ltc",
    "bitcoin cash": "bch",
    "tron": "trx",
}


@lru_cache(maxsize=1)
def confidence_levels() -> dict[str, int]:
    text = (
        resources.files("ctip.crypto.data").joinpath("confidence.yaml").read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    return {str(k): int(v["level"]) for k, v in data["confidence"].items()}


def _confidence(value: Any) -> tuple[str | None, int | None, str | None]:
    """(id, level, problem)."""
    if value is None or value == "":
        return None, None, "no confidence (set it on the tag or in the header)"
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value) * (100 if float(value) <= 1 else 1)
        if not 0 <= number <= 100:
            return None, None, "a numeric confidence must be 0-1 or 0-100"
        return str(value), round(number), None
    text = str(value).strip().lower()
    level = confidence_levels().get(text)
    if level is None:
        return None, None, f"unknown confidence '{text}' (see GraphSense's confidence taxonomy)"
    return text, level, None


def _chain(tag: dict[str, Any]) -> str | None:
    raw = tag.get("network") or tag.get("currency")
    if raw is None:
        return None
    text = str(raw).strip().lower()
    return CHAIN_NAMES.get(text, text)


def _tag_lines(text: str) -> list[int]:
    """The 1-based line of each item of the top-level ``tags`` list."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "tags" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def import_tagpack(
    engine: DuckDBEngine, path: Path, *, source: str | None = None
) -> CryptoImportReport:
    """Import one TagPack file; bad tags go to quarantine (kind 'crypto')."""
    raw = read_bytes(path)
    data, _ = decompress(path, raw)
    try:
        text = data.decode("utf-8-sig")
        document = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInputError(
            f"{path} is not a readable YAML file ({str(exc).splitlines()[0]})"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("tags"), list):
        raise BadInputError(
            f"{path} is not a TagPack (a YAML mapping with a 'tags' list)",
            hint="see https://github.com/graphsense/graphsense-tagpacks",
        )
    sha = hashlib.sha256(raw).hexdigest()
    title = str(document.get("title") or path.stem)
    header = {k: document[k] for k in TAG_FIELDS if k in document}
    lines = _tag_lines(text)
    report = CryptoImportReport(new_import_id(), "", source or path.name, path.name, sha, "tagpack")
    report.read = len(document["tags"])
    store = CryptoStore(engine)
    started = datetime.now(UTC)
    rows: dict[str, list[Any]] = {k: [] for k in (
        "chain", "address", "label", "category", "abuse", "tag_source", "confidence",
        "confidence_level", "is_cluster_definer", "actor", "context", "row_number",
    )}  # fmt: skip
    rejected: list[Rejected] = []
    for index, item in enumerate(document["tags"]):
        row = lines[index] if index < len(lines) else index + 1
        tag = {**header, **item} if isinstance(item, dict) else None
        if tag is None:
            rejected.append(
                Rejected(row, item, [error(None, None, None, "a tag must be a mapping")])
            )
            continue
        problems = []
        chain = _chain(tag)
        if chain is None:
            problems.append(error("currency", "chain", None, "no currency or network"))
        if tag.get("tx_hash") and not tag.get("address"):
            problems.append(
                error(
                    "tx_hash",
                    "address",
                    tag.get("tx_hash"),
                    "transaction tags are not supported; tag the address",
                )
            )
        address = str(tag.get("address") or "").strip()
        checked = check_address(chain, address) if chain and address else None
        if chain and not tag.get("tx_hash") and checked is None:
            problems.append(error("address", "address", address, why_invalid(chain, address)))
        label = str(tag.get("label") or "").strip()
        if not label:
            problems.append(error("label", "label", None, "no label"))
        if not str(tag.get("source") or "").strip():
            problems.append(error("source", "source", None, "no source"))
        confidence, level, problem = _confidence(tag.get("confidence"))
        if problem:
            problems.append(error("confidence", "confidence", tag.get("confidence"), problem))
        if problems or checked is None or chain is None:
            rejected.append(Rejected(row, item, problems))
            continue
        for key, value in (
            ("chain", chain), ("address", checked.address), ("label", label),
            ("category", _text(tag.get("category"))), ("abuse", _text(tag.get("abuse"))),
            ("tag_source", str(tag["source"]).strip()), ("confidence", confidence),
            ("confidence_level", level), ("is_cluster_definer", bool(tag.get("is_cluster_definer"))),
            ("actor", _text(tag.get("actor"))), ("context", _text(tag.get("context"))),
            ("row_number", row),
        ):  # fmt: skip
            rows[key].append(value)
    if store.file_seen(sha):
        report.duplicates = report.read
        report.warnings.append(
            "this file was imported before (same sha256): nothing new was loaded"
        )
        with engine.transaction():
            store.record_import(report, len(raw), started)
        return report
    with engine.transaction():
        report.loaded = report.tags = _insert(store, report, title, rows)
        store.quarantine(report, rejected)
        report.quarantined = len(rejected)
        report.duplicates = report.read - report.loaded - report.quarantined
        report.chain = ",".join(sorted(set(rows["chain"])))
        store.record_import(report, len(raw), started)
    return report


def _text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _insert(
    store: CryptoStore, report: CryptoImportReport, title: str, rows: dict[str, list[Any]]
) -> int:
    """Insert tags not already stored from another file (same chain, address, label, source)."""
    table = pa.table(
        {
            **{k: pa.array(rows[k], pa.string()) for k in (
                "chain", "address", "label", "category", "abuse", "tag_source", "confidence", "actor", "context")},
            "confidence_level": pa.array(rows["confidence_level"], pa.int32()),
            "is_cluster_definer": pa.array(rows["is_cluster_definer"], pa.bool_()),
            "row_number": pa.array(rows["row_number"], pa.int64()),
        }
    )  # fmt: skip
    engine = store.engine
    engine.register("_tags", table)
    engine.sql(
        "CREATE TEMP TABLE _new_tags AS SELECT * FROM _tags n ANTI JOIN crypto_tags t"
        " ON t.chain = n.chain AND t.address = n.address AND t.label = n.label"
        " AND t.tag_source = n.tag_source"
    )
    engine.sql(
        "INSERT INTO crypto_tags SELECT chain, address, label, category, abuse, tag_source,"
        " confidence, confidence_level, is_cluster_definer, actor, context, 'tagpack', ?, ?, ?,"
        " ?, row_number, ? FROM _new_tags",
        [title, report.source, report.import_id, report.file_sha256, store.now],
    )
    loaded = int(engine.scalar("SELECT count(*) FROM _new_tags"))
    engine.sql("DROP TABLE _new_tags")
    engine.unregister("_tags")
    return loaded


ENTITY_LABELS = """
WITH tagged AS (
    SELECT a.address_id, t.label, t.category, t.abuse, t.confidence_level, t.is_cluster_definer,
           t.origin
    FROM crypto_tags t JOIN crypto_addresses a ON a.chain = t.chain AND a.address = t.address
),
own AS (
    SELECT address_id, arg_max(struct_pack(label, category, abuse, origin),
                               coalesce(confidence_level, 0)) AS tag
    FROM tagged GROUP BY address_id
),
by_cluster AS (
    SELECT c.cluster_id, arg_max(struct_pack(label, category, abuse, origin),
           (is_cluster_definer::INT, coalesce(confidence_level, 0))) AS tag
    FROM tagged JOIN crypto_clusters c USING (address_id) GROUP BY c.cluster_id
)
SELECT q.address_id, c.cluster_id,
       coalesce(o.tag.label, b.tag.label) AS label,
       coalesce(o.tag.category, b.tag.category) AS category,
       coalesce(o.tag.abuse, b.tag.abuse) AS abuse,
       CASE WHEN o.tag IS NOT NULL THEN 'address' WHEN b.tag IS NOT NULL THEN 'cluster' END AS via
FROM _label_query q
LEFT JOIN crypto_clusters c USING (address_id)
LEFT JOIN own o USING (address_id)
LEFT JOIN by_cluster b ON b.cluster_id = c.cluster_id
"""


def entity_labels(engine: DuckDBEngine, address_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Cluster, label, category, abuse and where the label came from, per address id."""
    if not address_ids:
        return {}
    engine.register(
        "_label_query", pa.table({"address_id": pa.array(sorted(set(address_ids)), pa.int64())})
    )
    try:
        records = engine.records(ENTITY_LABELS)
    finally:
        engine.unregister("_label_query")
    return {int(r["address_id"]): r for r in records}

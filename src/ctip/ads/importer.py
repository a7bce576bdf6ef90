"""``ctip import ads FILE``: load scraped or exported ads with validation and provenance.

Any format ``read_table`` reads (JSON Lines, JSON, CSV, XLSX, Parquet, compressed or not).
Columns are recognised by name (id, title, body/text/description, site, location/city,
posted_at/date, url, age, images/photos); other columns are kept in ``extra``. A row goes to
quarantine, with the field and the reason, when it has no text at all, an unreadable date, an
age that is not a whole number from 10 to 99, or an id already used by an earlier row of the
same file. As for cases: read = loaded + quarantined + duplicates, every ad keeps its source,
import id, file sha256, row number and import time, and importing the same file again loads
nothing (rows are recognised by file sha256 and row number, never by content: two identical
ads posted twice are two ads).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ctip.errors import BadInputError
from ctip.ingest.importer import ERROR_TYPE, ImportReport, default_source, new_import_id
from ctip.ingest.readers import LIST_SEPARATOR, ROW_COLUMN, read_table
from ctip.workspace import Workspace

KIND = "ads"
# An ad's fields typed as the ``ads`` table stores them. The import stages rows with these
# types, and generated Parquet files (ctip.ads.generate) are written with them, so a generated
# file reads back exactly as imported ads do.
AD_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("id", pa.string()),
    ("title", pa.string()),
    ("body", pa.string()),
    ("site", pa.string()),
    ("location", pa.string()),
    ("posted_at", pa.timestamp("us")),
    ("url", pa.string()),
    ("age", pa.int32()),
    ("images", pa.list_(pa.string())),
]
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "ad_id", "adid", "post_id", "listing_id", "uid"),
    "title": ("title", "subject", "headline", "name"),
    "body": ("body", "text", "description", "content", "message", "ad_text", "post"),
    "site": ("site", "domain", "website", "source_site", "platform"),
    "location": ("location", "city", "place", "region", "area"),
    "posted_at": ("posted_at", "posted", "date", "timestamp", "created_at", "post_date", "time"),
    "url": ("url", "link", "href", "ad_url", "listing_url"),
    "age": ("age", "stated_age", "advertised_age"),
    "images": ("images", "image", "image_urls", "photos", "pictures", "image_hashes"),
}
DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%Y/%m/%d %H:%M", "%Y/%m/%d")
_IMAGE_SPLIT = re.compile(r"[|;\n" + LIST_SEPARATOR + r"]+")


def match_columns(path: Path, columns: list[str]) -> dict[str, str]:
    """ad field -> file column; fails when the file has no text column at all."""
    lowered = {c.strip().lower().replace(" ", "_"): c for c in columns}
    found: dict[str, str] = {}
    for field, names in SYNONYMS.items():
        for name in names:
            if name in lowered and lowered[name] not in found.values():
                found[field] = lowered[name]
                break
    if "title" not in found and "body" not in found:
        raise BadInputError(
            f"{path}: no ad text column (looked for title, body, text, description)",
            hint=f"columns found: {', '.join(columns[:12])}",
        )
    return found


def parse_posted(text: str) -> datetime | None:
    """A posting time as naive UTC, or None when it cannot be read."""
    value = text.strip()
    if value.isdigit() and len(value) in (10, 13):
        seconds = int(value) / (1000 if len(value) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for layout in DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, layout)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def import_ads(workspace: Workspace, path: Path, *, source: str | None = None) -> ImportReport:
    """Import one file of ads; see the module docstring."""
    table = read_table(path)
    mapping = match_columns(path, table.columns)
    name = source or default_source(path)
    report = ImportReport(
        import_id=new_import_id(),
        source=name,
        file=path.name,
        file_sha256=table.sha256,
        input_format=table.format,
        mapping="ads",
        blank=table.blank,
        read=table.read,
    )
    started = datetime.now(UTC)
    engine = workspace.engine
    with engine.transaction():
        seen = {
            int(r[0])
            for r in engine.rows(
                "SELECT row_number FROM ads WHERE file_sha256 = ? UNION ALL SELECT row_number"
                " FROM quarantine WHERE file_sha256 = ? AND kind = 'ads'",
                [table.sha256, table.sha256],
            )
        }
        good, bad = _validate(table.table, table.columns, mapping, seen, report)
        for rejected in table.rejected:
            if rejected.row_number in seen:
                report.duplicates += 1
            else:
                bad.append(
                    (rejected.row_number, {"_line": rejected.raw}, [(None, None, rejected.reason)])
                )
        now = datetime.now(UTC)
        report.loaded = _insert_ads(workspace, good, table.sha256, report, now)
        report.quarantined = _insert_quarantine(workspace, bad, table.sha256, report, now)
        if report.duplicates and not report.loaded and not report.quarantined:
            report.warnings.append(
                "this file was imported before (same sha256): nothing new was loaded"
            )
        _record_import(workspace, report, table.size, mapping, started)
    return report


Problem = tuple[str | None, str | None, str]  # column, field, reason


def _validate(
    table: pa.Table,
    columns: list[str],
    mapping: dict[str, str],
    seen: set[int],
    report: ImportReport,
) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any], list[Problem]]]]:
    data = {c: table.column(c).to_pylist() for c in columns}
    rows = table.column(ROW_COLUMN).to_pylist()
    extra_columns = [c for c in columns if c not in mapping.values()]
    good: list[dict[str, Any]] = []
    bad: list[tuple[int, dict[str, Any], list[Problem]]] = []
    first_row_of_id: dict[str, int] = {}
    for index, row_number in enumerate(rows):
        if row_number in seen:
            report.duplicates += 1
            continue
        raw = {c: data[c][index] for c in columns}
        if not any((v or "").strip() for v in raw.values()):
            report.blank += 1
            report.read -= 1
            continue
        value = {f: (raw[c] or "").strip() for f, c in mapping.items()}
        problems: list[Problem] = []
        if not (value.get("title") or value.get("body") or value.get("url")):
            problems.append(
                (
                    mapping.get("body") or mapping.get("title"),
                    "body",
                    "the ad has no title, body or url",
                )
            )
        posted = None
        if value.get("posted_at"):
            posted = parse_posted(value["posted_at"])
            if posted is None:
                problems.append(
                    (
                        mapping["posted_at"],
                        "posted_at",
                        "not a date and time (use ISO 8601, e.g. 2025-03-01T14:30)",
                    )
                )
        age = None
        if value.get("age"):
            text = value["age"].removesuffix(".0")
            if text.isdigit() and 10 <= int(text) <= 99:
                age = int(text)
            else:
                problems.append((mapping["age"], "age", "age must be a whole number from 10 to 99"))
        ad_id = value.get("id") or ""
        if ad_id:
            earlier = first_row_of_id.setdefault(ad_id, row_number)
            if earlier != row_number:
                problems.append(
                    (mapping["id"], "id", f"id '{ad_id}' was already used by row {earlier}")
                )
        if problems:
            bad.append((row_number, raw, problems))
            continue
        images = [i.strip() for i in _IMAGE_SPLIT.split(value.get("images", "")) if i.strip()]
        extra = {c: raw[c] for c in extra_columns if raw[c] not in (None, "")}
        good.append(
            {
                "row_number": row_number,
                "id": ad_id,
                "title": value.get("title") or None,
                "body": value.get("body") or None,
                "site": value.get("site") or None,
                "location": value.get("location") or None,
                "posted_at": posted,
                "url": value.get("url") or None,
                "age": age,
                "images": images,
                "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
            }
        )
    return good, bad


def _insert_ads(
    workspace: Workspace,
    good: list[dict[str, Any]],
    sha256: str,
    report: ImportReport,
    now: datetime,
) -> int:
    if not good:
        return 0
    batch = pa.Table.from_pylist(
        good,
        schema=pa.schema([("row_number", pa.int64()), *AD_COLUMNS, ("extra", pa.string())]),
    )
    engine = workspace.engine
    engine.register("_ctip_new_ads", batch)
    key = "substr(?, 1, 12) || '-' || row_number"
    engine.sql(
        "INSERT INTO ads (ad_key, id, title, body, site, location, posted_at, url, age, images,"
        " extra, source, import_id, file_sha256, row_number, imported_at)"
        f" SELECT {key}, CASE WHEN id = '' THEN {key} ELSE id END, title, body, site, location,"
        " posted_at, url, age, images, extra::JSON, ?, ?, ?, row_number, ?"
        " FROM _ctip_new_ads ORDER BY row_number",
        [sha256, sha256, report.source, report.import_id, sha256, now],
    )
    engine.unregister("_ctip_new_ads")
    return len(good)


def _insert_quarantine(
    workspace: Workspace,
    bad: list[tuple[int, dict[str, Any], list[Problem]]],
    sha256: str,
    report: ImportReport,
    now: datetime,
) -> int:
    if not bad:
        return 0
    entries = pa.table(
        {
            "row": pa.array([row for row, _, _ in bad], pa.int64()),
            "raw": pa.array([json.dumps(raw, ensure_ascii=False) for _, raw, _ in bad]),
            "errors": pa.array(
                [
                    [
                        {"column": c, "field": f, "value": raw.get(c) if c else None, "reason": r}
                        for c, f, r in problems
                    ]
                    for _, raw, problems in bad
                ],
                ERROR_TYPE,
            ),
        }
    )
    engine = workspace.engine
    engine.register("_ctip_ads_quarantine", entries)
    engine.sql(
        "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256, row_number,"
        " raw, errors, quarantined_at) SELECT 'q-' || substr(?, 1, 12) || '-' || row, 'ads', ?,"
        " ?, ?, row, raw::JSON, errors, ? FROM _ctip_ads_quarantine ORDER BY row",
        [sha256, report.import_id, report.source, sha256, now],
    )
    engine.unregister("_ctip_ads_quarantine")
    report.quarantine_reasons = engine.records(
        "SELECT e.field AS field, e.reason AS reason, count(*) AS rows FROM ("
        " SELECT unnest(errors) AS e FROM quarantine WHERE import_id = ?"
        ") GROUP BY ALL ORDER BY rows DESC, field LIMIT 10",
        [report.import_id],
    )
    return len(bad)


def _record_import(
    workspace: Workspace,
    report: ImportReport,
    size: int,
    mapping: dict[str, str],
    started: datetime,
) -> None:
    workspace.engine.sql(
        "INSERT INTO imports (import_id, kind, source, file_name, file_sha256, file_size,"
        " input_format, mapping_name, mapping_json, started_at, finished_at, status, read,"
        " loaded, quarantined, duplicates, blank, warnings)"
        " VALUES (?, 'ads', ?, ?, ?, ?, ?, 'ads', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.import_id, report.source, report.file, report.file_sha256, size,
            report.input_format, json.dumps(mapping), started, datetime.now(UTC),
            report.status, report.read, report.loaded, report.quarantined, report.duplicates,
            report.blank, report.warnings,
        ],
    )  # fmt: skip

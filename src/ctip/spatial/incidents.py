"""Import geocoded, dated incidents (police reports, hotline calls, rescue or ad locations).

The same contract as case import (DESIGN.md): read = loaded + quarantined + duplicates, every
stored incident keeps its provenance, a re-import of the same file is recognised by the file's
sha256 and each row's position, and a row that fails a check goes to quarantine with the column
and the reason. The checks run as one DuckDB query over the Arrow table ``read_table`` gives:
coordinates that are numbers inside their ranges (and not the 0,0 placeholder), a time that
parses and is not in the future, an hour of 0-23 when the hour is a separate column, and an
incident id (when the file has one) that was not seen before in this file or the workspace.

A corrected quarantine export (a file with ``_ctip_quarantine_id``) is checked again with the
column choices of its original import and loads with the original provenance.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ctip.errors import BadInputError
from ctip.ingest.importer import (
    QUARANTINE_ID_COLUMN,
    ImportReport,
    default_source,
    fix_file_data_columns,
    new_import_id,
    quarantine_entries_to_fix,
    record_import,
    without_resolved_fixes,
    without_stored_rows,
)
from ctip.ingest.readers import ROW_COLUMN, RejectedRow, SourceTable, read_table
from ctip.ingest.sql import ident, lit
from ctip.progress import Progress, SilentProgress
from ctip.workspace import Workspace

KIND = "incidents"
STAGED = "_ctip_incidents_raw"
CHECKED = "_ctip_incidents_checked"
# Unambiguous layouts tried after ISO 8601; day/month orders need --time-format.
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class IncidentColumns:
    """Which columns of the file hold what; recorded with the import for the fix loop."""

    lat: str
    lon: str
    time: str
    category: str | None = None
    id: str | None = None
    hour: str | None = None
    time_format: str | None = None

    def named(self) -> dict[str, str]:
        """Field name -> column, for the columns that are set."""
        fields = {"latitude": self.lat, "longitude": self.lon, "time": self.time}
        optional = {"category": self.category, "external_id": self.id, "hour": self.hour}
        return fields | {k: v for k, v in optional.items() if v}

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def import_incidents(
    workspace: Workspace,
    path: Path,
    columns: IncidentColumns,
    *,
    source: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file of incidents; see the module docstring for the checks."""
    progress = progress or SilentProgress()
    progress.step(f"reading {path.name}")
    table = read_table(path, encoding=encoding, sheet=sheet)
    if QUARANTINE_ID_COLUMN in table.columns:
        return _import_fixes(workspace, table, source)
    _require_columns(table, columns)
    report = ImportReport(
        import_id=new_import_id(),
        source=source or default_source(path),
        file=path.name,
        file_sha256=table.sha256,
        input_format=table.format,
        mapping="incident columns",
        read=table.read,
        blank=table.blank,
    )
    started = datetime.now(UTC)
    engine = workspace.engine
    with engine.transaction():
        fresh, rejected, report.duplicates = without_stored_rows(engine, table, KIND)
        progress.step(f"checking {fresh.num_rows:,} rows")
        staged = fresh.append_column("_ctip_sha", pa.array([table.sha256] * fresh.num_rows))
        staged = staged.append_column("_ctip_source", pa.array([report.source] * fresh.num_rows))
        _load(workspace, staged, table.columns, columns, report, fixing=False)
        report.quarantined += _quarantine_rejected(workspace, rejected, report)
        _record_import(workspace, report, table, columns, started)
    if report.duplicates and not report.loaded and not report.quarantined:
        report.warnings.append(
            "this file was imported before (same sha256): nothing new was loaded"
        )
    return report


def _require_columns(table: SourceTable, columns: IncidentColumns) -> None:
    for option, name in (
        ("--lat", columns.lat),
        ("--lon", columns.lon),
        ("--time", columns.time),
        ("--category", columns.category),
        ("--id", columns.id),
        ("--hour", columns.hour),
    ):
        if name is not None and name not in table.columns:
            raise BadInputError(
                f"{table.path}: no column '{name}' (given as {option})",
                hint=f"the columns are: {', '.join(table.columns[:30])}",
            )


def _text(column: str) -> str:
    return f"nullif(trim({ident(column)}), '')"


def _error(condition: str, column: str, field: str, reason: str) -> str:
    value = f"{ident(column)}::VARCHAR"
    return (
        f"CASE WHEN {condition} THEN {{'column': {lit(column)}, 'field': {lit(field)},"
        f" 'value': {value}, 'reason': {reason}}} END"
    )


def _check_query(columns: IncidentColumns, file_columns: list[str], qid: str) -> str:
    """One query: typed fields, a list of errors per row, kept columns as JSON."""
    lat, lon, when = _text(columns.lat), _text(columns.lon), _text(columns.time)
    if columns.time_format:
        parsed = f"try_strptime({when}, {lit(columns.time_format)})"
    else:
        formats = "[" + ", ".join(lit(f) for f in TIME_FORMATS) + "]"
        parsed = f"coalesce(try_cast({when} AS TIMESTAMP), try_strptime({when}, {formats}))"
    date_only = f"regexp_full_match(coalesce({when}, ''), '\\d{{4}}-?\\d{{2}}-?\\d{{2}}')"
    hour = _text(columns.hour) if columns.hour else "NULL"
    hour_value = f"try_cast({hour} AS DOUBLE)" if columns.hour else "NULL::DOUBLE"
    time_fmt_hint = "pass --time-format, e.g. %d/%m/%Y %H:%M"
    checks = [
        _error(f"{lat} IS NULL", columns.lat, "latitude", "'missing'"),
        _error(
            f"{lat} IS NOT NULL AND try_cast({lat} AS DOUBLE) IS NULL",
            columns.lat,
            "latitude",
            "'not a number'",
        ),
        _error("abs(_lat) > 90", columns.lat, "latitude", "'outside -90..90'"),
        _error(f"{lon} IS NULL", columns.lon, "longitude", "'missing'"),
        _error(
            f"{lon} IS NOT NULL AND try_cast({lon} AS DOUBLE) IS NULL",
            columns.lon,
            "longitude",
            "'not a number'",
        ),
        _error("abs(_lon) > 180", columns.lon, "longitude", "'outside -180..180'"),
        _error(
            "_lat = 0 AND _lon = 0",
            columns.lat,
            "latitude",
            "'0,0 is the usual placeholder for a missing location'",
        ),
        _error(f"{when} IS NULL", columns.time, "time", "'missing'"),
        _error(
            f"{when} IS NOT NULL AND _parsed IS NULL",
            columns.time,
            "time",
            f"'cannot read it as a date or time; {time_fmt_hint}'",
        ),
        _error("_at > now()::TIMESTAMP + INTERVAL 1 DAY", columns.time, "time", "'in the future'"),
    ]
    if columns.hour:
        checks.append(
            _error(
                f"{hour} IS NOT NULL AND (_hour IS NULL OR _hour <> floor(_hour)"
                " OR _hour < 0 OR _hour > 23)",
                columns.hour,
                "hour",
                "'not a whole hour 0-23'",
            )
        )
    if columns.id:
        checks.append(
            _error(
                "_first_row IS NOT NULL",
                columns.id,
                "external_id",
                "'incident id repeats row ' || _first_row || ' of this file'",
            )
        )
        checks.append(
            _error(
                "_stored_import IS NOT NULL",
                columns.id,
                "external_id",
                "'incident id already imported (' || _stored_import || ')'",
            )
        )
    kept = [c for c in file_columns if c not in columns.named().values()]
    extra = (
        "CASE WHEN coalesce("
        + ", ".join(_text(c) for c in kept)
        + ") IS NULL THEN NULL ELSE json_object("
        + ", ".join(f"{lit(c)}, {_text(c)}" for c in kept)
        + ") END"
        if kept
        else "NULL::JSON"
    )
    external = _text(columns.id) if columns.id else "NULL::VARCHAR"
    category = _text(columns.category) if columns.category else "NULL::VARCHAR"
    mapped = list(columns.named().values())
    nonblank = " OR ".join(f"{_text(c)} IS NOT NULL" for c in mapped)
    stored_lookup = (
        f"(SELECT any_value(import_id) FROM incidents i WHERE i.external_id = {external})"
        if columns.id
        else "NULL"
    )
    first_row = (
        f"CASE WHEN {external} IS NOT NULL THEN min({ROW_COLUMN}) OVER (PARTITION BY {external} ORDER BY {ROW_COLUMN}"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) END"
        if columns.id
        else "NULL"
    )
    return f"""
        WITH base AS (
            SELECT *,
                try_cast({lat} AS DOUBLE) AS _lat,
                try_cast({lon} AS DOUBLE) AS _lon,
                {parsed} AS _parsed,
                {hour_value} AS _hour,
                {first_row} AS _first_row,
                {stored_lookup} AS _stored_import,
                ({nonblank}) AS _nonblank
            FROM {STAGED}
        ), timed AS (
            SELECT *,
                CASE WHEN _hour IS NOT NULL AND _hour = floor(_hour) AND _hour BETWEEN 0 AND 23
                    THEN date_trunc('day', _parsed) + to_hours(_hour::BIGINT)
                    ELSE _parsed END AS _at
            FROM base
        )
        SELECT {ROW_COLUMN} AS row, _ctip_sha AS sha, _ctip_source AS source,
            _nonblank AS nonblank,
            list_filter([{", ".join(checks)}], lambda e: e IS NOT NULL) AS errors,
            _lat AS latitude, _lon AS longitude, _at AS occurred_at,
            CASE WHEN _hour IS NOT NULL THEN 'hour' WHEN {date_only} THEN 'day'
                ELSE 'second' END AS time_precision,
            {category} AS category, {external} AS external_id, {extra} AS extra,
            {qid} AS qid
        FROM timed
    """


def _load(
    workspace: Workspace,
    staged: pa.Table,
    file_columns: list[str],
    columns: IncidentColumns,
    report: ImportReport,
    *,
    fixing: bool,
) -> None:
    """Check ``staged`` and store good rows as incidents, bad ones in quarantine."""
    engine = workspace.engine
    engine.register(STAGED, staged)
    qid = ident(QUARANTINE_ID_COLUMN) if fixing else "NULL::VARCHAR"
    query = _check_query(columns, file_columns, qid)
    engine.sql(f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS {query}")
    engine.unregister(STAGED)
    blank = int(engine.scalar(f"SELECT count(*) FROM {CHECKED} WHERE NOT nonblank"))
    report.blank += blank
    report.read -= blank
    now = datetime.now(UTC)
    report.loaded += int(
        engine.scalar(
            "INSERT INTO incidents (incident_id, source, import_id, file_sha256, row_number,"
            " imported_at, external_id, occurred_at, time_precision, latitude, longitude,"
            " category, extra)"
            " SELECT substr(sha, 1, 12) || '-' || row, source, ?, sha, row, ?, external_id,"
            " occurred_at, time_precision, latitude, longitude, category, extra"
            f" FROM {CHECKED} WHERE nonblank AND len(errors) = 0",
            [report.import_id, now],
        )
    )
    raw_columns = ", ".join(ident(c) for c in file_columns)
    raw = f"to_json(struct_pack({raw_columns}))" if file_columns else "NULL::JSON"
    engine.register(STAGED, staged)
    bad_raw = (
        f"(SELECT {ROW_COLUMN} AS row, _ctip_sha AS sha, {raw} AS raw FROM {STAGED}) r"
        f" JOIN {CHECKED} c ON c.row = r.row AND c.sha = r.sha"
    )
    if fixing:
        report.quarantined += int(
            engine.scalar(
                f"UPDATE quarantine SET errors = n.errors, raw = n.raw FROM (SELECT c.qid,"
                f" c.errors, r.raw FROM {bad_raw} WHERE c.nonblank AND len(c.errors) > 0) n"
                " WHERE quarantine.quarantine_id = n.qid"
            )
        )
        engine.sql(
            "UPDATE quarantine SET resolved_at = ?, resolved_by_import = ? WHERE quarantine_id"
            f" IN (SELECT qid FROM {CHECKED} WHERE nonblank AND len(errors) = 0)",
            [now, report.import_id],
        )
    else:
        report.quarantined += int(
            engine.scalar(
                "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
                " row_number, raw, errors, quarantined_at)"
                " SELECT 'q-' || substr(c.sha, 1, 12) || '-' || c.row, ?, ?, c.source, c.sha,"
                f" c.row, r.raw, c.errors, ? FROM {bad_raw}"
                " WHERE c.nonblank AND len(c.errors) > 0 ORDER BY c.row",
                [KIND, report.import_id, now],
            )
        )
    engine.unregister(STAGED)
    engine.sql(f"DROP TABLE {CHECKED}")


def _quarantine_rejected(
    workspace: Workspace, rejected: list[RejectedRow], report: ImportReport
) -> int:
    """Rows the reader could not split into fields go to quarantine as text."""
    now = datetime.now(UTC)
    for row in rejected:
        workspace.engine.sql(
            "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
            " row_number, raw, errors, quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?,"
            " [{'column': NULL, 'field': NULL, 'value': NULL, 'reason': ?}], ?)",
            [
                f"q-{report.file_sha256[:12]}-{row.row_number}",
                KIND,
                report.import_id,
                report.source,
                report.file_sha256,
                row.row_number,
                json.dumps({"_line": row.raw}, ensure_ascii=False),
                row.reason,
                now,
            ],
        )
    return len(rejected)


def _record_import(
    workspace: Workspace,
    report: ImportReport,
    table: SourceTable,
    columns: IncidentColumns,
    started: datetime,
) -> None:
    report.quarantine_reasons = workspace.engine.records(
        "SELECT e.field AS field, e.reason AS reason, count(*) AS rows FROM ("
        "  SELECT unnest(errors) AS e FROM quarantine WHERE import_id = ?"
        ") GROUP BY ALL ORDER BY rows DESC, field LIMIT 10",
        [report.import_id],
    )
    options = columns.to_json()
    record_import(
        workspace.engine,
        report,
        kind=KIND,
        file_size=table.size,
        mapping_name=report.mapping,
        mapping_json=options,
        mapping_sha256=hashlib.sha256(options.encode()).hexdigest(),
        started=started,
    )


def _import_fixes(workspace: Workspace, table: SourceTable, source: str | None) -> ImportReport:
    """A corrected quarantine export: re-check with the original column choices."""
    found = quarantine_entries_to_fix(workspace.engine, table)
    by_id = {row["quarantine_id"]: row for row in found}
    kinds = {row["kind"] for row in found}
    originals = {row["import_id"] for row in found}
    if kinds != {KIND} or len(originals) != 1:
        raise BadInputError(
            f"{table.path} holds rows of {len(originals)} imports of kinds {sorted(kinds)}",
            hint="export one incidents import at a time (ctip quarantine export --import ID)",
        )
    first = found[0]
    columns = IncidentColumns(**json.loads(first["mapping_json"]))
    report = ImportReport(
        import_id=new_import_id(),
        source=source or first["source"],
        file=table.path.name,
        file_sha256=table.sha256,
        input_format=table.format,
        mapping="incident columns",
        read=table.read,
        blank=table.blank,
        fixes_import_id=first["import_id"],
    )
    fresh, report.duplicates = without_resolved_fixes(table, found)
    fresh_ids = fresh.column(QUARANTINE_ID_COLUMN).to_pylist()
    fresh = fresh.set_column(
        fresh.schema.get_field_index(ROW_COLUMN),
        ROW_COLUMN,
        pa.array([by_id[i]["row_number"] for i in fresh_ids], pa.int64()),
    )
    fresh = fresh.append_column(
        "_ctip_sha", pa.array([by_id[i]["file_sha256"] for i in fresh_ids], pa.string())
    ).append_column("_ctip_source", pa.array([by_id[i]["source"] for i in fresh_ids], pa.string()))
    file_columns = fix_file_data_columns(table)
    _require_columns(
        SourceTable(table.path, table.sha256, table.size, table.format, table.table, file_columns),
        columns,
    )
    started = datetime.now(UTC)
    with workspace.engine.transaction():
        _load(workspace, fresh, file_columns, columns, report, fixing=True)
        _record_import(workspace, report, table, columns, started)
    return report


def incident_summary(workspace: Workspace) -> dict[str, Any]:
    """Counts, time span and categories of the stored incidents (for notes and the report)."""
    return workspace.engine.records(
        "SELECT count(*) AS incidents, min(occurred_at) AS first, max(occurred_at) AS last,"
        " count(DISTINCT category) AS categories FROM incidents"
    )[0]

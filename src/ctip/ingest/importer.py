"""Import case records into the workspace without losing a row.

The contract (DESIGN.md): read = loaded + quarantined + duplicates. Every record keeps its
provenance (source, import id, file sha256, row number, imported-at). A re-import of the same
file is recognised by the file's sha256 and each row's position, never by comparing contents:
in k-anonymised data identical rows are different people and all of them must load.

A file that carries a ``_ctip_quarantine_id`` column is a corrected quarantine export
(``ctip quarantine export``): its rows are checked again with the mapping of their original
import and, when valid, load with their original provenance.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ctip.errors import BadInputError
from ctip.ingest.compile import CompiledMapping, compile_mapping, event_column
from ctip.ingest.mapping import (
    Mapping,
    builtin_mapping,
    builtin_names,
    detect_format,
    load_mapping,
    mapping_sha256,
    parse_mapping,
)
from ctip.ingest.readers import ROW_COLUMN, RejectedRow, SourceTable, read_table
from ctip.ingest.sql import ident
from ctip.model.fields import case_schema
from ctip.model.htcds import load_htcds
from ctip.progress import Progress, SilentProgress
from ctip.workspace import Workspace

QUARANTINE_ID_COLUMN = "_ctip_quarantine_id"
QUARANTINE_ERRORS_COLUMN = "_ctip_errors"
SOURCE_TABLE = "_ctip_src"
IDENTITY_TABLE = "_ctip_identity"
MAPPED_TABLE = "_ctip_mapped"
REJECTED_TABLE = "_ctip_rejected"


@dataclass
class ImportReport:
    import_id: str
    source: str
    file: str
    file_sha256: str
    input_format: str
    mapping: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    blank: int = 0
    warnings: list[str] = field(default_factory=list)
    quarantine_reasons: list[dict[str, Any]] = field(default_factory=list)
    status: str = "completed"
    fixes_import_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_import_id() -> str:
    return "imp-" + uuid.uuid4().hex[:12]


def resolve_mapping(
    headers: list[str], input_format: str | None, mapping_path: Path | None, origin: str
) -> tuple[str, Mapping]:
    """Pick the mapping: explicit file, named format, or detected from the headers."""
    if mapping_path is not None:
        if input_format not in (None, "mapped"):
            raise BadInputError("--mapping goes with --input-format mapped (or none)")
        return "mapped", load_mapping(mapping_path)
    if input_format == "mapped":
        raise BadInputError("--input-format mapped needs --mapping FILE.yaml")
    if input_format is not None:
        if input_format not in builtin_names():
            raise BadInputError(
                f"unknown input format '{input_format}'",
                hint=f"use one of {', '.join([*builtin_names(), 'mapped'])}",
            )
        return input_format, builtin_mapping(input_format)
    detected = detect_format(headers)
    if detected is None:
        raise BadInputError(
            f"{origin}: cannot tell the format from its headers",
            hint="pass --input-format, or write a mapping with 'ctip mapping suggest'",
        )
    return detected, builtin_mapping(detected)


def _drop_label_row(source: SourceTable, mapping: Mapping) -> None:
    """Drop a first row that repeats the field labels (IOM's HTCDS Excel toolkit has one)."""
    if not mapping.label_row or source.table.num_rows == 0:
        return
    labels = {f.name.lower(): f.label.lower() for f in load_htcds().fields}
    first = source.table.slice(0, 1).to_pylist()[0]
    cells = [(h, str(first[h]).strip().lower()) for h in source.columns if str(first[h]).strip()]
    if not cells:
        return
    matches = sum(1 for h, v in cells if v in (labels.get(h.lower()), h.lower()))
    if matches * 2 >= len(cells):
        source.table = source.table.slice(1)


class CaseImporter:
    """One import run: read, map, check, load, quarantine, record."""

    def __init__(self, workspace: Workspace, progress: Progress | None = None) -> None:
        self.workspace = workspace
        self.engine = workspace.engine
        self.progress = progress or SilentProgress()

    # --- entry point ------------------------------------------------------------------------

    def run(
        self,
        path: Path,
        *,
        input_format: str | None = None,
        mapping_path: Path | None = None,
        source: str | None = None,
        encoding: str | None = None,
        sheet: str | None = None,
    ) -> ImportReport:
        self.progress.step(f"reading {path.name}")
        table = read_table(path, encoding=encoding, sheet=sheet)
        if QUARANTINE_ID_COLUMN in table.columns:
            return self._run_fix(table, source)
        format_name, mapping = resolve_mapping(table.columns, input_format, mapping_path, str(path))
        _drop_label_row(table, mapping)
        report = ImportReport(
            import_id=new_import_id(),
            source=source or _default_source(path),
            file=path.name,
            file_sha256=table.sha256,
            input_format=format_name,
            mapping=mapping.name,
            blank=table.blank,
        )
        self._load(table, mapping, report)
        return report

    # --- normal import ------------------------------------------------------------------------

    def _load(self, table: SourceTable, mapping: Mapping, report: ImportReport) -> None:
        compiled = compile_mapping(mapping, table.columns, table.list_columns)
        report.warnings.extend(compiled.warnings())
        started = datetime.now(UTC)
        with self.engine.transaction():
            seen = self._rows_already_stored(table.sha256)
            fresh, rejected, duplicates = _without_seen(table, seen)
            report.read = table.read
            report.duplicates = duplicates
            identity = pa.table(
                {
                    "_ctip_row": fresh.column(ROW_COLUMN),
                    "file_sha256": pa.repeat(table.sha256, fresh.num_rows),
                    "row_number": fresh.column(ROW_COLUMN),
                    "source": pa.repeat(report.source, fresh.num_rows),
                    "quarantine_id": pa.nulls(fresh.num_rows, pa.string()),
                }
            )
            self._stage(compiled, fresh, identity)
            self._store(compiled, report, rejected, identity_for_rejected(table, report))
            report.blank += self._count(
                f"SELECT count(*) FROM {MAPPED_TABLE} WHERE NOT _ctip_nonblank"
            )
            report.read -= report.blank - table.blank
            self._record_import(report, table, mapping, started)
            self._cleanup()
        if report.duplicates and not report.loaded and not report.quarantined:
            report.warnings.append(
                "this file was imported before (same sha256): nothing new was loaded"
            )

    def _rows_already_stored(self, sha256: str) -> pa.Array:
        rows = self.engine.to_arrow(
            "SELECT row_number FROM cases WHERE file_sha256 = ?"
            " UNION ALL SELECT row_number FROM quarantine WHERE file_sha256 = ? AND kind = 'cases'",
            [sha256, sha256],
        )
        return rows.column("row_number").combine_chunks()

    def _stage(self, compiled: CompiledMapping, fresh: pa.Table, identity: pa.Table) -> None:
        self.progress.step(f"checking {fresh.num_rows:,} rows")
        self.engine.register(SOURCE_TABLE, fresh)
        self.engine.register(IDENTITY_TABLE, identity)
        self.engine.sql(
            f"CREATE OR REPLACE TEMP TABLE {MAPPED_TABLE} AS"
            f" SELECT q.*, i.file_sha256 AS _ctip_sha, i.row_number AS _ctip_row_number,"
            f" i.source AS _ctip_source, i.quarantine_id AS _ctip_quarantine_id"
            f" FROM ({compiled.query(SOURCE_TABLE)}) AS q"
            f" JOIN {IDENTITY_TABLE} AS i ON i._ctip_row = q._ctip_row"
        )

    def _store(
        self,
        compiled: CompiledMapping,
        report: ImportReport,
        rejected: list[RejectedRow],
        rejected_identity: dict[str, str],
    ) -> None:
        self.progress.step("loading")
        now = datetime.now(UTC)
        payload = [name for name, _ in case_schema().storage_columns()]
        columns = ", ".join(ident(c) for c in payload)
        report.loaded = self._count(
            f"INSERT INTO cases (case_id, source, import_id, file_sha256, row_number, imported_at,"
            f" {columns}, extra)"
            f" SELECT substr(_ctip_sha, 1, 12) || '-' || _ctip_row_number, _ctip_source, ?,"
            f" _ctip_sha, _ctip_row_number, ?, {columns}, extra"
            f" FROM {MAPPED_TABLE} WHERE _ctip_ok AND _ctip_nonblank ORDER BY _ctip_row",
            [report.import_id, now],
        )
        self._store_events(compiled, report.import_id)
        self.progress.step("quarantining rows that failed checks")
        report.quarantined = self._count(
            "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
            " row_number, raw, errors, quarantined_at)"
            " SELECT 'q-' || substr(_ctip_sha, 1, 12) || '-' || _ctip_row_number, 'cases', ?,"
            f" _ctip_source, _ctip_sha, _ctip_row_number, _ctip_raw, _ctip_errors, ?"
            f" FROM {MAPPED_TABLE} WHERE NOT _ctip_ok AND _ctip_nonblank ORDER BY _ctip_row",
            [report.import_id, now],
        )
        report.quarantined += self._quarantine_rejected(
            rejected, rejected_identity, report.import_id, now
        )
        report.quarantine_reasons = self.engine.records(
            "SELECT e.field AS field, e.reason AS reason, count(*) AS rows FROM ("
            "  SELECT unnest(errors) AS e FROM quarantine WHERE import_id = ?"
            ") GROUP BY ALL ORDER BY rows DESC, field LIMIT 10",
            [report.import_id],
        )

    def _store_events(self, compiled: CompiledMapping, import_id: str) -> None:
        attributes = [spec.name for spec in case_schema().event_fields]
        for event_type in compiled.event_types:
            selected = ", ".join(ident(event_column(event_type, a)) for a in attributes)
            any_value = " OR ".join(
                f"{ident(event_column(event_type, a))} IS NOT NULL" for a in attributes
            )
            self.engine.sql(
                f"INSERT INTO case_events (case_id, event_type, {', '.join(attributes)}, import_id)"
                f" SELECT substr(_ctip_sha, 1, 12) || '-' || _ctip_row_number,"
                f" {_title(event_type)}, {selected}, ?"
                f" FROM {MAPPED_TABLE} WHERE _ctip_ok AND _ctip_nonblank AND ({any_value})",
                [import_id],
            )

    def _quarantine_rejected(
        self, rejected: list[RejectedRow], identity: dict[str, str], import_id: str, now: datetime
    ) -> int:
        if not rejected:
            return 0
        rows = pa.table(
            {
                "row_number": [r.row_number for r in rejected],
                "raw": [json.dumps({"_line": r.raw}, ensure_ascii=False) for r in rejected],
                "reason": [r.reason for r in rejected],
            }
        )
        self.engine.register(REJECTED_TABLE, rows)
        count = self._count(
            "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
            " row_number, raw, errors, quarantined_at)"
            " SELECT 'q-' || substr(?, 1, 12) || '-' || row_number, 'cases', ?, ?, ?, row_number,"
            " raw, [{'column': NULL, 'field': NULL, 'value': NULL, 'reason': reason}], ?"
            f" FROM {REJECTED_TABLE}",
            [identity["sha256"], import_id, identity["source"], identity["sha256"], now],
        )
        self.engine.unregister(REJECTED_TABLE)
        return count

    def _record_import(
        self, report: ImportReport, table: SourceTable, mapping: Mapping, started: datetime
    ) -> None:
        self.engine.sql(
            "INSERT INTO imports (import_id, kind, source, file_name, file_sha256, file_size,"
            " input_format, mapping_name, mapping_sha256, mapping_json, started_at, finished_at,"
            " status, read, loaded, quarantined, duplicates, blank, warnings, fixes_import_id)"
            " VALUES (?, 'cases', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report.import_id,
                report.source,
                report.file,
                report.file_sha256,
                table.size,
                report.input_format,
                mapping.name,
                mapping_sha256(mapping),
                mapping.model_dump_json(),
                started,
                datetime.now(UTC),
                report.status,
                report.read,
                report.loaded,
                report.quarantined,
                report.duplicates,
                report.blank,
                report.warnings,
                report.fixes_import_id,
            ],
        )

    def _cleanup(self) -> None:
        self.engine.sql(f"DROP TABLE IF EXISTS {MAPPED_TABLE}")
        self.engine.unregister(SOURCE_TABLE)
        self.engine.unregister(IDENTITY_TABLE)

    def _count(self, query: str, params: list[Any] | None = None) -> int:
        rows = self.engine.rows(query, params)
        return int(rows[0][0]) if rows else 0

    # --- corrected quarantine rows ---------------------------------------------------------

    def _run_fix(self, table: SourceTable, source: str | None) -> ImportReport:
        ids = table.table.column(QUARANTINE_ID_COLUMN).to_pylist()
        found = self.engine.records(
            "SELECT q.quarantine_id, q.import_id, q.source, q.file_sha256, q.row_number,"
            " q.resolved_at IS NOT NULL AS resolved, i.mapping_json, i.input_format"
            " FROM quarantine q JOIN imports i USING (import_id)"
            " WHERE q.quarantine_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        )
        by_id = {row["quarantine_id"]: row for row in found}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise BadInputError(
                f"{table.path}: {len(unknown)} rows name quarantine entries that do not exist"
                f" (first: {unknown[0]})",
                hint="export them again with 'ctip quarantine export'",
            )
        originals = {row["import_id"] for row in found}
        if len(originals) != 1:
            raise BadInputError(
                f"{table.path} mixes rows from {len(originals)} imports",
                hint="export and fix one import at a time (ctip quarantine export --import ID)",
            )
        first = found[0]
        mapping = parse_mapping(first["mapping_json"], f"mapping of {first['import_id']}")
        report = ImportReport(
            import_id=new_import_id(),
            source=source or first["source"],
            file=table.path.name,
            file_sha256=table.sha256,
            input_format=first["input_format"],
            mapping=mapping.name,
            blank=table.blank,
            fixes_import_id=first["import_id"],
        )
        resolved = pc.is_in(
            table.table.column(QUARANTINE_ID_COLUMN),
            value_set=pa.array([r["quarantine_id"] for r in found if r["resolved"]], pa.string()),
        )
        report.read = table.read
        report.duplicates = int(pc.sum(resolved).as_py() or 0)
        fresh = table.table.filter(pc.invert(resolved))
        fresh_ids = fresh.column(QUARANTINE_ID_COLUMN).to_pylist()
        identity = pa.table(
            {
                "_ctip_row": fresh.column(ROW_COLUMN),
                "file_sha256": [by_id[i]["file_sha256"] for i in fresh_ids],
                "row_number": [by_id[i]["row_number"] for i in fresh_ids],
                "source": [by_id[i]["source"] for i in fresh_ids],
                "quarantine_id": fresh_ids,
            }
        )
        columns = [
            c for c in table.columns if c not in (QUARANTINE_ID_COLUMN, QUARANTINE_ERRORS_COLUMN)
        ]
        compiled = compile_mapping(mapping, columns, table.list_columns)
        report.warnings.extend(compiled.warnings())
        started = datetime.now(UTC)
        with self.engine.transaction():
            self._stage(
                compiled,
                fresh.drop_columns([QUARANTINE_ERRORS_COLUMN])
                if QUARANTINE_ERRORS_COLUMN in fresh.column_names
                else fresh,
                identity,
            )
            self._store_fixed(compiled, report)
            self._record_import(report, table, mapping, started)
            self._cleanup()
        return report

    def _store_fixed(self, compiled: CompiledMapping, report: ImportReport) -> None:
        now = datetime.now(UTC)
        payload = ", ".join(ident(c) for c, _ in case_schema().storage_columns())
        report.loaded = self._count(
            f"INSERT INTO cases (case_id, source, import_id, file_sha256, row_number, imported_at,"
            f" {payload}, extra)"
            f" SELECT substr(_ctip_sha, 1, 12) || '-' || _ctip_row_number, _ctip_source, ?,"
            f" _ctip_sha, _ctip_row_number, ?, {payload}, extra"
            f" FROM {MAPPED_TABLE} WHERE _ctip_ok AND _ctip_nonblank",
            [report.import_id, now],
        )
        self._store_events(compiled, report.import_id)
        self.engine.sql(
            "UPDATE quarantine SET resolved_at = ?, resolved_by_import = ?"
            f" WHERE quarantine_id IN (SELECT _ctip_quarantine_id FROM {MAPPED_TABLE}"
            " WHERE _ctip_ok AND _ctip_nonblank)",
            [now, report.import_id],
        )
        report.quarantined = self._count(
            "UPDATE quarantine SET errors = m._ctip_errors, raw = m._ctip_raw"
            f" FROM {MAPPED_TABLE} m"
            " WHERE quarantine.quarantine_id = m._ctip_quarantine_id AND NOT m._ctip_ok"
        )


def identity_for_rejected(table: SourceTable, report: ImportReport) -> dict[str, str]:
    return {"sha256": table.sha256, "source": report.source}


def _without_seen(table: SourceTable, seen: pa.Array) -> tuple[pa.Table, list[RejectedRow], int]:
    """Split off rows stored by an earlier import of the same file."""
    if len(seen) == 0:
        return table.table, table.rejected, 0
    seen_set = set(seen.to_pylist())
    repeat = pc.is_in(table.table.column(ROW_COLUMN), value_set=seen)
    fresh = table.table.filter(pc.invert(repeat))
    rejected = [r for r in table.rejected if r.row_number not in seen_set]
    duplicates = (table.table.num_rows - fresh.num_rows) + (len(table.rejected) - len(rejected))
    return fresh, rejected, duplicates


def _default_source(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    return Path(name).stem


def _title(event_type: str) -> str:
    return "'" + event_type.capitalize() + "'"


def import_cases(workspace: Workspace, path: Path, **options: Any) -> ImportReport:
    """Import one file of case records; see ``CaseImporter.run`` for the options."""
    progress = options.pop("progress", None)
    return CaseImporter(workspace, progress).run(path, **options)

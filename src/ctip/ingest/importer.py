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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.ingest.mapping import (
    Mapping,
    builtin_mapping,
    builtin_names,
    detect_format,
    load_mapping,
    mapping_sha256,
    parse_mapping,
)
from ctip.ingest.plan import ImportPlan, plan_import
from ctip.ingest.readers import ROW_COLUMN, RejectedRow, SourceTable, read_table
from ctip.ingest.rules import CROSS_FIELD_RULES, CrossFieldRule
from ctip.ingest.sql import ident, lit
from ctip.ingest.transform import (
    CELLS_OK,
    NONBLANK,
    CellError,
    event_column,
    kept_column,
    transform,
)
from ctip.model.fields import case_schema
from ctip.model.htcds import load_htcds
from ctip.progress import Progress, SilentProgress
from ctip.workspace import Workspace

QUARANTINE_ID_COLUMN = "_ctip_quarantine_id"
QUARANTINE_ERRORS_COLUMN = "_ctip_errors"
MAPPED_TABLE = "_ctip_mapped"
QUARANTINE_TABLE = "_ctip_new_quarantine"
RAW_TABLE = "_ctip_raw_rows"
OK_COLUMN = "_ctip_ok"
BATCH_ROWS = 1_000_000
POSITION_COLUMN = "_ctip_pos"
ERROR_TYPE = pa.list_(
    pa.struct([(name, pa.string()) for name in ("column", "field", "value", "reason")])
)


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


@dataclass(frozen=True)
class Identity:
    """Where each row's provenance comes from: constants for a file, columns for fixes."""

    sha256: str  # SQL expression
    row_number: str
    source: str
    quarantine_id: str = "NULL"


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


def _active_rules(plan: ImportPlan) -> list[CrossFieldRule]:
    present = plan.targets() | set(plan.mapping.defaults)
    return [rule for rule in CROSS_FIELD_RULES if set(rule.fields) & present]


class CaseImporter:
    """One import run: read, map, check, load, quarantine, record."""

    def __init__(self, workspace: Workspace, progress: Progress | None = None) -> None:
        self.workspace = workspace
        self.engine = workspace.engine
        self.progress = progress or SilentProgress()
        self._mapped_columns: list[str] = []

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
            source=source or default_source(path),
            file=path.name,
            file_sha256=table.sha256,
            input_format=format_name,
            mapping=mapping.name,
            blank=table.blank,
            read=table.read,
        )
        plan = plan_import(mapping, table.columns, table.list_columns)
        report.warnings.extend(plan.warnings())
        started = datetime.now(UTC)
        with self.engine.transaction():
            fresh, rejected, report.duplicates = without_stored_rows(self.engine, table, "cases")
            identity = Identity(lit(table.sha256), ROW_COLUMN, lit(report.source))
            self._load(plan, fresh, table.columns, identity, report)
            report.quarantined += self._quarantine_rejected(rejected, table.sha256, report)
            self._finish(report, table, mapping, started)
        if report.duplicates and not report.loaded and not report.quarantined:
            report.warnings.append(
                "this file was imported before (same sha256): nothing new was loaded"
            )
        return report

    # --- the shared load step -----------------------------------------------------------------

    def _load(
        self,
        plan: ImportPlan,
        rows: pa.Table,
        columns: list[str],
        identity: Identity,
        report: ImportReport,
        *,
        fixing: bool = False,
    ) -> None:
        """Map, check and store ``rows``: good ones into cases, bad ones into quarantine.

        Works in batches so memory stays bounded by the batch, not the file.
        """
        now = datetime.now(UTC)
        total = rows.num_rows
        for start in range(0, max(total, 1), BATCH_ROWS):
            batch = rows.slice(start, BATCH_ROWS)
            self.progress.step(
                f"checking and loading rows {start + 1:,}-{start + batch.num_rows:,} of {total:,}"
            )
            self._load_batch(plan, batch, columns, identity, report, now, fixing=fixing)

    def _load_batch(
        self,
        plan: ImportPlan,
        rows: pa.Table,
        columns: list[str],
        identity: Identity,
        report: ImportReport,
        now: datetime,
        *,
        fixing: bool,
    ) -> None:
        mapped = transform(plan, rows)
        table = mapped.table.append_column(
            POSITION_COLUMN, pa.array(np.arange(rows.num_rows, dtype=np.int64))
        )
        if fixing:
            for name in ("_ctip_sha", "_ctip_row_number", "_ctip_source", QUARANTINE_ID_COLUMN):
                table = table.append_column(name, rows.column(name))
        self.engine.register(MAPPED_TABLE, table)
        violations = self._cross_rule_violations(plan, table.column_names)
        nonblank = table.column(NONBLANK).to_numpy(zero_copy_only=False)
        ok = table.column(CELLS_OK).to_numpy(zero_copy_only=False) & nonblank
        for position in violations:
            ok[position] = False
        table = table.append_column(OK_COLUMN, pa.array(ok))
        self.engine.register(MAPPED_TABLE, table)
        self._mapped_columns = table.column_names
        report.blank += int((~nonblank).sum())
        report.read -= int((~nonblank).sum())
        report.loaded += self._insert_cases(plan, identity, report.import_id, now)
        self._insert_events(plan, identity, report.import_id)
        bad = np.flatnonzero(nonblank & ~ok)
        errors = _errors_by_position(plan, mapped.errors, violations, bad)
        raw = rows.drop_columns(
            [c for c in rows.column_names if c not in columns or c.startswith("_ctip_")]
        )
        entries = self._quarantine_rows(raw, table, bad, errors, identity)
        if fixing:
            report.quarantined += self._update_quarantine(entries)
            self._resolve_fixed(report.import_id, now)
        else:
            report.quarantined += self._insert_quarantine(entries, report, now)
        self.engine.unregister(MAPPED_TABLE)

    def _cross_rule_violations(
        self, plan: ImportPlan, columns: list[str]
    ) -> dict[int, list[CrossFieldRule]]:
        """Positions (in the mapped table) of rows breaking a cross-field rule, with the rules."""
        rules = _active_rules(plan)
        if not rules:
            return {}
        schema = case_schema()
        absent = [
            f"{'[]' if schema.field(name).is_list else 'NULL'}::{schema.field(name).sql_type}"
            f" AS {ident(name)}"
            for name in sorted({f for rule in rules for f in rule.fields} - set(columns))
        ]
        source = f"(SELECT *{''.join(', ' + a for a in absent)} FROM {MAPPED_TABLE})"
        flags = ", ".join(f"coalesce({r.violation}, false) AS v{i}" for i, r in enumerate(rules))
        any_violation = " OR ".join(f"coalesce({r.violation}, false)" for r in rules)
        found = self.engine.records(
            f"SELECT {POSITION_COLUMN} AS pos, {', '.join(f'v{i}' for i in range(len(rules)))}"
            f" FROM (SELECT {POSITION_COLUMN}, {NONBLANK}, {flags},"
            f" ({any_violation}) AS any_violation FROM {source})"
            f" WHERE any_violation AND {NONBLANK}"
        )
        return {
            int(row["pos"]): [rule for i, rule in enumerate(rules) if row[f"v{i}"]] for row in found
        }

    def _insert_cases(
        self, plan: ImportPlan, identity: Identity, import_id: str, now: datetime
    ) -> int:
        present = set(self._mapped_columns)
        payload = ", ".join(ident(c) for c, _ in case_schema().storage_columns() if c in present)
        return self._count(
            f"INSERT INTO cases (case_id, source, import_id, file_sha256, row_number, imported_at,"
            f" {payload}, extra)"
            f" SELECT substr({identity.sha256}, 1, 12) || '-' || {identity.row_number},"
            f" {identity.source}, ?, {identity.sha256}, {identity.row_number}, ?,"
            f" {payload}, {_extra_sql(plan)}"
            f" FROM {MAPPED_TABLE} WHERE {OK_COLUMN}",
            [import_id, now],
        )

    def _insert_events(self, plan: ImportPlan, identity: Identity, import_id: str) -> None:
        attributes = [spec.name for spec in case_schema().event_fields]
        for event_type in plan.event_types:
            names = [ident(event_column(event_type, a)) for a in attributes]
            any_value = " OR ".join(f"{n} IS NOT NULL" for n in names)
            self.engine.sql(
                f"INSERT INTO case_events (case_id, event_type, {', '.join(attributes)}, import_id)"
                f" SELECT substr({identity.sha256}, 1, 12) || '-' || {identity.row_number},"
                f" {lit(event_type.capitalize())}, {', '.join(names)}, ?"
                f" FROM {MAPPED_TABLE} WHERE {OK_COLUMN} AND ({any_value})",
                [import_id],
            )

    def _quarantine_rows(
        self,
        raw: pa.Table,
        mapped: pa.Table,
        positions: np.ndarray[Any, np.dtype[np.intp]],
        errors: dict[int, list[dict[str, str | None]]],
        identity: Identity,
    ) -> pa.Table:
        """The quarantine entries for the failing rows, as an Arrow table."""
        indices = pa.array(positions.astype(np.int64))
        originals = raw.take(indices)
        chosen = mapped.take(indices)
        cells = {name: originals.column(name) for name in originals.column_names}
        row_errors = []
        for index, position in enumerate(positions):
            found = errors.get(int(position), [])
            for error in found:
                column = error["column"]
                if column in cells:
                    error["value"] = cells[column][index].as_py()
            row_errors.append(found)
        self.engine.register(RAW_TABLE, originals)
        as_json = self.engine.to_arrow(f"SELECT to_json(r) AS raw FROM {RAW_TABLE} r")
        self.engine.unregister(RAW_TABLE)
        entry: dict[str, Any] = {
            "raw": as_json.column("raw").cast(pa.string()),
            "errors": pa.array(row_errors, ERROR_TYPE),
            "row": chosen.column(ROW_COLUMN),
        }
        if identity.quarantine_id != "NULL":
            entry["quarantine_id"] = chosen.column(QUARANTINE_ID_COLUMN)
        return pa.table(entry)

    def _insert_quarantine(self, entries: pa.Table, report: ImportReport, now: datetime) -> int:
        if entries.num_rows == 0:
            return 0
        self.engine.register(QUARANTINE_TABLE, entries)
        count = self._count(
            "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
            " row_number, raw, errors, quarantined_at)"
            " SELECT 'q-' || substr(?, 1, 12) || '-' || row, 'cases', ?, ?, ?, row, raw,"
            f" errors, ? FROM {QUARANTINE_TABLE} ORDER BY row",
            [report.file_sha256, report.import_id, report.source, report.file_sha256, now],
        )
        self.engine.unregister(QUARANTINE_TABLE)
        return count

    def _quarantine_rejected(
        self, rejected: list[RejectedRow], sha256: str, report: ImportReport
    ) -> int:
        """Rows the reader could not split into fields go to quarantine as text."""
        if not rejected:
            return 0
        entries = pa.table(
            {
                "row": [r.row_number for r in rejected],
                "raw": [json.dumps({"_line": r.raw}, ensure_ascii=False) for r in rejected],
                "errors": pa.array(
                    [
                        [{"column": None, "field": None, "value": None, "reason": r.reason}]
                        for r in rejected
                    ],
                    ERROR_TYPE,
                ),
            }
        )
        return self._insert_quarantine(entries, report, datetime.now(UTC))

    def _finish(
        self, report: ImportReport, table: SourceTable, mapping: Mapping, started: datetime
    ) -> None:
        report.quarantine_reasons = self.engine.records(
            "SELECT e.field AS field, e.reason AS reason, count(*) AS rows FROM ("
            "  SELECT unnest(errors) AS e FROM quarantine WHERE import_id = ?"
            "    OR (resolved_by_import IS NULL AND ? AND import_id = ?)"
            ") GROUP BY ALL ORDER BY rows DESC, field LIMIT 10",
            [report.import_id, report.fixes_import_id is not None, report.fixes_import_id],
        )
        record_import(
            self.engine,
            report,
            kind="cases",
            file_size=table.size,
            mapping_name=mapping.name,
            mapping_json=mapping.model_dump_json(),
            mapping_sha256=mapping_sha256(mapping),
            started=started,
        )

    def _count(self, query: str, params: list[Any] | None = None) -> int:
        rows = self.engine.rows(query, params)
        return int(rows[0][0]) if rows else 0

    # --- corrected quarantine rows ---------------------------------------------------------

    def _run_fix(self, table: SourceTable, source: str | None) -> ImportReport:
        found = quarantine_entries_to_fix(self.engine, table)
        by_id = {row["quarantine_id"]: row for row in found}
        other_kinds = sorted({row["kind"] for row in found} - {"cases"})
        if other_kinds:
            raise BadInputError(
                f"{table.path} holds quarantined {other_kinds[0]} rows, not case records",
                hint=f"import it with 'ctip import {other_kinds[0]} {table.path.name}'",
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
            read=table.read,
            fixes_import_id=first["import_id"],
        )
        fresh, report.duplicates = without_resolved_fixes(table, found)
        fresh_ids = fresh.column(QUARANTINE_ID_COLUMN).to_pylist()
        fresh = (
            fresh.append_column(
                "_ctip_sha", pa.array([by_id[i]["file_sha256"] for i in fresh_ids], pa.string())
            )
            .append_column(
                "_ctip_row_number",
                pa.array([by_id[i]["row_number"] for i in fresh_ids], pa.int64()),
            )
            .append_column(
                "_ctip_source", pa.array([by_id[i]["source"] for i in fresh_ids], pa.string())
            )
        )
        columns = fix_file_data_columns(table)
        plan = plan_import(mapping, columns, table.list_columns)
        report.warnings.extend(plan.warnings())
        started = datetime.now(UTC)
        identity = Identity("_ctip_sha", "_ctip_row_number", "_ctip_source", QUARANTINE_ID_COLUMN)
        with self.engine.transaction():
            self._load(plan, fresh, columns, identity, report, fixing=True)
            self._finish(report, table, mapping, started)
        return report

    def _update_quarantine(self, entries: pa.Table) -> int:
        """Rows of a fix file that still fail: their entries get the new values and reasons."""
        if entries.num_rows == 0:
            return 0
        self.engine.register(QUARANTINE_TABLE, entries)
        count = self._count(
            f"UPDATE quarantine SET errors = n.errors, raw = n.raw FROM {QUARANTINE_TABLE} n"
            " WHERE quarantine.quarantine_id = n.quarantine_id"
        )
        self.engine.unregister(QUARANTINE_TABLE)
        return count

    def _resolve_fixed(self, import_id: str, now: datetime) -> None:
        self.engine.sql(
            "UPDATE quarantine SET resolved_at = ?, resolved_by_import = ?"
            f" WHERE quarantine_id IN (SELECT {QUARANTINE_ID_COLUMN} FROM {MAPPED_TABLE}"
            f" WHERE {OK_COLUMN})",
            [now, import_id],
        )


def _extra_sql(plan: ImportPlan) -> str:
    """Kept columns as one JSON object (NULL when all are empty)."""
    kept = plan.kept
    if not kept:
        return "NULL::JSON"
    names = [kept_column(i) for i in range(len(kept))]
    pairs = ", ".join(f"{lit(c.header)}, {n}" for c, n in zip(kept, names, strict=True))
    return f"CASE WHEN coalesce({', '.join(names)}) IS NULL THEN NULL ELSE json_object({pairs}) END"


def _errors_by_position(
    plan: ImportPlan,
    cells: list[CellError],
    violations: dict[int, list[CrossFieldRule]],
    positions: np.ndarray[Any, np.dtype[np.intp]],
) -> dict[int, list[dict[str, str | None]]]:
    wanted = {int(p) for p in positions}
    grouped: dict[int, list[dict[str, str | None]]] = {}
    for cell in cells:
        if cell.position in wanted:
            grouped.setdefault(cell.position, []).append(
                {"column": cell.column, "field": cell.field, "value": None, "reason": cell.reason}
            )
    for position, rules in violations.items():
        for rule in rules:
            columns = [c for f in rule.fields for c in plan.sources_of(f)]
            grouped.setdefault(position, []).append(
                {
                    "column": ", ".join(columns) or None,
                    "field": ", ".join(rule.fields),
                    "value": None,
                    "reason": rule.reason,
                }
            )
    return grouped


def default_source(path: Path) -> str:
    """The source name an import gets when none is given: the file name without compression
    and format suffixes. Every importer (cases, incidents, ads) names sources the same way so
    that a re-import of a file, compressed or not, lands under one source."""
    name = path.name
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    return Path(name).stem


def without_stored_rows(
    engine: DuckDBEngine, table: SourceTable, kind: str
) -> tuple[pa.Table, list[RejectedRow], int]:
    """Split off the rows an earlier import of the same file already stored or quarantined.

    Shared by the importers of every kind so that re-import is recognised the one way the
    contract promises: by the file's sha256 and each row's position (never by contents), in
    the kind's own table (named after the kind) and in the quarantine. Returns the fresh
    rows, the reader's rejected rows not seen before, and how many rows were duplicates.
    """
    seen = engine.to_arrow(
        f"SELECT row_number FROM {ident(kind)} WHERE file_sha256 = ?"
        " UNION ALL SELECT row_number FROM quarantine WHERE file_sha256 = ? AND kind = ?",
        [table.sha256, table.sha256, kind],
    ).column("row_number")
    if len(seen) == 0:
        return table.table, table.rejected, 0
    repeat = pc.is_in(table.table.column(ROW_COLUMN), value_set=seen.combine_chunks())
    fresh = table.table.filter(pc.invert(repeat))
    seen_rows = set(seen.to_pylist())
    rejected = [r for r in table.rejected if r.row_number not in seen_rows]
    duplicates = (table.table.num_rows - fresh.num_rows) + (len(table.rejected) - len(rejected))
    return fresh, rejected, duplicates


def quarantine_entries_to_fix(engine: DuckDBEngine, table: SourceTable) -> list[dict[str, Any]]:
    """The quarantine entries a corrected export names, with their original import's mapping.

    One lookup for every kind of fix file, so that each importer refuses unknown entries with
    the same message; checking that the entries are of the importer's kind is left to it.
    """
    ids = table.table.column(QUARANTINE_ID_COLUMN).to_pylist()
    found = engine.records(
        "SELECT q.quarantine_id, q.kind, q.import_id, q.source, q.file_sha256, q.row_number,"
        " q.resolved_at IS NOT NULL AS resolved, i.mapping_json, i.input_format"
        " FROM quarantine q JOIN imports i USING (import_id)"
        " WHERE q.quarantine_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    )
    known = {row["quarantine_id"] for row in found}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise BadInputError(
            f"{table.path}: {len(unknown)} rows name quarantine entries that do not exist"
            f" (first: {unknown[0]})",
            hint="export them again with 'ctip quarantine export'",
        )
    return found


def without_resolved_fixes(table: SourceTable, found: list[dict[str, Any]]) -> tuple[pa.Table, int]:
    """The rows of a fix file whose quarantine entry is still open, and how many were not.

    A fix file imported twice must not load a row twice: rows whose entry an earlier fix
    already resolved count as duplicates, as a re-imported file's rows do.
    """
    done = pa.array([r["quarantine_id"] for r in found if r["resolved"]], pa.string())
    resolved = pc.is_in(table.table.column(QUARANTINE_ID_COLUMN), value_set=done)
    duplicates = int(pc.sum(resolved).as_py() or 0)
    return table.table.filter(pc.invert(resolved)), duplicates


def fix_file_data_columns(table: SourceTable) -> list[str]:
    """A fix file's columns less the two ``ctip quarantine export`` adds: the original data."""
    return [c for c in table.columns if c not in (QUARANTINE_ID_COLUMN, QUARANTINE_ERRORS_COLUMN)]


def record_import(
    engine: DuckDBEngine,
    report: ImportReport,
    *,
    kind: str,
    file_size: int,
    mapping_name: str,
    mapping_json: str,
    mapping_sha256: str,
    started: datetime,
) -> None:
    """Write the ``imports`` row of a finished import (its counts, mapping and timing).

    One statement for the importers that share ``ImportReport``, so that cases and incidents
    fill the provenance columns alike; the mapping is stored with its sha256 so a later fix
    file is checked again with exactly the column choices of the original import.
    """
    engine.sql(
        "INSERT INTO imports (import_id, kind, source, file_name, file_sha256, file_size,"
        " input_format, mapping_name, mapping_sha256, mapping_json, started_at, finished_at,"
        " status, read, loaded, quarantined, duplicates, blank, warnings, fixes_import_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.import_id,
            kind,
            report.source,
            report.file,
            report.file_sha256,
            file_size,
            report.input_format,
            mapping_name,
            mapping_sha256,
            mapping_json,
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


def import_cases(workspace: Workspace, path: Path, **options: Any) -> ImportReport:
    """Import one file of case records; see ``CaseImporter.run`` for the options."""
    progress = options.pop("progress", None)
    return CaseImporter(workspace, progress).run(path, **options)

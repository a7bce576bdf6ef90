"""Quarantine: rows that failed checks, kept with their reasons until someone fixes them.

The fix loop: ``export`` writes the open rows of one import as CSV with their original columns
plus ``_ctip_quarantine_id`` and ``_ctip_errors``; the analyst corrects values in any
spreadsheet; ``ctip import cases FIXED.csv`` recognises the id column, checks the rows again
with the original mapping and loads those that now pass, with their original provenance.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError, NotFoundError
from ctip.ingest.importer import QUARANTINE_ERRORS_COLUMN, QUARANTINE_ID_COLUMN

LINE_COLUMN = "_ctip_line"


def kind_of_export(engine: DuckDBEngine, import_id: str | None) -> str:
    """The record kind (cases, incidents, ...) of the open entries an export would write."""
    rows = engine.rows(
        "SELECT DISTINCT kind FROM quarantine WHERE resolved_at IS NULL"
        + (" AND import_id = ?" if import_id else ""),
        [import_id] if import_id else None,
    )
    return str(rows[0][0]) if len(rows) == 1 else "cases"


def list_entries(
    engine: DuckDBEngine,
    *,
    import_id: str | None = None,
    include_resolved: bool = False,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    conditions = ["true"]
    params: list[Any] = []
    if import_id:
        conditions.append("import_id = ?")
        params.append(import_id)
    if not include_resolved:
        conditions.append("resolved_at IS NULL")
    params.append(limit)
    return engine.records(
        "SELECT quarantine_id, import_id, source, row_number,"
        " list_transform(errors, lambda e: coalesce(e.field || ': ', '') || e.reason) AS errors,"
        " resolved_at IS NOT NULL AS resolved"
        f" FROM quarantine WHERE {' AND '.join(conditions)}"
        " ORDER BY quarantined_at, import_id, row_number LIMIT ?",
        params,
    )


def show_entry(engine: DuckDBEngine, quarantine_id: str) -> dict[str, Any]:
    rows = engine.records(
        "SELECT quarantine_id, kind, import_id, source, file_sha256, row_number, raw, errors,"
        " quarantined_at, resolved_at, resolved_by_import FROM quarantine WHERE quarantine_id = ?",
        [quarantine_id],
    )
    if not rows:
        raise NotFoundError(
            f"no quarantine entry '{quarantine_id}'", hint="see 'ctip quarantine list'"
        )
    entry = rows[0]
    entry["raw"] = json.loads(entry["raw"]) if entry["raw"] else None
    return entry


def export_entries(engine: DuckDBEngine, out: Path, *, import_id: str | None = None) -> int:
    """Write the open entries of one import as an editable CSV; return the row count.

    ``kind_of_export`` tells which import command takes the corrected file back.
    """
    imports = [
        str(r[0])
        for r in engine.rows(
            "SELECT DISTINCT import_id FROM quarantine WHERE resolved_at IS NULL"
            + (" AND import_id = ?" if import_id else ""),
            [import_id] if import_id else None,
        )
    ]
    if not imports:
        raise NotFoundError(
            "no open quarantine entries" + (f" for {import_id}" if import_id else "")
        )
    if len(imports) > 1:
        raise BadInputError(
            f"open quarantine entries come from {len(imports)} imports",
            hint="choose one with --import ID (see 'ctip quarantine list')",
        )
    rows = engine.records(
        "SELECT quarantine_id, raw, list_transform(errors, lambda e:"
        " coalesce(e.\"column\" || ': ', '') || e.reason) AS errors"
        " FROM quarantine WHERE resolved_at IS NULL AND import_id = ? ORDER BY row_number",
        [imports[0]],
    )
    columns: dict[str, None] = {}
    records = []
    for row in rows:
        raw = json.loads(row["raw"]) if row["raw"] else {}
        if "_line" in raw:
            raw = {LINE_COLUMN: raw.pop("_line"), **raw}
        columns.update(dict.fromkeys(raw))
        records.append((row["quarantine_id"], "; ".join(row["errors"]), raw))
    header = [QUARANTINE_ID_COLUMN, QUARANTINE_ERRORS_COLUMN, *columns]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for quarantine_id, errors, raw in records:
            writer.writerow([quarantine_id, errors, *(raw.get(c) or "" for c in columns)])
    return len(records)

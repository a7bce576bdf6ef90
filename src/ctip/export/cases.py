"""Export case records: CTIP's own columns (CSV, Parquet, JSON Lines) or a standard's layout
(CTDC global dataset, CTDC victim-perpetrator, HTCDS-headed XLSX).

A standard layout is the mapping that imports it, run backwards: flags are rebuilt from the
lists and their ruled-out companions, value maps are inverted, split fields joined, kept
columns restored from ``extra``. Exporting CTDC and importing the file again gives the same
records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.ingest.mapping import ColumnRule, Mapping, builtin_mapping, target_spec
from ctip.ingest.sql import ident, lit
from ctip.model.fields import FieldSpec, case_schema
from ctip.model.htcds import load_htcds

ExportFormat = Literal["csv", "parquet", "jsonl", "ctdc", "ctdc-vp", "htcds-xlsx"]
EXPORT_FORMATS: tuple[str, ...] = ("csv", "parquet", "jsonl", "ctdc", "ctdc-vp", "htcds-xlsx")
PROVENANCE_COLUMNS = ("case_id", "source", "import_id", "file_sha256", "row_number", "imported_at")
CTDC_MISSING = "-99"
ORDER = "c.imported_at, c.import_id, c.row_number"


def _inverse_values(rule: ColumnRule, spec: FieldSpec) -> dict[str, str]:
    """canonical -> source value; the first source spelling wins. Countries stay ISO codes."""
    if spec.type in ("country", "countries"):
        return {}
    inverse: dict[str, str] = {}
    for source, target in rule.values.items():
        if target is not None and target not in inverse:
            inverse[target] = source
    return inverse


def _mapped_value(expression: str, inverse: dict[str, str]) -> str:
    if not inverse:
        return expression
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in inverse.items())
    return f"CASE {expression} {whens} ELSE {expression} END"


def _column_expression(column: str, rule: ColumnRule, missing: str) -> str | None:
    miss = lit(missing)
    if rule.ignore:
        return None
    if rule.keep:
        return f"COALESCE(json_extract_string(extra, {lit('$.' + _json_key(column))}), {miss})"
    assert rule.field is not None
    spec = target_spec(rule.field)
    assert spec is not None
    if rule.field.startswith("events."):
        _, event_type, attribute = rule.field.split(".")
        value = (
            f"(SELECT CAST(e.{ident(attribute)} AS VARCHAR) FROM case_events e"
            f" WHERE e.case_id = c.case_id"
            f" AND e.event_type = {lit(event_type.capitalize())} LIMIT 1)"
        )
        return f"COALESCE({value}, {miss})"
    name = ident(rule.field)
    inverse = _inverse_values(rule, spec)
    if rule.flag is not None:
        ruled_out = ident(spec.ruled_out_name) if spec.ruled_out else "[]::VARCHAR[]"
        return (
            f"CASE WHEN list_contains({name}, {lit(rule.flag)}) THEN '1'"
            f" WHEN list_contains({ruled_out}, {lit(rule.flag)}) THEN '0' ELSE {miss} END"
        )
    if spec.is_list:
        separator = rule.split or ";"
        items = f"list_transform({name}, lambda x: {_mapped_value('x', inverse)})"
        joined = f"array_to_string({items}, {lit(separator)})"
        return f"CASE WHEN len({name}) = 0 THEN {miss} ELSE {joined} END"
    if spec.type == "boolean":
        return f"CASE WHEN {name} THEN '1' WHEN NOT {name} THEN '0' ELSE {miss} END"
    return f"COALESCE({_mapped_value(f'CAST({name} AS VARCHAR)', inverse)}, {miss})"


def _json_key(column: str) -> str:
    return '"' + column.replace('"', '\\"') + '"'


def mapped_select(mapping: Mapping, missing: str, where: str = "true") -> str:
    """SELECT producing the mapping's source layout from the cases table."""
    expressions = []
    for column, rule in mapping.columns.items():
        expression = _column_expression(column, rule, missing)
        if expression is not None:
            expressions.append(f"{expression} AS {ident(column)}")
    return f"SELECT {', '.join(expressions)} FROM cases c WHERE {where} ORDER BY {ORDER}"


def canonical_select(*, lists_as_text: bool, where: str = "true") -> str:
    columns = [f"c.{ident(c)}" for c in PROVENANCE_COLUMNS]
    for name, sql_type in case_schema().storage_columns():
        if lists_as_text and sql_type.endswith("[]"):
            columns.append(f"array_to_string({ident(name)}, ';') AS {ident(name)}")
        else:
            columns.append(f"c.{ident(name)}")
    columns.append("c.extra")
    if lists_as_text:
        return f"SELECT {', '.join(columns)} FROM cases c WHERE {where} ORDER BY {ORDER}"
    columns.append("COALESCE(ev.events, []) AS events")
    return (
        f"SELECT {', '.join(columns)} FROM cases c LEFT JOIN ("
        "  SELECT case_id, list(struct_pack(type := event_type, country := country,"
        "   city := city, latitude := latitude, longitude := longitude, date := date)) AS events"
        "  FROM case_events GROUP BY case_id"
        f") ev ON ev.case_id = c.case_id WHERE {where} ORDER BY {ORDER}"
    )


def export_cases(engine: DuckDBEngine, out: Path, export_format: str, where: str = "true") -> int:
    """Write the cases to ``out`` in ``export_format``; return the number of records."""
    if export_format not in EXPORT_FORMATS:
        raise BadInputError(
            f"unknown export format '{export_format}'",
            hint=f"use one of {', '.join(EXPORT_FORMATS)}",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    target = lit(str(out))
    if export_format == "htcds-xlsx":
        return _export_htcds_xlsx(engine, out, where)
    if export_format == "csv":
        query, options = (
            canonical_select(lists_as_text=True, where=where),
            "FORMAT csv, HEADER true",
        )
    elif export_format == "parquet":
        query, options = canonical_select(lists_as_text=False, where=where), "FORMAT parquet"
    elif export_format == "jsonl":
        query, options = canonical_select(lists_as_text=False, where=where), "FORMAT json"
    else:
        missing = CTDC_MISSING if export_format == "ctdc" else ""
        query = mapped_select(builtin_mapping(export_format), missing, where)
        options = "FORMAT csv, HEADER true"
    rows = engine.rows(f"COPY ({query}) TO {target} ({options})")
    return int(rows[0][0]) if rows else 0


def _export_htcds_xlsx(engine: DuckDBEngine, out: Path, where: str) -> int:
    """HTCDS field names in row 1 and their labels in row 2, as in IOM's Excel toolkit."""
    from openpyxl import Workbook

    mapping = builtin_mapping("htcds")
    table = engine.to_arrow(mapped_select(mapping, "", where))
    labels = {f.name: f.label for f in load_htcds().fields}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("HTCDS")
    sheet.append(table.column_names)
    sheet.append([labels.get(name, name) for name in table.column_names])
    for row in table.to_pylist():
        sheet.append([row[name] or None for name in table.column_names])
    workbook.save(out)
    return int(table.num_rows)

"""Check case records arriving through the API with the importer's own cleaners and rules.

A JSON record uses CTIP's canonical field names (``docs/data-model.md``), with historic events
nested as ``{"events": {"recruitment": {"country": "NG"}}}``. The records of one request
become an Arrow table of strings, exactly as a JSON file read by ``ctip import cases`` would,
and go through the same plan, cleaners and cross-field rules, so a value the CLI would
quarantine is quarantined here too, with the same reason.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import pyarrow as pa

from ctip.engine import DuckDBEngine
from ctip.ingest.cleaners import Cleaner, CleanerFactory
from ctip.ingest.mapping import EVENT_TYPES, Mapping
from ctip.ingest.plan import ImportPlan, plan_import
from ctip.ingest.readers import LIST_SEPARATOR, ROW_COLUMN, cell_text
from ctip.ingest.rules import CROSS_FIELD_RULES, CrossFieldRule
from ctip.ingest.sql import ident
from ctip.ingest.transform import NONBLANK, event_column, transform
from ctip.model.fields import case_schema

MAPPED = "_hub_mapped"
_engines = threading.local()


@dataclass
class CheckedRecord:
    position: int
    values: dict[str, Any]  # flat: field -> value, events as events.<type>.<attribute>


@dataclass
class RejectedRecord:
    position: int
    errors: list[dict[str, str]] = field(default_factory=list)


@cache
def api_mapping() -> Mapping:
    """Canonical field names map to themselves; every present value counts (no -99 tokens)."""
    schema = case_schema()
    columns: dict[str, Any] = {spec.name: {"field": spec.name} for spec in schema.fields}
    for event_type in EVENT_TYPES:
        for spec in schema.event_fields:
            target = f"events.{event_type}.{spec.name}"
            columns[target] = {"field": target}
    return Mapping(name="ctip-api", columns=columns, missing_values=[""], unmapped="ignore")


@cache
def ruled_out_cleaners() -> dict[str, Cleaner]:
    """``<field>_ruled_out`` lists hold codes of the field's list, checked item by item."""
    mapping = api_mapping()
    factory = CleanerFactory(
        true_values=mapping.true_values,
        false_values=mapping.false_values,
        date_formats=mapping.date_formats,
    )
    return {
        spec.ruled_out_name: factory.items(spec, {}, LIST_SEPARATOR)
        for spec in case_schema().fields
        if spec.ruled_out
    }


def _flatten(record: dict[str, Any]) -> tuple[dict[str, str], set[str], list[str]]:
    """(text cells, list columns, unknown keys) of one JSON record."""
    known = {**api_mapping().columns, **ruled_out_cleaners()}
    flat: dict[str, str] = {}
    lists: set[str] = set()
    unknown: list[str] = []

    def visit(value: Any, name: str) -> None:
        if isinstance(value, dict) and name in ("events", *(f"events.{t}" for t in EVENT_TYPES)):
            for key, inner in value.items():
                visit(inner, f"{name}.{key}")
            return
        if name not in known:
            unknown.append(name)
            return
        if isinstance(value, list):
            if any(isinstance(item, dict | list) for item in value):
                unknown.append(name)
                return
            flat[name] = LIST_SEPARATOR.join(cell_text(item) for item in value)
            lists.add(name)
        elif isinstance(value, dict):
            unknown.append(name)
        else:
            flat[name] = cell_text(value)

    for key, value in record.items():
        visit(value, str(key))
    return flat, lists, unknown


def _engine() -> DuckDBEngine:
    engine = getattr(_engines, "engine", None)
    if engine is None:
        engine = DuckDBEngine(threads=1)
        _engines.engine = engine
    return engine


def _violations(plan: ImportPlan, table: pa.Table) -> dict[int, list[CrossFieldRule]]:
    present = plan.targets()
    rules = [rule for rule in CROSS_FIELD_RULES if set(rule.fields) & present]
    if not rules:
        return {}
    schema = case_schema()
    absent = [
        f"{'[]' if schema.field(n).is_list else 'NULL'}::{schema.field(n).sql_type} AS {ident(n)}"
        for n in sorted({f for rule in rules for f in rule.fields} - set(table.column_names))
    ]
    engine = _engine()
    engine.register(MAPPED, table)
    try:
        flags = ", ".join(f"coalesce({r.violation}, false) AS v{i}" for i, r in enumerate(rules))
        found = engine.records(
            f"SELECT {ROW_COLUMN} AS pos, {flags} FROM"
            f" (SELECT *{''.join(', ' + a for a in absent)} FROM {MAPPED}) WHERE {NONBLANK}"
        )
    finally:
        engine.unregister(MAPPED)
    result: dict[int, list[CrossFieldRule]] = {}
    for row in found:
        broken = [rule for i, rule in enumerate(rules) if row[f"v{i}"]]
        if broken:
            result[int(row["pos"])] = broken
    return result


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def check_records(
    records: list[dict[str, Any]],
) -> tuple[list[CheckedRecord], list[RejectedRecord]]:
    """Split records into typed good ones and rejected ones with per-field reasons."""
    rejected: dict[int, RejectedRecord] = {}
    cells: list[tuple[int, dict[str, str]]] = []
    list_columns: set[str] = set()
    ruled_out: dict[int, dict[str, list[str]]] = {}
    for position, record in enumerate(records):
        flat, lists, unknown = _flatten(record)
        for name, cleaner in ruled_out_cleaners().items():
            text = flat.pop(name, "")
            if not text:
                continue
            cleaned = cleaner(text)
            if cleaned.ok:
                ruled_out.setdefault(position, {})[name] = cleaned.value
            else:
                entry = rejected.setdefault(position, RejectedRecord(position))
                entry.errors.append({"field": name, "reason": cleaned.reason or ""})
        if position in rejected:
            continue
        if unknown:
            rejected[position] = RejectedRecord(
                position,
                [
                    {"field": name, "reason": "not a case field (see docs/data-model.md)"}
                    for name in unknown
                ],
            )
            continue
        if not any(text.strip() for text in flat.values()):
            rejected[position] = RejectedRecord(position, [{"field": "", "reason": "empty record"}])
            continue
        cells.append((position, flat))
        list_columns |= lists
    checked: list[CheckedRecord] = []
    if cells:
        names = sorted({name for _, flat in cells for name in flat})
        arrays = [pa.array([flat.get(n, "") for _, flat in cells], pa.string()) for n in names]
        positions = pa.array([p for p, _ in cells], pa.int64())
        table = pa.Table.from_arrays([*arrays, positions], names=[*names, ROW_COLUMN])
        plan = plan_import(api_mapping(), names, list_columns)
        mapped = transform(plan, table)
        for error in mapped.errors:
            position = cells[error.position][0]
            entry = rejected.setdefault(position, RejectedRecord(position))
            entry.errors.append({"field": error.field, "reason": error.reason})
        for position, rules in _violations(plan, mapped.table).items():
            entry = rejected.setdefault(position, RejectedRecord(position))
            entry.errors.extend({"field": ",".join(r.fields), "reason": r.reason} for r in rules)
        checked = _typed_rows(plan, mapped.table, set(rejected))
        for checked_record in checked:
            checked_record.values.update(ruled_out.get(checked_record.position, {}))
    return checked, sorted(rejected.values(), key=lambda r: r.position)


def _typed_rows(plan: ImportPlan, table: pa.Table, bad: set[int]) -> list[CheckedRecord]:
    schema = case_schema()
    columns: list[tuple[str, str]] = []  # (table column, flat record key)
    for name, _ in schema.storage_columns():
        if name in table.column_names:
            columns.append((name, name))
    for event_type in plan.event_types:
        for spec in schema.event_fields:
            column = event_column(event_type, spec.name)
            if column in table.column_names:
                columns.append((column, f"events.{event_type}.{spec.name}"))
    result = []
    for row in table.select([ROW_COLUMN, *(c for c, _ in columns)]).to_pylist():
        position = int(row[ROW_COLUMN])
        if position in bad:
            continue
        values = {
            key: _json_value(row[column])
            for column, key in columns
            if row[column] is not None and row[column] != []
        }
        result.append(CheckedRecord(position, values))
    return result

"""Run an import plan over an Arrow table: typed fields, per-cell errors, nothing lost.

Agency columns repeat a handful of values (codes, flags, years), so every column is
dictionary-encoded and its cleaner runs once per *distinct* value; the results are spread back
to the rows with NumPy indexing. A million-row, 63-column CTDC file takes about a second this
way, where evaluating the same checks row by row (in Python or in SQL) takes tens of seconds.

Flag columns that add codes to one list (CTDC's 18 ``meansOfControl*`` columns) become a
boolean matrix; the list column is built from it directly (offsets from row sums, values from
the non-zero positions), sorted by code.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ctip.ingest.cleaners import MISSING, Cleaned
from ctip.ingest.plan import ColumnPlan, ImportPlan
from ctip.ingest.readers import ROW_COLUMN
from ctip.model.fields import FieldSpec, case_schema

ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int32(),
    "number": pa.float64(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "code": pa.string(),
    "country": pa.string(),
    "language": pa.string(),
    "codes": pa.list_(pa.string()),
    "countries": pa.list_(pa.string()),
}
Mask = np.ndarray[Any, np.dtype[np.bool_]]
NONBLANK = "_ctip_nonblank"
CELLS_OK = "_ctip_cells_ok"


@dataclass
class CleanColumn:
    """One source column after cleaning, still in dictionary form."""

    plan: ColumnPlan
    indices: np.ndarray[Any, np.dtype[np.int32]]
    results: list[Cleaned]
    present: Mask  # per distinct value: not a missing token

    def values(self, arrow_type: pa.DataType) -> pa.Array:
        dictionary = pa.array([r.value for r in self.results], type=arrow_type)
        return dictionary.take(pa.array(self.indices))

    def mask(self, per_value: Sequence[bool]) -> Mask:
        chosen: Mask = np.asarray(per_value, dtype=bool)[self.indices]
        return chosen

    @property
    def all_ok(self) -> bool:
        return all(r.ok for r in self.results)


@dataclass
class CellError:
    position: int
    column: str
    field: str
    reason: str


@dataclass
class MappedTable:
    """The typed rows, ready for SQL, and the cell errors of the rows that failed."""

    table: pa.Table
    errors: list[CellError] = field(default_factory=list)


def _clean_column(table: pa.Table, plan: ColumnPlan) -> CleanColumn:
    column = pc.fill_null(table.column(plan.header), "").combine_chunks()
    encoded = column.dictionary_encode()
    dictionary: list[str] = encoded.dictionary.to_pylist()
    results: list[Cleaned] = []
    present: list[bool] = []
    for raw in dictionary:
        text = raw.strip()
        if text in plan.missing:
            results.append(MISSING)
            present.append(False)
        else:
            results.append(plan.cleaner(text))
            present.append(True)
    indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return CleanColumn(plan, indices, results, np.asarray(present, dtype=bool))


def _lists_from_masks(masks: list[Mask], codes: list[str], rows: int) -> pa.Array:
    """A list column holding, per row, the codes whose mask is true, in the order given.

    Offsets come from the per-row counts; each code's rows then write their code into the
    next free slot of their list, so the work is linear in rows times codes.
    """
    counts = np.zeros(rows, dtype=np.int32)
    for mask in masks:
        counts += mask
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    slot = offsets[:-1].copy()
    positions = np.empty(int(offsets[-1]), dtype=np.int32)
    for index, mask in enumerate(masks):
        chosen = np.flatnonzero(mask)
        positions[slot[chosen]] = index
        slot[chosen] += 1
    # Plain strings, not a dictionary array: DuckDB 2.0.1 mis-evaluates list_has_any over
    # list<dictionary<string>> inside aggregate filters.
    values = pa.array(codes, type=pa.string()).take(pa.array(positions))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _flag_lists(cleaned: list[CleanColumn], rows: int) -> tuple[pa.Array, pa.Array]:
    """(codes answered yes, codes answered no) for the flag columns of one field."""
    codes = sorted({c.plan.flag or "" for c in cleaned})
    yes: dict[str, Mask] = {}
    no: dict[str, Mask] = {}
    for column in cleaned:
        code = column.plan.flag or ""
        said_yes = column.mask([r.value is True for r in column.results])
        said_no = column.mask([r.value is False for r in column.results])
        yes[code] = yes[code] | said_yes if code in yes else said_yes
        no[code] = no[code] | said_no if code in no else said_no
    # a code said yes by one column and no by another counts as yes
    yes_masks = [yes[c] for c in codes]
    no_masks = [no[c] & ~yes[c] for c in codes]
    return _lists_from_masks(yes_masks, codes, rows), _lists_from_masks(no_masks, codes, rows)


def empty_lists(rows: int, arrow_type: pa.DataType) -> pa.Array:
    """``rows`` empty lists, built from offsets (a Python list of lists is slow at 10^6)."""
    offsets = pa.array(np.zeros(rows + 1, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array([], type=arrow_type.value_type))


def _merge_lists(parts: list[pa.Array]) -> pa.Array:
    """Union of several list columns, row by row, sorted (rare: mixed flags and splits)."""
    merged = [
        sorted({item for part in row if part for item in part})
        for row in zip(*(p.to_pylist() for p in parts), strict=True)
    ]
    return pa.array(merged, type=pa.list_(pa.string()))


def _with_default(spec: FieldSpec, values: pa.Array, default: Any) -> pa.Array:
    if default is None:
        return values
    arrow_type = ARROW_TYPES[spec.type]
    if spec.is_list:
        items = default if isinstance(default, list) else [default]
        empty = pc.equal(pc.list_value_length(values), 0)
        return pc.if_else(empty, pa.scalar([str(i) for i in items], type=arrow_type), values)
    scalar = pa.array([default]).cast(arrow_type)[0]
    return pc.fill_null(values, scalar)


def _nonblank(columns: list[CleanColumn], rows: int) -> Mask:
    """Rows with a value in at least one mapped column (blank rows are not records)."""
    if any(column.present.all() for column in columns):
        return np.ones(rows, dtype=bool)
    nonblank = np.zeros(rows, dtype=bool)
    for column in columns:
        nonblank |= column.present[column.indices]
    return nonblank


class Transformer:
    def __init__(self, plan: ImportPlan, threads: int = 2) -> None:
        self.plan = plan
        self.threads = threads

    def run(self, table: pa.Table) -> MappedTable:
        rows = table.num_rows
        with ThreadPoolExecutor(self.threads) as pool:
            cleaned = list(pool.map(lambda p: _clean_column(table, p), self.plan.columns))
        by_target: dict[str, list[CleanColumn]] = {}
        for column in cleaned:
            by_target.setdefault(column.plan.target, []).append(column)
        output: dict[str, pa.Array] = {ROW_COLUMN: table.column(ROW_COLUMN).combine_chunks()}
        schema = case_schema()
        wanted = set(by_target) | set(self.plan.mapping.defaults)
        for spec in schema.fields:
            if spec.name in wanted:  # the table's defaults fill the other columns
                self._field(spec, spec.name, by_target.get(spec.name, []), rows, output)
        for event_type in self.plan.event_types:
            for spec in schema.event_fields:
                target = f"events.{event_type}.{spec.name}"
                self._field(
                    spec,
                    target,
                    by_target.get(target, []),
                    rows,
                    output,
                    event_column(event_type, spec.name),
                )
        for index, column in enumerate(by_target.get("", [])):
            output[kept_column(index)] = column.values(pa.string())
        mapped = [c for c in cleaned if c.plan.kind != "keep"]
        cells_ok = np.ones(rows, dtype=bool)
        errors: list[CellError] = []
        for column in mapped:
            if column.all_ok:
                continue
            ok = column.mask([r.ok for r in column.results])
            cells_ok &= ok
            for position in np.flatnonzero(~ok):
                reason = column.results[column.indices[position]].reason or ""
                errors.append(
                    CellError(int(position), column.plan.header, column.plan.target, reason)
                )
        output[NONBLANK] = pa.array(_nonblank(mapped, rows))
        output[CELLS_OK] = pa.array(cells_ok)
        return MappedTable(pa.table(output), errors)

    def _field(
        self,
        spec: FieldSpec,
        target: str,
        columns: list[CleanColumn],
        rows: int,
        output: dict[str, pa.Array],
        name: str | None = None,
    ) -> None:
        name = name or spec.name
        arrow_type = ARROW_TYPES[spec.type]
        default = self.plan.mapping.defaults.get(target)
        if spec.is_list:
            parts = [c.values(arrow_type) for c in columns if c.plan.kind == "list"]
            flags = [c for c in columns if c.plan.kind == "flag"]
            ruled_out = None
            if flags:
                yes, ruled_out = _flag_lists(flags, rows)
                parts.append(yes)
            if not parts:
                values = empty_lists(rows, arrow_type)
            elif len(parts) == 1:
                values = pc.fill_null(parts[0], pa.scalar([], type=arrow_type))
            else:
                values = _merge_lists(parts)
            output[name] = _with_default(spec, values, default)
            if spec.ruled_out:
                output[spec.ruled_out_name] = (
                    ruled_out if ruled_out is not None else empty_lists(rows, arrow_type)
                )
            return
        values = columns[0].values(arrow_type) if columns else pa.nulls(rows, type=arrow_type)
        output[name] = _with_default(spec, values, default)


def event_column(event_type: str, attribute: str) -> str:
    return f"event_{event_type}_{attribute}"


def kept_column(index: int) -> str:
    return f"_ctip_keep_{index}"


def transform(plan: ImportPlan, table: pa.Table) -> MappedTable:
    """Clean and type every row of ``table`` according to ``plan``."""
    return Transformer(plan).run(table)

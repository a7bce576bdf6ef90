"""``ctip pprl encode``: a file of person records to CLK encodings, locally, with a secret.

The linkage schema's feature identifiers name the file's columns (letter case ignored). Values
are cleaned the same way on every side (``pprl.normalise``) and checked against the schema's
formats before hashing; a row that fails stops the run with its row and field, unless
``skip_invalid`` is set, in which case it is left out and listed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctip.errors import BadInputError
from ctip.ingest.readers import ROW_COLUMN, read_table
from ctip.link.pprl import header, load_schema, normalise, read_secret, write_encodings


@dataclass
class EncodeSummary:
    out: Path
    encoded: int
    skipped: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def encode_file(
    path: Path,
    schema_path: Path,
    secret_path: Path,
    out: Path,
    *,
    id_column: str | None = None,
    skip_invalid: bool = False,
    workers: int | None = None,
) -> EncodeSummary:
    from clkhash.clk import generate_clks
    from clkhash.field_formats import Ignore, InvalidEntryError

    schema, raw, schema_sha = load_schema(schema_path)
    secret = read_secret(secret_path)
    source = read_table(path)
    if source.rejected:
        first = source.rejected[0]
        raise BadInputError(f"{path}: row {first.row_number}: {first.reason}")
    table = source.table
    lookup = {c.lower(): c for c in table.column_names if c != ROW_COLUMN}
    identifier = id_column or next(
        (lookup[c] for c in ("id", "rec_id", "record_id", "unique_id", "case_id") if c in lookup),
        None,
    )
    if identifier is None or identifier not in table.column_names:
        raise BadInputError(
            f"{path}: no id column {identifier or ''}".strip(),
            hint="name it with --id-column COL (columns: " + ", ".join(lookup.values()) + ")",
        )
    cases = {f["identifier"]: (f.get("format") or {}).get("case") for f in raw["features"]}
    columns: list[list[str] | None] = []
    for feature in schema.fields:
        column = lookup.get(feature.identifier.lower())
        if column is None:
            if isinstance(feature, Ignore):
                columns.append(None)
                continue
            raise BadInputError(
                f"{path}: no column '{feature.identifier}' named by the linkage schema",
                hint="rename the column or the schema feature (columns: "
                + ", ".join(lookup.values())
                + ")",
            )
        if isinstance(feature, Ignore):
            columns.append(None)
            continue
        case = cases.get(feature.identifier)
        columns.append([normalise(v, case) for v in table.column(column).to_pylist()])
    ids = [str(v) if v is not None else "" for v in table.column(identifier).to_pylist()]
    rows_numbers = table.column(ROW_COLUMN).to_pylist()
    width = len(schema.fields)
    records: list[list[str]] = []
    kept_ids: list[str] = []
    skipped: list[dict[str, Any]] = []
    seen: set[str] = set()
    validators = [f.validate for f in schema.fields]
    for position, record_id in enumerate(ids):
        row = [c[position] if c is not None else "" for c in columns]
        assert len(row) == width
        problem = _first_problem(row, validators, schema.fields, InvalidEntryError)
        if not record_id:
            problem = {"field": identifier, "reason": "no record id"}
        elif record_id in seen:
            problem = {"field": identifier, "reason": f"id '{record_id}' repeats"}
        if problem is not None:
            entry = {"row": rows_numbers[position], **problem}
            if not skip_invalid:
                raise BadInputError(
                    f"{path}: row {entry['row']}: {entry['field']}: {entry['reason']}",
                    hint="fix the value, or pass --skip-invalid to encode the other rows",
                )
            skipped.append(entry)
            continue
        seen.add(record_id)
        kept_ids.append(record_id)
        records.append(row)
    if not records:
        raise BadInputError(f"{path}: no record could be encoded")
    clks = generate_clks(
        records, schema, secret, validate=False, max_workers=workers or os.cpu_count()
    )
    meta = header(schema_sha, secret, schema.l, len(clks))
    write_encodings(out, kept_ids, clks, meta)
    return EncodeSummary(out, len(clks), skipped, meta)


def _first_problem(
    row: list[str], validators: list[Any], fields: list[Any], error_type: type[Exception]
) -> dict[str, Any] | None:
    for value, validate, feature in zip(row, validators, fields, strict=True):
        try:
            validate(value)
        except error_type as error:
            return {"field": feature.identifier, "reason": str(error).splitlines()[0]}
    return None

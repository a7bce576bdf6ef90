"""Records to resolve: read files or workspace cases, clean values by role, drop what cannot link.

Comparisons are only as good as the values compared: ``MARÍA`` and ``maria``, ``+1 (202)
555-0143`` and ``12025550143``, ``1985-03-07`` and ``07/03/1985`` must agree before Splink sees
them. Cleaning runs as one SQL query per input in the workspace engine, so a million records
take seconds. Records with no identifying value (name, date of birth, contact or identity
number) are set aside and counted, never linked: demographics alone do not identify anyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ctip.engine import DuckDBEngine
from ctip.errors import BadInputError
from ctip.ingest.readers import ROW_COLUMN, read_table
from ctip.link.roles import IDENTIFYING, ColumnRole, assign_roles, normalise_name

UID = "unique_id"
SOURCE = "source_file"

_LETTERS = "regexp_replace(strip_accents(lower(trim({x}))), '[^a-z ]+', '', 'g')"
_WORDS = "regexp_replace(strip_accents(lower(trim({x}))), '[^a-z0-9 ]+', ' ', 'g')"
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d %b %Y")

# role -> SQL cleaning expression over {x} (a VARCHAR); empty results become NULL.
CLEANERS: dict[str, str] = {
    "first_name": f"regexp_replace({_LETTERS}, '\\s+', ' ', 'g')",
    "middle_name": f"regexp_replace({_LETTERS}, '\\s+', ' ', 'g')",
    "last_name": f"regexp_replace({_LETTERS}, '\\s+', ' ', 'g')",
    "full_name": f"regexp_replace({_LETTERS}, '\\s+', ' ', 'g')",
    "birth_date": "strftime(coalesce("
    + ", ".join(f"try_strptime(trim({{x}}), '{f}')" for f in DATE_FORMATS)
    + "), '%Y-%m-%d')",
    "phone": "regexp_replace(regexp_replace(trim({x}), '[^0-9]+', '', 'g'), '^00', '')",
    "email": "CASE WHEN contains({x}, '@') THEN lower(trim({x})) END",
    "identity": "regexp_replace(upper({x}), '[^A-Z0-9]+', '', 'g')",
    "citizenship": "upper(trim({x}))",
    "city": f"trim(regexp_replace({_WORDS}, '\\s+', ' ', 'g'))",
    "address": f"trim(regexp_replace({_WORDS}, '\\s+', ' ', 'g'))",
    "postcode": "regexp_replace(upper({x}), '[^A-Z0-9]+', '', 'g')",
    "state": "lower(trim({x}))",
    "street_number": "regexp_replace(upper({x}), '[^A-Z0-9]+', '', 'g')",
    "gender": "lower(trim({x}))",
    "category": "lower(trim({x}))",
}


@dataclass(frozen=True)
class PreparedColumn:
    source: str  # the column as the user named it
    field: str  # its SQL-safe name in the prepared table
    role: str


@dataclass
class PreparedRecords:
    table: pa.Table  # unique_id, source_file, one cleaned column per PreparedColumn
    columns: list[PreparedColumn]
    read: int
    excluded: int  # records without any identifying value
    inputs: list[dict[str, str | int]]


def _field_names(roles: Sequence[ColumnRole]) -> list[str]:
    names: list[str] = []
    for column in roles:
        base = normalise_name(column.column) or "column"
        if base[0].isdigit() or base in (UID, SOURCE):
            base = f"c_{base}"
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def clean_records(
    engine: DuckDBEngine,
    table: pa.Table,
    id_column: str,
    roles: Sequence[ColumnRole],
    *,
    inputs: list[dict[str, str | int]],
) -> PreparedRecords:
    """Clean ``table`` (text columns, ``id_column`` unique) into the prepared form."""
    fields = _field_names(roles)
    columns = [PreparedColumn(r.column, f, r.role) for r, f in zip(roles, fields, strict=True)]
    engine.register("link_raw_input", table)
    try:
        select = [f'CAST("{_quote(id_column)}" AS VARCHAR) AS {UID}', f"{SOURCE}"]
        for column in columns:
            value = f'CAST("{_quote(column.source)}" AS VARCHAR)'
            select.append(f"nullif({CLEANERS[column.role].format(x=value)}, '') AS {column.field}")
        identifying = [c.field for c in columns if c.role in IDENTIFYING]
        keep = " OR ".join(f"{f} IS NOT NULL" for f in identifying)
        engine.sql(
            "CREATE OR REPLACE TEMP TABLE link_clean AS SELECT "
            + ", ".join(select)
            + " FROM link_raw_input"
        )
    finally:
        engine.unregister("link_raw_input")
    try:
        missing = engine.rows(f"SELECT count(*) FROM link_clean WHERE {UID} IS NULL")[0][0]
        if missing:
            raise BadInputError(
                f"{missing} record(s) have no value in the id column '{id_column}'",
                hint="every record needs a unique id (--id-column COL)",
            )
        duplicate = engine.rows(
            f"SELECT {UID}, count(*) FROM link_clean GROUP BY 1 HAVING count(*) > 1 LIMIT 1"
        )
        if duplicate:
            raise BadInputError(
                f"id '{duplicate[0][0]}' appears {duplicate[0][1]} times in '{id_column}'",
                hint="ids must be unique across the inputs; choose another --id-column",
            )
        read = int(engine.scalar("SELECT count(*) FROM link_clean"))
        prepared = engine.to_arrow(f"SELECT * FROM link_clean WHERE {keep} ORDER BY {UID}")
    finally:
        engine.sql("DROP TABLE IF EXISTS link_clean")
    return PreparedRecords(prepared, columns, read, read - prepared.num_rows, inputs)


def _quote(name: str) -> str:
    return name.replace('"', '""')


def read_files(
    engine: DuckDBEngine,
    paths: Sequence[Path],
    *,
    id_column: str | None,
    specs: Sequence[tuple[str, str | None]],
) -> PreparedRecords:
    """Read one or more files (any format ``read_table`` knows) and clean them together."""
    tables: list[pa.Table] = []
    inputs: list[dict[str, str | int]] = []
    header: list[str] | None = None
    for path in paths:
        source = read_table(path)
        if source.rejected:
            first = source.rejected[0]
            raise BadInputError(
                f"{path}: row {first.row_number}: {first.reason}",
                hint="fix the row (or import the file with 'ctip import' to quarantine it)",
            )
        columns = [c for c in source.table.column_names if c != ROW_COLUMN]
        if header is None:
            header = columns
        elif set(columns) != set(header):
            raise BadInputError(
                f"{path}: columns differ from {paths[0].name}",
                hint="files linked together need the same columns",
            )
        table = source.table.select(header).append_column(
            SOURCE, pa.array([path.name] * source.table.num_rows, pa.string())
        )
        tables.append(table)
        inputs.append({"file": str(path), "sha256": source.sha256, "rows": table.num_rows})
    assert header is not None
    identifier = id_column or _guess_id_column(header, paths[0])
    if identifier not in header:
        raise BadInputError(
            f"{paths[0]}: no column '{identifier}'", hint="columns: " + ", ".join(header)
        )
    roles = assign_roles(header, specs, id_column=identifier)
    return clean_records(engine, pa.concat_tables(tables), identifier, roles, inputs=inputs)


def _guess_id_column(header: Sequence[str], path: Path) -> str:
    for column in header:
        if re.fullmatch(r"(unique_?id|rec(ord)?_?id|id|person_?id|case_?id)", column.lower()):
            return column
    raise BadInputError(
        f"{path}: cannot tell which column identifies a record",
        hint="name it with --id-column COL",
    )


CASE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (expression over cases, name shown, role)
    ("first_name", "first_name", "first_name"),
    ("middle_name", "middle_name", "middle_name"),
    ("last_name", "last_name", "last_name"),
    ("CAST(birth_date AS VARCHAR)", "birth_date", "birth_date"),
    ("identity_number", "identity_number", "identity"),
    ("email", "email", "email"),
    ("coalesce(phone, home_phone)", "phone", "phone"),
    ("array_to_string(list_sort(citizenship), ',')", "citizenship", "citizenship"),
    ("mailing_city", "mailing_city", "city"),
    ("mailing_street", "mailing_street", "address"),
    ("mailing_postal_code", "mailing_postal_code", "postcode"),
    ("gender", "gender", "gender"),
)


def read_cases(engine: DuckDBEngine, specs: Sequence[tuple[str, str | None]]) -> PreparedRecords:
    """Workspace case records; only those with an identifying field take part."""
    expressions = ", ".join(f"{expr} AS {name}" for expr, name, _ in CASE_COLUMNS)
    table = engine.to_arrow(
        f"SELECT case_id, source AS {SOURCE}, {expressions} FROM cases ORDER BY case_id"
    )
    default = {name: role for _, name, role in CASE_COLUMNS}
    roles = assign_roles(
        [name for _, name, _ in CASE_COLUMNS],
        specs or [(name, default[name]) for _, name, _ in CASE_COLUMNS],
        id_column="case_id",
    )
    return clean_records(
        engine, table, "case_id", roles, inputs=[{"workspace": "cases", "rows": table.num_rows}]
    )

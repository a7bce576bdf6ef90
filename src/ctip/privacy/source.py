"""Where a release's records come from: the workspace case records, or any table file.

Everything becomes text (lists joined with ``;`` in sorted order, numbers without a trailing
``.0``), with missing values as None, because generalisation and counting work on values as a
reader of the release will see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctip.engine import DuckDBEngine
from ctip.errors import BadInputError
from ctip.ingest.readers import ROW_COLUMN, read_table

DEFAULT_QUASI = (
    "gender",
    "age_broad",
    "citizenship",
    "country_of_exploitation",
    "year_of_registration",
)
DEFAULT_SENSITIVE = ("exploitation_types",)


@dataclass
class ReleaseSource:
    frame: pd.DataFrame
    description: str
    sha256: str | None = None


def from_cases(
    engine: DuckDBEngine, columns: Sequence[str], where: str | None = None
) -> ReleaseSource:
    types = dict(
        engine.rows(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'cases'"
        )
    )
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise BadInputError(
            f"no case field {', '.join(unknown)}",
            hint="see 'ctip schema case' for the field names",
        )
    select = []
    for column in columns:
        if str(types[column]).endswith("[]"):
            select.append(f"nullif(array_to_string(list_sort({column}), ';'), '') AS {column}")
        else:
            select.append(f"CAST({column} AS VARCHAR) AS {column}")
    table = engine.to_arrow(f"SELECT {', '.join(select)} FROM cases ORDER BY case_id")
    if table.num_rows == 0:
        raise BadInputError(
            "the workspace has no case records", hint="import some with 'ctip import cases'"
        )
    frame = table.to_pandas().astype(object)
    frame = frame.where(frame.notna(), None)
    return ReleaseSource(frame, f"workspace cases ({table.num_rows:,} records)")


def from_file(path: Path, columns: Sequence[str]) -> ReleaseSource:
    source = read_table(path)
    available = [c for c in source.table.column_names if c != ROW_COLUMN]
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise BadInputError(
            f"{path}: no column {', '.join(unknown)}", hint="columns: " + ", ".join(available)
        )
    frame = source.table.select(list(columns)).to_pandas().astype(object)
    frame = frame.where(frame.notna() & (frame != ""), None)
    for column in frame.columns:
        frame[column] = frame[column].map(_tidy)
    return ReleaseSource(frame, f"{path.name} ({len(frame):,} records)", source.sha256)


def _tidy(value: object) -> object:
    if isinstance(value, str) and value.endswith(".0") and value[:-2].lstrip("-").isdigit():
        return value[:-2]
    return value

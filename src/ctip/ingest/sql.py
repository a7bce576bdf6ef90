"""Small helpers for writing SQL text safely: quoting, literals, value maps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def ident(name: str) -> str:
    """A double-quoted SQL identifier; any name a spreadsheet header can hold is safe."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def lit_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def case_map(expression: str, table: Mapping[str, str], default: str = "NULL") -> str:
    """``CASE expr WHEN 'k' THEN 'v' ... ELSE default END``; an empty table gives default."""
    if not table:
        return default
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in table.items())
    return f"CASE {expression} {whens} ELSE {default} END"


def map_literal(table: Mapping[str, str]) -> str:
    """A DuckDB MAP literal, for lookups too long for a CASE."""
    entries = ", ".join(f"{lit(k)}: {lit(v)}" for k, v in table.items())
    return "MAP {" + entries + "}"

"""SQL written once, run on DuckDB and Spark: transpiled with sqlglot, plus the few fixes
sqlglot does not make on its own.

Shared batch SQL is written in DuckDB's dialect using the portable spellings below; everything
else that differs between the engines is declared in ``ctip.engine.base.ENGINE_GAPS``.

- array length: ``array_length(x)`` (DuckDB) -> ``size(x)`` (Spark)
- overlap of two arrays: ``list_has_any(a, b)`` -> ``arrays_overlap(a, b)``
"""

from __future__ import annotations

from functools import cache

import sqlglot
from sqlglot import exp


def _fix_for_spark(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
    return node


@cache
def to_dialect(query: str, dialect: str) -> str:
    """``query`` (DuckDB SQL) in ``dialect`` ("duckdb" returns it unchanged)."""
    if dialect == "duckdb":
        return query
    statements = sqlglot.parse(query, read="duckdb")
    out = []
    for statement in statements:
        if statement is None:
            continue
        fixed = statement.transform(_fix_for_spark) if dialect == "spark" else statement
        out.append(fixed.sql(dialect=dialect))
    return ";\n".join(out)

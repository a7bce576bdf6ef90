"""Victim counts over time, with breakdowns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctip.analytics.common import PERIOD_SQL, unnest_or_null
from ctip.analytics.filters import Filter
from ctip.analytics.protect import protect_rows
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError

# --by name -> (SQL giving the breakdown value per case, is it a list)
BREAKDOWNS: dict[str, tuple[str, bool]] = {
    "year": ("", False),
    "month": ("", False),
    "source": ("source", False),
    "exploitation": ("exploitation_types", True),
    "gender": ("gender", False),
    "age": ("age_broad", False),
    "citizenship": ("citizenship", True),
    "country": ("country_of_exploitation", False),
}


@dataclass
class TrendResult:
    by: str
    rows: list[dict[str, Any]]
    total: int
    note: str | None = None


def trends(engine: DuckDBEngine, by: str = "year", where: Filter | None = None) -> TrendResult:
    """Counts per period (year, or month for --by month), broken down by ``by``."""
    if by not in BREAKDOWNS:
        raise BadInputError(
            f"--by {by}: unknown breakdown", hint=f"use one of {', '.join(BREAKDOWNS)}"
        )
    where = where or Filter()
    total = int(engine.scalar(f"SELECT count(*) FROM cases WHERE {where.sql}", where.params) or 0)
    if by == "month":
        rows = engine.records(
            "SELECT strftime(registration_date, '%Y-%m') AS month, count(*) AS count FROM cases"
            f" WHERE registration_date IS NOT NULL AND {where.sql} GROUP BY 1 ORDER BY 1",
            where.params,
        )
        dated = sum(int(r["count"]) for r in rows)
        note = None
        if dated < total:
            note = f"{total - dated:,} of {total:,} records have no registration date and are not shown"
        return TrendResult(by, rows, total, note)
    if by == "year":
        rows = engine.records(
            f"SELECT {PERIOD_SQL} AS period, count(*) AS count FROM cases WHERE {where.sql}"
            " GROUP BY period ORDER BY substr(period, 1, 4) NULLS LAST, period",
            where.params,
        )
        return TrendResult(by, rows, total)
    column, is_list = BREAKDOWNS[by]
    value = unnest_or_null(column) if is_list else column
    rows = engine.records(
        f"SELECT period, value AS {by}, count(*) AS count FROM ("
        f"  SELECT {PERIOD_SQL} AS period, {value} AS value FROM cases WHERE {where.sql}"
        ") GROUP BY period, value ORDER BY substr(period, 1, 4) NULLS LAST, period, count DESC",
        where.params,
    )
    note = "a record with several values counts once per value" if is_list else None
    return TrendResult(by, rows, total, note)


def protected_trends(result: TrendResult, threshold: int, *, exact: bool) -> list[dict[str, Any]]:
    key = "month" if result.by == "month" else "period"
    grouping = (lambda r: r.get(key)) if result.by not in ("year", "month") else (lambda r: 0)
    return protect_rows(result.rows, threshold, exact=exact, group=grouping)

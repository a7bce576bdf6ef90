"""Trafficking routes: origin -> destination flows at country, subregion or region level.

Origin is where the person was recruited when a recruitment event names a country, otherwise
their citizenship; destination is the country of an exploitation event, otherwise the case's
country of exploitation. At region level, sources that only give regions (CTDC's
victim-perpetrator data) contribute their regions. A person with two citizenships appears in
both corridors; unknown ends stay as ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctip.analytics.common import YEAR_SQL, register_regions
from ctip.analytics.filters import Filter
from ctip.analytics.protect import protect_rows, shown
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError

LEVELS = ("country", "subregion", "region")


@dataclass
class RoutesResult:
    level: str
    rows: list[dict[str, Any]]  # origin, destination, count, domestic, by_year
    total: int
    summary: dict[str, Any] = field(default_factory=dict)


def _level_sql(column: str, level: str, regions: str) -> str:
    if level == "country":
        return column
    return f"(SELECT r.{level} FROM {regions} r WHERE r.iso2 = {column})"


def routes(
    engine: DuckDBEngine,
    level: str = "country",
    year: int | None = None,
    where: Filter | None = None,
) -> RoutesResult:
    if level not in LEVELS:
        raise BadInputError(
            f"--level {level}: unknown level", hint=f"use one of {', '.join(LEVELS)}"
        )
    where = where or Filter()
    regions = register_regions(engine)
    conditions = [where.sql]
    params = list(where.params)
    if year is not None:
        conditions.append(f"{YEAR_SQL} = ?")
        params.append(year)
    region_case = "CASE {0} WHEN 'AmericasOceania' THEN 'Americas/Oceania' ELSE {0} END"
    origin_fallback = region_case.format("citizenship_region") if level == "region" else "NULL"
    destination_fallback = (
        region_case.format("exploitation_region") if level == "region" else "NULL"
    )
    query = f"""
WITH base AS (
  SELECT c.case_id, {YEAR_SQL} AS year,
    COALESCE(
      (SELECT list(DISTINCT e.country) FROM case_events e
        WHERE e.case_id = c.case_id AND e.event_type = 'Recruitment' AND e.country IS NOT NULL),
      CASE WHEN len(c.citizenship) > 0 THEN c.citizenship END,
      [NULL]::VARCHAR[]) AS origins,
    COALESCE(
      (SELECT min(e.country) FROM case_events e
        WHERE e.case_id = c.case_id AND e.event_type = 'Exploitation' AND e.country IS NOT NULL),
      c.country_of_exploitation) AS destination_country,
    c.citizenship_region, c.exploitation_region
  FROM cases c WHERE {" AND ".join(conditions)}
), pairs AS (
  SELECT year, unnest(origins) AS origin_country, destination_country,
    citizenship_region, exploitation_region FROM base
), levelled AS (
  SELECT year,
    COALESCE({_level_sql("origin_country", level, regions)}, {origin_fallback}) AS origin,
    COALESCE({_level_sql("destination_country", level, regions)}, {destination_fallback})
      AS destination
  FROM pairs
)
SELECT origin, destination, year, count(*) AS count FROM levelled GROUP BY ALL
"""
    cells = engine.records(query, params)
    total = int(
        engine.scalar(f"SELECT count(*) FROM cases c WHERE {' AND '.join(conditions)}", params) or 0
    )
    corridors: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for cell in cells:
        key = (cell["origin"], cell["destination"])
        entry = corridors.setdefault(
            key, {"origin": key[0], "destination": key[1], "count": 0, "by_year": {}}
        )
        entry["count"] += int(cell["count"])
        if cell["year"] is not None:
            entry["by_year"][int(cell["year"])] = int(cell["count"])
    rows = sorted(
        corridors.values(), key=lambda r: (-r["count"], str(r["origin"]), str(r["destination"]))
    )
    for row in rows:
        known = row["origin"] is not None and row["destination"] is not None
        row["domestic"] = (row["origin"] == row["destination"]) if known else None
        row["by_year"] = dict(sorted(row["by_year"].items()))
    return RoutesResult(level, rows, total, _summary(rows))


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    known = [r for r in rows if r["domestic"] is not None]
    flows = sum(r["count"] for r in rows)
    known_flows = sum(r["count"] for r in known)
    domestic = sum(r["count"] for r in known if r["domestic"])
    years = sorted({y for r in rows for y in r["by_year"]})
    return {
        "flows": flows,
        "flows_with_both_ends": known_flows,
        "domestic": domestic,
        "cross_border": known_flows - domestic,
        "domestic_share": round(domestic / known_flows, 4) if known_flows else None,
        "cross_border_share": round((known_flows - domestic) / known_flows, 4)
        if known_flows
        else None,
        "first_year": years[0] if years else None,
        "last_year": years[-1] if years else None,
        "top_corridors": [
            {"origin": r["origin"], "destination": r["destination"], "count": r["count"]}
            for r in known
            if not r["domestic"]
        ][:10],
    }


def protected_routes(result: RoutesResult, threshold: int, *, exact: bool) -> list[dict[str, Any]]:
    """Corridors with small counts (and small yearly counts) shown as <k."""
    rows = protect_rows(result.rows, threshold, exact=exact, group=lambda r: 0)
    for row in rows:
        row["by_year"] = {
            year: shown(count, threshold, exact=exact) for year, count in row["by_year"].items()
        }
        if row["suppressed"]:
            row["by_year"] = dict.fromkeys(row["by_year"], f"<{threshold}")
    return rows


def protected_summary(result: RoutesResult, threshold: int, *, exact: bool) -> dict[str, Any]:
    summary = dict(result.summary)
    summary["top_corridors"] = protect_rows(summary["top_corridors"], threshold, exact=exact)
    for key in ("flows", "flows_with_both_ends", "domestic", "cross_border"):
        summary[key] = shown(summary[key], threshold, exact=exact)
    return summary

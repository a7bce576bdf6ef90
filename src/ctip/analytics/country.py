"""One country (or US state) at a glance: case records and indicator series, sources named."""

from __future__ import annotations

from typing import Any

import pycountry

from ctip.analytics.indicators import US_STATES, series
from ctip.analytics.protect import protect_rows, shown
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.model.countries import alpha3_to_alpha2, country_codes, country_name, country_name_lookup


def resolve_place(code: str) -> tuple[str, str]:
    """(place code, name) for an ISO alpha-2/alpha-3 country, a country name, or US-XX."""
    text = code.strip()
    upper = text.upper()
    if upper.startswith("US-") and upper[3:] in US_STATES:
        return upper, US_STATES[upper[3:]]
    if upper in country_codes():
        return upper, country_name(upper) or upper
    found = alpha3_to_alpha2().get(upper) or country_name_lookup().get(text.lower())
    if found:
        return found, country_name(found) or found
    try:
        match = pycountry.countries.search_fuzzy(text)[0]
        return str(match.alpha_2), str(match.name)
    except LookupError:
        raise BadInputError(
            f"'{code}' is not a country or US state",
            hint="use an ISO code (PH, PHL), a name, or US-XX for a US state",
        ) from None


def country_summary(
    engine: DuckDBEngine, code: str, threshold: int, *, exact: bool
) -> dict[str, Any]:
    place, name = resolve_place(code)
    summary: dict[str, Any] = {"place": place, "name": name, "threshold": threshold, "exact": exact}
    if not place.startswith("US-"):
        as_origin = int(
            engine.scalar("SELECT count(*) FROM cases WHERE list_contains(citizenship, ?)", [place])
            or 0
        )
        as_destination = int(
            engine.scalar("SELECT count(*) FROM cases WHERE country_of_exploitation = ?", [place])
            or 0
        )
        destinations = engine.records(
            "SELECT country_of_exploitation AS destination, count(*) AS count FROM cases"
            " WHERE list_contains(citizenship, ?) GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
            [place],
        )
        origins = engine.records(
            "SELECT origin, count(*) AS count FROM (SELECT unnest(citizenship) AS origin FROM cases"
            " WHERE country_of_exploitation = ?) GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
            [place],
        )
        exploitation = engine.records(
            "SELECT value AS exploitation, count(*) AS count FROM (SELECT unnest(exploitation_types)"
            " AS value FROM cases WHERE country_of_exploitation = ? OR list_contains(citizenship, ?))"
            " GROUP BY 1 ORDER BY 2 DESC",
            [place, place],
        )
        sources = [
            r[0]
            for r in engine.rows(
                "SELECT DISTINCT source FROM cases WHERE country_of_exploitation = ?"
                " OR list_contains(citizenship, ?) ORDER BY 1",
                [place, place],
            )
        ]
        summary["cases"] = {
            "victims_with_this_citizenship": shown(as_origin, threshold, exact=exact),
            "victims_exploited_here": shown(as_destination, threshold, exact=exact),
            "top_destinations_from_here": protect_rows(destinations, threshold, exact=exact),
            "top_origins_into_here": protect_rows(origins, threshold, exact=exact),
            "exploitation": protect_rows(exploitation, threshold, exact=exact),
            "sources": sources,
        }
    indicators = series(engine, place)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for point in indicators:
        latest[(point["source"], point["indicator"])] = point
    summary["indicators"] = {
        "latest": list(latest.values()),
        "series": indicators,
        "sources": sorted({p["source"] for p in indicators}),
    }
    return summary

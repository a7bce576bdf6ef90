"""Pieces shared by the case analyses: the time key, region look-ups, list handling."""

from __future__ import annotations

import pyarrow as pa

from ctip.engine.duckdb import DuckDBEngine
from ctip.geo.world import countries

REGIONS_TABLE = "_ctip_regions"

# A case's period: its registration year, else the year of its registration date, else the
# range of years the source gives (CTDC's victim-perpetrator data: "2014-2018").
PERIOD_SQL = (
    "COALESCE(CAST(year_of_registration AS VARCHAR), CAST(year(registration_date) AS VARCHAR),"
    " registration_period)"
)
YEAR_SQL = "COALESCE(year_of_registration, year(registration_date))"


def unnest_or_null(column: str) -> str:
    """Unnest a list column, giving one NULL row for an empty list (counted as unknown)."""
    return f"unnest(CASE WHEN len({column}) = 0 THEN [NULL]::VARCHAR[] ELSE {column} END)"


def register_regions(engine: DuckDBEngine) -> str:
    """Expose country -> UN subregion and region (Natural Earth) to SQL; returns the name."""
    info = countries().values()
    table = pa.table(
        {
            "iso2": [c.iso2 for c in info],
            "name": [c.name for c in info],
            "subregion": [c.subregion for c in info],
            "region": [c.region for c in info],
        }
    )
    engine.register(REGIONS_TABLE, table)
    return REGIONS_TABLE

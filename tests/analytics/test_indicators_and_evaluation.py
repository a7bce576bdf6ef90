"""Country indicator series from the shared statistics, and the M&E estimators."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctip.analytics.country import country_summary, resolve_place
from ctip.analytics.evaluation import (
    Initiative,
    add_initiative,
    difference_in_differences,
    evaluate,
    interrupted_time_series,
)
from ctip.analytics.indicators import import_indicators, series
from ctip.errors import BadInputError
from ctip.workspace import Workspace

STATS = "country-stats"


def test_glotip_series_match_the_file(workspace: Workspace, shared_data: Path) -> None:
    path = shared_data / STATS / "unodc-glotip" / "data_glotip.csv.gz"
    report = import_indicators(workspace.engine, path)
    assert report.kind == "glotip" and report.read == report.loaded + report.quarantined
    raw = pd.read_csv(path, skiprows=2, dtype=str, keep_default_na=False)
    totals = raw[
        (raw.Iso3_code == "PHL")
        & (raw.Indicator == "Detected trafficking victims")
        & (raw.Dimension == "Total")
        & (raw.Sex == "Total")
        & (raw.Age == "Total")
    ]
    expected = {
        int(y): float(v.replace(",", "")) for y, v in zip(totals.Year, totals.txtVALUE, strict=True)
    }
    got = {
        p["year"]: p["value"]
        for p in series(workspace.engine, "PH", indicator="Detected trafficking victims")
    }
    assert got == expected
    again = import_indicators(workspace.engine, path)
    assert again.duplicates == again.read and again.loaded == 0


def test_us_sources_and_tiers(workspace: Workspace, shared_data: Path) -> None:
    polaris = import_indicators(
        workspace.engine, shared_data / STATS / "polaris-hotline" / "HotlineDataCallsCases.csv"
    )
    ucr = import_indicators(
        workspace.engine, shared_data / STATS / "fbi-ucr" / "HT_2013-2020.csv.gz"
    )
    tiers = import_indicators(
        workspace.engine, shared_data / STATS / "us-tip-tiers" / "tip_tiers_orig.csv.gz"
    )
    assert (polaris.kind, ucr.kind, tiers.kind) == ("polaris", "fbi-ucr", "tip-tiers")
    raw = pd.read_csv(shared_data / STATS / "fbi-ucr" / "HT_2013-2020.csv.gz", dtype=str)
    texas = raw[(raw.STATE_ABBR == "TX") & (raw.DATA_YEAR == "2019")].ACTUAL_COUNT.astype(int).sum()
    got = {p["year"]: p["value"] for p in series(workspace.engine, "US-TX", source="ucr")}
    assert got[2019] == texas
    calls = {
        p["year"]: p["value"] for p in series(workspace.engine, "US-CA", indicator="Hotline calls")
    }
    assert calls and all(v > 0 for v in calls.values())
    tier = {
        p["year"]: p["value"]
        for p in series(workspace.engine, "MD", indicator="US TIP report tier")
    }
    assert set(tier.values()) <= {1.0, 2.0, 2.5, 3.0}


def test_country_summary_names_sources(workspace: Workspace, shared_data: Path) -> None:
    import_indicators(
        workspace.engine, shared_data / STATS / "polaris-hotline" / "HotlineDataCallsCases.csv"
    )
    summary = country_summary(workspace.engine, "US-TX", 10, exact=False)
    assert summary["name"] == "Texas" and summary["indicators"]["sources"] == ["Polaris hotline"]
    assert resolve_place("Philippines") == ("PH", "Philippines")
    assert resolve_place("phl")[0] == "PH"
    with pytest.raises(BadInputError):
        resolve_place("Atlantis")


def test_its_recovers_a_known_level_change() -> None:
    rng = np.random.default_rng(3)
    years = list(range(2000, 2020))
    values = {y: 100 + 2 * (y - 2000) + (40 if y >= 2010 else 0) + rng.normal(0, 2) for y in years}
    estimates, before, after = interrupted_time_series(values, 2010)
    assert (before, after) == (10, 10)
    level = estimates["level_change"]
    assert level.low < 40 < level.high and abs(level.value - 40) < 6 and level.p_value < 0.01
    assert estimates["slope_change"].low < 0 < estimates["slope_change"].high


def test_its_refuses_thin_data() -> None:
    estimates, before, after = interrupted_time_series(
        {2014: 1.0, 2015: 2.0, 2016: 3.0, 2017: 4.0}, 2016
    )
    assert estimates == {} and (before, after) == (2, 2)


def test_did_recovers_a_known_effect() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for place, treated in (("A", 1), ("B", 0), ("C", 0), ("D", 0), ("E", 0), ("F", 0)):
        base = rng.normal(50, 10)
        for year in range(2005, 2021):
            effect = 25 if treated and year >= 2013 else 0
            rows.append(
                (place, treated, year, base + 1.5 * (year - 2005) + effect + rng.normal(0, 1))
            )
    estimate = difference_in_differences(
        pd.DataFrame(rows, columns=["place", "treated", "year", "y"]), 2013
    )
    assert estimate is not None and estimate.low < 25 < estimate.high


def test_evaluate_end_to_end_with_caveats(workspace: Workspace, shared_data: Path) -> None:
    import_indicators(workspace.engine, shared_data / STATS / "unodc-glotip" / "data_glotip.csv.gz")
    add_initiative(
        workspace.engine,
        Initiative(
            "campaign",
            date(2014, 1, 1),
            "PH",
            ["glotip:Detected trafficking victims", "cases:origin"],
            ["VN", "ID"],
        ),
    )
    results = evaluate(workspace.engine, "campaign")
    methods = [(r.indicator, r.method) for r in results]
    assert ("glotip:Detected trafficking victims", "interrupted time series") in methods
    assert ("glotip:Detected trafficking victims", "difference-in-differences") in methods
    its = results[0]
    assert its.estimates and "Associations, not proof of cause" in its.caveat
    no_cases = next(r for r in results if r.indicator == "cases:origin")
    assert not no_cases.estimates and no_cases.caveat.startswith("Too little data")
    with pytest.raises(BadInputError):
        add_initiative(workspace.engine, Initiative("campaign", date(2014, 1, 1), "PH", ["cases"]))
    with pytest.raises(BadInputError, match="SOURCE:INDICATOR"):
        add_initiative(workspace.engine, Initiative("other", date(2014, 1, 1), "PH", ["victims"]))


def test_unknown_indicator_file_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "weather.csv.gz"
    path.write_bytes(gzip.compress(b"city,temperature\nOslo,3\n"))
    with pytest.raises(BadInputError, match="cannot tell which indicator source"):
        import_indicators(workspace.engine, path)

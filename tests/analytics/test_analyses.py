"""Every figure checked against an independent pandas computation on the same rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ctip.analytics.filters import parse_filter
from ctip.analytics.profile import profile, protected_profile
from ctip.analytics.protect import protect_rows
from ctip.analytics.routes import protected_routes, routes
from ctip.analytics.trends import protected_trends, trends
from ctip.errors import BadInputError
from ctip.ingest.importer import import_cases
from ctip.workspace import Workspace

Fixture = tuple[Workspace, pd.DataFrame]


def missing(value: str) -> bool:
    return value in ("-99", "")


def test_trends_by_year_match_pandas(analytics_workspace: Fixture) -> None:
    workspace, frame = analytics_workspace
    result = trends(workspace.engine, "year")
    expected = frame.groupby("yearOfRegistration").size().to_dict()
    assert {r["period"]: r["count"] for r in result.rows} == expected
    assert result.total == len(frame)


def test_trends_by_gender_with_filter_match_pandas(analytics_workspace: Fixture) -> None:
    workspace, frame = analytics_workspace
    result = trends(workspace.engine, "gender", parse_filter("year>=2015, citizenship=PH"))
    chosen = frame[(frame.yearOfRegistration.astype(int) >= 2015) & (frame.citizenship == "PH")]
    genders = chosen.gender.map({"Female": "Feminine", "Male": "Masculine", "-99": None})
    expected = chosen.assign(g=genders).groupby(["yearOfRegistration", "g"], dropna=False).size()
    got = {(r["period"], r["gender"]): r["count"] for r in result.rows}
    assert got == {(y, None if pd.isna(g) else g): c for (y, g), c in expected.items()}


def test_routes_match_a_count_by_hand(analytics_workspace: Fixture) -> None:
    workspace, frame = analytics_workspace
    result = routes(workspace.engine, "country")
    origin = frame.citizenship.where(~frame.citizenship.map(missing))
    destination = frame.CountryOfExploitation.where(~frame.CountryOfExploitation.map(missing))
    expected = (
        pd.DataFrame({"o": origin, "d": destination}).groupby(["o", "d"], dropna=False).size()
    )
    got = {(r["origin"], r["destination"]): r["count"] for r in result.rows}
    assert got == {
        (None if pd.isna(o) else o, None if pd.isna(d) else d): c for (o, d), c in expected.items()
    }
    both = pd.DataFrame({"o": origin, "d": destination}).dropna()
    assert result.summary["domestic"] == int((both.o == both.d).sum())
    ph_us = next(r for r in result.rows if (r["origin"], r["destination"]) == ("PH", "US"))
    by_year = frame[(frame.citizenship == "PH") & (frame.CountryOfExploitation == "US")]
    assert ph_us["by_year"] == {
        int(y): c for y, c in by_year.groupby("yearOfRegistration").size().items()
    }


def test_routes_at_region_level(analytics_workspace: Fixture) -> None:
    workspace, _ = analytics_workspace
    result = routes(workspace.engine, "region")
    pairs = {(r["origin"], r["destination"]) for r in result.rows}
    assert ("Asia", "Asia") in pairs and ("Europe", "Europe") in pairs
    subregions = routes(workspace.engine, "subregion")
    assert ("South-Eastern Asia", "Eastern Europe") in {
        (r["origin"], r["destination"]) for r in subregions.rows
    }


def test_profile_counts_and_shares_of_known(analytics_workspace: Fixture) -> None:
    workspace, frame = analytics_workspace
    rows = {(r["dimension"], r["value"]): r for r in profile(workspace.engine).rows}
    debt = rows[("means_of_control", "DebtBondage")]
    debt_yes = int((frame.meansOfControlDebtBondage == "1").sum())
    known = int(
        ((frame.meansOfControlDebtBondage != "-99") | (frame.meansOfControlThreats != "-99")).sum()
    )
    assert (debt["count"], debt["known"]) == (debt_yes, known)
    assert debt["share"] == pytest.approx(debt_yes / known, abs=1e-4)
    minors = rows[("age_broad", "9--17")]
    assert minors["count"] == int((frame.ageBroad == "9--17").sum())
    assert minors["known"] == int((frame.ageBroad != "-99").sum())


def test_small_counts_are_hidden_and_totals_cannot_reveal_them() -> None:
    rows = [
        {"g": "a", "count": 50},
        {"g": "b", "count": 3},
        {"g": "c", "count": 20},
        {"g": "d", "count": 0},
    ]
    protected = protect_rows(rows, 10, group=lambda r: 0)
    assert [r["count"] for r in protected] == [50, "<10", "<10", 0]
    assert [r["suppressed"] for r in protected] == [False, True, True, False]
    exact = protect_rows(rows, 10, exact=True, group=lambda r: 0)
    assert [r["count"] for r in exact] == [50, 3, 20, 0]
    two_small = protect_rows([{"count": 5}, {"count": 7}, {"count": 40}], 10, group=lambda r: 0)
    assert [r["count"] for r in two_small] == ["<10", "<10", 40]


def test_protected_outputs_hide_small_cells(analytics_workspace: Fixture) -> None:
    workspace, _frame = analytics_workspace
    result = trends(workspace.engine, "citizenship", parse_filter("year=2012"))
    protected = protected_trends(result, 11, exact=False)
    for raw, shown in zip(result.rows, protected, strict=True):
        if 0 < raw["count"] < 11:
            assert shown["count"] == "<11" and shown["suppressed"]
    per_period: dict[str, int] = {}
    for row in protected:
        per_period[row["period"]] = per_period.get(row["period"], 0) + int(row["suppressed"])
    assert 1 not in per_period.values()  # one hidden cell would be recoverable from the total
    profile_rows = protected_profile(profile(workspace.engine), 10, exact=False)
    assert all(r["count"] == "<10" for r in profile_rows if r["suppressed"])
    routes_rows = protected_routes(routes(workspace.engine), 10, exact=False)
    small = [r for r in routes_rows if r["suppressed"]]
    assert small and all(set(r["by_year"].values()) == {"<10"} for r in small)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour=red", "unknown field 'colour'"),
        ("gender=Woman", "not a gender code"),
        ("year>=twenty", "not a whole number"),
        ("citizenship>PH", "lists take =, != or in"),
        ("gender", "cannot read"),
    ],
)
def test_bad_filters_are_refused(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_filter(text)


def test_filter_in_and_not(analytics_workspace: Fixture) -> None:
    workspace, frame = analytics_workspace
    chosen = parse_filter("country in US|RU and exploitation!=SexualExploitation")
    count = workspace.engine.scalar(f"SELECT count(*) FROM cases WHERE {chosen.sql}", chosen.params)
    expected = frame[
        frame.CountryOfExploitation.isin(["US", "RU"]) & (frame.isSexualExploit != "1")
    ]
    assert count == len(expected)


def test_shared_subset_routes_match_hand_count(workspace: Workspace, ctdc_subset: Path) -> None:
    import_cases(workspace, ctdc_subset)
    raw = pd.read_csv(ctdc_subset, dtype=str, keep_default_na=False)
    result = routes(workspace.engine, "country")
    got = {(r["origin"], r["destination"]): r["count"] for r in result.rows}
    by_hand = raw[(raw.citizenship == "UA") & (raw.CountryOfExploitation == "RU")]
    assert got[("UA", "RU")] == len(by_hand) > 0
    ph_to_kw = raw[(raw.citizenship == "PH") & (raw.CountryOfExploitation == "KW")]
    assert got[("PH", "KW")] == len(ph_to_kw)

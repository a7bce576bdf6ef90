"""The analytics commands from the command line: contracts and exit codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_routes_json_contract_on_the_shared_subset(cli: Cli, shared_data: Path) -> None:
    subset = shared_data / "ctdc" / "ctdc_global_2020_subset.csv.gz"
    assert cli("import", "cases", subset, "--format", "json").code == 0
    result = cli("analyse", "routes", "--format", "json")
    assert result.code == 0, result.err
    rows = result.json()
    assert isinstance(rows, list) and rows
    assert all({"origin", "destination", "count"} <= set(r) for r in rows)
    raw = pd.read_csv(subset, dtype=str, keep_default_na=False)
    expected = len(raw[(raw.citizenship == "UA") & (raw.CountryOfExploitation == "RU")])
    found = [r for r in rows if r["origin"] == "UA" and r["destination"] == "RU"]
    assert found and found[0]["count"] == expected
    unknown = [r for r in rows if r["origin"] is None]
    assert unknown  # unknown ends are null, not dropped
    regions = cli("analyse", "routes", "--level", "region", "--year", "2016", "--format", "json")
    assert regions.code == 0 and all(
        r["origin"] in (None, "Africa", "Americas", "Asia", "Europe", "Oceania")
        for r in regions.json()
    )  # type: ignore[union-attr]


def test_trends_profile_and_protection_flags(cli: Cli, shared_data: Path) -> None:
    cli(
        "import",
        "cases",
        shared_data / "ctdc" / "ctdc_global_2020_subset.csv.gz",
        "--format",
        "json",
    )
    trend = cli(
        "analyse",
        "trends",
        "--by",
        "citizenship",
        "--where",
        "year=2002",
        "--format",
        "jsonl",
        "--threshold",
        "200",
    )
    rows = trend.jsonl()
    assert any(r["count"] == "<200" for r in rows)  # type: ignore[index]
    exact = cli(
        "analyse",
        "trends",
        "--by",
        "citizenship",
        "--where",
        "year=2002",
        "--format",
        "jsonl",
        "--threshold",
        "200",
        "--exact",
    ).jsonl()
    assert all(isinstance(r["count"], int) for r in exact)  # type: ignore[index]
    profile = cli("analyse", "profile", "--format", "csv")
    assert profile.code == 0 and profile.out.startswith(
        "dimension,value,count,share,known,suppressed"
    )
    bad = cli("analyse", "trends", "--where", "colour=blue")
    assert bad.code == 2 and "unknown field 'colour'" in bad.err
    assert cli("analyse", "trends", "--by", "shoe-size").code == 2
    assert cli("analyse", "country", "Atlantis").code == 2
    country = cli("analyse", "country", "UA", "--format", "json").json()
    assert country["place"] == "UA" and country["cases"]["victims_exploited_here"] > 0  # type: ignore[index]


def test_indicators_initiatives_evaluate_and_report(
    cli: Cli, shared_data: Path, tmp_path: Path
) -> None:
    polaris = shared_data / "country-stats" / "polaris-hotline" / "HotlineDataCallsCases.csv"
    imported = cli("import", "indicators", polaris, "--format", "json").last_json()
    assert imported["kind"] == "polaris" and imported["loaded"] == imported["read"]  # type: ignore[index]
    added = cli(
        "initiative",
        "add",
        "tx",
        "--start",
        "2014-06-01",
        "--place",
        "US-TX",
        "--indicator",
        "polaris:Hotline calls",
        "--comparison",
        "US-FL",
    )
    assert added.code == 0, added.err
    assert (
        cli(
            "initiative",
            "add",
            "tx",
            "--start",
            "2014-06-01",
            "--place",
            "US-TX",
            "--indicator",
            "polaris:Hotline calls",
        ).code
        == 2
    )
    assert (
        cli(
            "initiative", "add", "y", "--start", "June", "--place", "US-TX", "--indicator", "x:y"
        ).code
        == 2
    )
    listed = cli("initiative", "list", "--format", "jsonl").jsonl()
    assert [r["name"] for r in listed] == ["tx"]  # type: ignore[index]
    evaluated = cli("evaluate", "tx", "--format", "json").json()
    assert isinstance(evaluated, list) and evaluated[0]["caveat"].startswith("Too little data")
    assert cli("evaluate", "nope").code == 2
    out = tmp_path / "r.html"
    report = cli("report", "--out", out)
    assert report.code == 0 and out.exists() and "<svg" in out.read_text()
    assert cli("initiative", "remove", "tx").code == 0

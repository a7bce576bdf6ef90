"""The report: one self-contained file, nothing from the network, small counts protected, and
it renders in headless Chromium without console errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from ctip.analytics.indicators import import_indicators
from ctip.capabilities import ReportContext
from ctip.ingest.importer import import_cases
from ctip.report.build import render_report, write_report
from ctip.settings import Settings
from ctip.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(
    r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def report_workspace(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Workspace:
    folder = tmp_path_factory.mktemp("report")
    workspace = Workspace.open(Settings(workspace=folder / "ws"), create=True)
    import_cases(workspace, shared_data / "ctdc" / "ctdc_global_2020_subset.csv.gz")
    import_cases(workspace, shared_data / "ctdc" / "CTDC_VPsynthetic_condensed.csv.gz")
    import_indicators(
        workspace.engine,
        shared_data / "country-stats" / "polaris-hotline" / "HotlineDataCallsCases.csv",
    )
    few = folder / "few.csv"
    few.write_text(
        "yearOfRegistration,gender,citizenship,CountryOfExploitation\n" + "2017,Female,FJ,NZ\n" * 3
    )
    import_cases(workspace, few)
    return workspace


def test_report_is_self_contained_and_complete(report_workspace: Workspace) -> None:
    html = render_report(ReportContext(report_workspace, Settings(), 10, False))
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script src" not in html and "<link" not in html
    for section in (
        "key-figures",
        "trends",
        "routes",
        "maps",
        "profile",
        "data-quality",
        "provenance",
    ):
        assert f'id="{section}"' in html
    assert "Counter-Trafficking Data Collaborative (CTDC)" in html
    assert "Natural Earth" in html and "<svg" in html
    assert "Counts below 10 are protected" in html


def test_small_counts_never_appear(report_workspace: Workspace) -> None:
    engine = report_workspace.engine
    small = engine.rows(
        "SELECT country_of_exploitation, count(*) FROM cases WHERE country_of_exploitation IS NOT NULL"
        " GROUP BY 1 HAVING count(*) < 10"
    )
    assert small, "the fixture needs a country with fewer than 10 records"
    html = render_report(ReportContext(report_workspace, Settings(), 10, False))
    from ctip.model.countries import country_name

    for code, count in small:
        name = country_name(code)
        assert f"{name}: {count}<" not in html  # no map tooltip gives the exact small count
        assert f"{name}: fewer than 10" in html
    exact = render_report(ReportContext(report_workspace, Settings(), 10, True))
    assert "NOT protected" in exact


@pytest.mark.browser
def test_report_renders_in_chromium_without_errors(
    report_workspace: Workspace, tmp_path: Path, browser: Any
) -> None:
    out = write_report(
        ReportContext(report_workspace, Settings(), 10, False), tmp_path / "report.html"
    )
    errors: list[str] = []
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        assert page.locator("#maps svg.map").count() == 2
        assert page.locator("#routes svg").count() >= 1
        target = ROOT / "docs" / "images" if os.environ.get("CTIP_UPDATE_SCREENSHOTS") else tmp_path
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / "report-overview.png"))
        page.locator("#maps").screenshot(path=str(target / "report-maps.png"))
        page.locator("#routes").screenshot(path=str(target / "report-routes.png"))
    finally:
        page.close()
    assert errors == []
    assert [r for r in requests if not r.startswith("file:")] == []

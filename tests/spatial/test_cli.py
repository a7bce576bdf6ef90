"""The spatial commands end to end on generated incidents, plus report sections and demo."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ctip.capabilities import DemoContext, ReportContext
from ctip.settings import Settings
from ctip.spatial import capability
from ctip.workspace import Workspace
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
IMPORT = ["--lat", "lat", "--lon", "lon", "--time", "occurred", "--category", "type"]


@pytest.fixture
def loaded(cli: Cli, incidents_csv: Path) -> Cli:
    result = cli("import", "incidents", incidents_csv, *IMPORT, "--id", "incident_id")
    assert result.code == 0, result.err
    return cli


def test_hotspots_in_every_format(loaded: Cli) -> None:
    result = loaded("hotspots", "--category", "burglary", "--cell-size", "300", "--format", "json")
    assert result.code == 0, result.err
    rows = result.json()
    assert isinstance(rows, list) and rows
    first = rows[0]
    assert {"cell_id", "count", "z", "p", "q", "class", "kde_per_km2", "trend"} <= set(first)
    assert first["class"] == "hot 99%" and first["q"] <= 0.01
    assert "BH-FDR" in result.err
    geo = loaded("hotspots", "--h3-res", "8", "--format", "geojson", "--permutations", "199")
    assert geo.code == 0, geo.err
    collection = geo.json()
    assert isinstance(collection, dict) and collection["type"] == "FeatureCollection"
    assert collection["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    csv_out = loaded("hotspots", "--since", "2023-01-01", "--all", "--format", "csv")
    assert csv_out.code == 0 and csv_out.out.startswith("cell_id,latitude")
    assert loaded("hotspots", "--category", "nothing").code == 2


def test_forecast_predict_ranks_cells_with_intervals(loaded: Cli) -> None:
    result = loaded(
        "forecast",
        "predict",
        "--model",
        "sepp",
        "--horizon",
        "7d",
        "--format",
        "json",
        "--category",
        "Burglary",
    )
    assert result.code == 0, result.err
    rows = result.json()
    assert isinstance(rows, list) and rows[0]["rank"] == 1
    risks = [r["risk"] for r in rows]
    assert risks == sorted(risks, reverse=True)
    assert all(r["low"] <= r["high"] for r in rows) and "90% predictive interval" in result.err
    assert rows[-1]["area_share"] <= 0.05 + 1e-9
    geo = loaded("forecast", "predict", "--model", "kde", "--horizon", "2w", "--format", "geojson")
    collection = geo.json()
    assert isinstance(collection, dict) and collection["ctip"]["model"] == "kde"
    assert loaded("forecast", "predict", "--model", "magic").code == 2
    assert loaded("forecast", "predict", "--horizon", "soon").code == 2


def test_backtest_prints_the_json_contract_and_refuses_thin_data(loaded: Cli) -> None:
    result = loaded(
        "forecast",
        "backtest",
        "--models",
        "naive,kde,sepp,gbm",
        "--train-days",
        "200",
        "--horizon",
        "7",
        "--step",
        "14",
        "--windows",
        "3",
        "--coverage",
        "0.01,0.05,0.10",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    rows = result.json()
    assert isinstance(rows, list) and len(rows) == 12
    for row in rows:
        assert {"model", "coverage", "hit_rate", "pai", "windows"} <= set(row)
        assert row["windows"] == 3 and 0 <= row["hit_rate"] <= 1 and row["pai"] >= 0
    table = loaded(
        "forecast",
        "backtest",
        "--models",
        "naive",
        "--windows",
        "2",
        "--train-days",
        "100",
        "--format",
        "table",
    )
    assert table.code == 0 and "pai" in table.out
    few = loaded("forecast", "backtest", "--windows", "1", "--format", "json")
    assert few.code == 2 and "at least 2 windows" in few.err and few.out == ""
    thin = loaded(
        "forecast",
        "backtest",
        "--models",
        "naive",
        "--category",
        "Robbery",
        "--horizon",
        "1",
        "--step",
        "1",
        "--windows",
        "3",
        "--format",
        "json",
    )
    assert thin.code == 2 and "needed to say anything" in thin.err
    too_many = loaded("forecast", "backtest", "--windows", "500", "--format", "json")
    assert too_many.code == 2 and "training" in too_many.err


def test_report_sections_are_self_contained(loaded: Cli, tmp_path: Path) -> None:
    assert loaded("forecast", "predict", "--model", "naive", "--format", "json").code == 0
    settings = Settings(workspace=tmp_path / "cli-workspace")
    with Workspace.open(settings) as workspace:
        sections = capability.report_sections(ReportContext(workspace, settings, 10, False))
    assert [s.id for s in sections] == ["hotspots", "forecast"]
    for section in sections:
        assert "<svg" in section.html and "appropriate" in section.html.lower()
        assert not re.search(r"https?://", section.html)


@pytest.mark.slow
def test_demo_step_without_shared_data(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path / "demo")
    said: list[str] = []
    with Workspace.open(settings, create=True) as workspace:
        context = DemoContext(workspace, settings, None, said.append)
        capability.demo(context)
        assert context.results["incidents_source"] == "generated"
        assert workspace.engine.scalar("SELECT count(*) FROM backtest_results") == 9
    assert any("hotspots" in line for line in said)

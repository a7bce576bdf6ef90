"""``ctip hotspots`` and ``ctip forecast backtest`` with ``--input INCIDENTS.parquet --output
DIR``: the workspace's answers from Parquet, stage by stage, resuming finished stages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ctip.engine.jobs import MARKER
from ctip.spatial.synth import SyntheticIncidents, incidents_table
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
HOTSPOTS = ("--category", "burglary", "--cell-size", "300", "--permutations", "199",
            "--seed", "4", "--all", "--format", "json")  # fmt: skip
BACKTEST = ("--train-days", "180", "--horizon", "7", "--step", "7", "--windows", "6",
            "--coverage", "0.01,0.05", "--cell-size", "300", "--seed", "2", "--format", "json")  # fmt: skip


@pytest.fixture
def incidents_parquet(tmp_path: Path, synthetic: SyntheticIncidents) -> Path:
    path = tmp_path / "incidents.parquet"
    pq.write_table(incidents_table(synthetic), path)
    return path


def imported(cli: Cli, path: Path) -> None:
    result = cli("import", "incidents", path, "--lat", "latitude", "--lon", "longitude",
                 "--time", "occurred_at", "--category", "category", "--format", "json")  # fmt: skip
    assert result.code == 0, result.err


def test_hotspots_job_gives_the_workspace_rows_and_resumes(
    cli: Cli, incidents_parquet: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    job = cli("hotspots", "--input", incidents_parquet, "--output", out, *HOTSPOTS)
    assert job.code == 0, job.err
    assert "duckdb job" in job.err and "0 of 8 stages reused" in job.err
    imported(cli, incidents_parquet)
    workspace = cli("hotspots", *HOTSPOTS)
    assert workspace.code == 0, workspace.err
    rows = job.json()
    assert rows == workspace.json()  # counts, Gi* z/p/q/class, KDE, emerging: all of it
    assert isinstance(rows, list) and any(r["class"].startswith("hot") for r in rows)
    assert (out / "projected").is_dir() and any((out / "projected").glob("year=*"))
    counts = pq.read_table(out / "cell_counts").to_pydict()
    assert sum(counts["incidents"]) == sum(r["count"] for r in rows)

    again = cli("hotspots", "--input", incidents_parquet, "--output", out, *HOTSPOTS)
    assert "8 of 8 stages reused" in again.err and again.json() == rows
    for stage in ("kde_bins", "hotspots"):  # as if the job had died in the KDE stage
        (out / stage / MARKER).unlink()
    resumed = cli("hotspots", "--input", incidents_parquet, "--output", out, *HOTSPOTS)
    assert "6 of 8 stages reused" in resumed.err and resumed.json() == rows
    other = cli("hotspots", "--input", incidents_parquet, "--output", out, *HOTSPOTS, "--seed", "5")
    assert "0 of 8 stages reused" in other.err  # another option: another job


def test_backtest_job_gives_the_workspace_naive_scores(
    cli: Cli, incidents_parquet: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    job = cli("forecast", "backtest", "--input", incidents_parquet, "--output", out, *BACKTEST)
    assert job.code == 0, job.err
    imported(cli, incidents_parquet)
    workspace = cli("forecast", "backtest", "--models", "naive", *BACKTEST)
    assert job.json() == workspace.json()
    windows = pq.read_table(out / "window_counts")
    assert set(windows["k"].to_pylist()) == set(range(12))  # 6 windows x (train, test)
    again = cli("forecast", "backtest", "--input", incidents_parquet, "--output", out, *BACKTEST)
    assert "6 of 6 stages reused" in again.err
    refused = cli("forecast", "backtest", "--input", incidents_parquet, "--output", out,
                  "--models", "naive,sepp")  # fmt: skip
    assert refused.code == 2 and "sepp" in refused.err


def test_job_input_problems_are_one_line_errors(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"lat": [1.0], "lon": [2.0]}), path)
    missing = cli("hotspots", "--input", path, "--output", tmp_path / "o")
    assert missing.code == 2 and "latitude" in missing.err and "occurred_at" in missing.err
    h3 = cli("hotspots", "--input", path, "--output", tmp_path / "o", "--h3-res", "8")
    assert h3.code == 2 and "--h3-res" in h3.err
    no_output = cli("hotspots", "--input", path)
    assert no_output.code == 2 and "--output" in no_output.err


def test_hotspots_job_with_a_boundary_and_dates(
    cli: Cli, incidents_parquet: Path, tmp_path: Path
) -> None:
    import json

    lat, lon = 10.0, -30.0  # the synthetic city's centre
    box = [[lon - 0.03, lat - 0.025], [lon + 0.02, lat - 0.025], [lon + 0.02, lat + 0.03],
           [lon - 0.03, lat + 0.03], [lon - 0.03, lat - 0.025]]  # fmt: skip
    boundary = tmp_path / "area.geojson"
    boundary.write_text(json.dumps({"type": "Polygon", "coordinates": [box]}), encoding="utf-8")
    options = ("--boundary", boundary, "--since", "2022-03-01", "--until", "2023-02-28",
               "--cell-size", "250", "--permutations", "99", "--all", "--format", "json")  # fmt: skip
    job = cli("hotspots", "--input", incidents_parquet, "--output", tmp_path / "out", *options)
    assert job.code == 0, job.err
    assert not (tmp_path / "out" / "hull").exists()  # the boundary is the study area
    imported(cli, incidents_parquet)
    workspace = cli("hotspots", *options)
    assert job.json() == workspace.json()

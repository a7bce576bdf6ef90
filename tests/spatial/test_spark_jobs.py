"""The incident gridding, hotspot and backtest jobs give the same answers on Spark as on
DuckDB: the same cells and counts, and the same Gi* z and p from the same seed."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ctip.engine.duckdb import DuckDBEngine
from ctip.spatial.backtest import BacktestPlan
from ctip.spatial.gridding import Selection
from ctip.spatial.jobs import backtest_job, hotspots_job
from ctip.spatial.synth import incidents_table, simulate


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("city") / "incidents.parquet"
    incidents = simulate(days=400, background_per_day=3.0, seed=7, extent=3000.0)
    pq.write_table(incidents_table(incidents), path)
    return path


def counts(folder: Path) -> dict[int, int]:
    table = pq.read_table(folder).to_pydict()
    return dict(zip(table["cell"], table["incidents"], strict=True))


@pytest.mark.spark
def test_hotspots_job_on_spark_matches_duckdb(
    spark_engine: object, small_city: Path, tmp_path: Path
) -> None:
    options = {"selection": Selection(category="Burglary"), "cell_size": 400.0,
               "permutations": 199, "seed": 3, "periods": 4}  # fmt: skip
    duck = hotspots_job(DuckDBEngine(), small_city, tmp_path / "duck", **options)  # type: ignore[arg-type]
    spark = hotspots_job(spark_engine, small_city, tmp_path / "spark", **options)  # type: ignore[arg-type]
    assert spark.job["engine"] == "spark"
    assert counts(tmp_path / "spark" / "cell_counts") == counts(tmp_path / "duck" / "cell_counts")
    assert spark.grid.ids == duck.grid.ids and spark.incidents == duck.incidents
    assert [(r["cell_id"], r["count"], r["z"], r["p"], r["q"], r["class"], r["trend"])
            for r in spark.rows] == [
        (r["cell_id"], r["count"], r["z"], r["p"], r["q"], r["class"], r["trend"])
        for r in duck.rows
    ]  # fmt: skip
    for got, want in zip(spark.rows, duck.rows, strict=True):  # KDE sums may differ in order
        assert got["kde_per_km2"] == pytest.approx(want["kde_per_km2"], abs=2e-3)
    assert spark.classes == duck.classes and any(k.startswith("hot") for k in spark.classes)


@pytest.mark.spark
def test_backtest_job_on_spark_matches_duckdb(
    spark_engine: object, small_city: Path, tmp_path: Path
) -> None:
    plan = BacktestPlan(train_days=120, horizon=14, step=14, windows=4, coverages=(0.05,), seed=1)
    duck = backtest_job(DuckDBEngine(), small_city, tmp_path / "duck", ["naive"], plan,
                        cell_size=400.0)  # fmt: skip
    spark = backtest_job(spark_engine, small_city, tmp_path / "spark", ["naive"], plan,  # type: ignore[arg-type]
                         cell_size=400.0)  # fmt: skip
    assert spark.origins == duck.origins and spark.test_events == duck.test_events
    assert spark.rows == duck.rows
    window_counts = [
        sorted(pq.read_table(tmp_path / engine / "window_counts").to_pylist(),
               key=lambda r: (r["k"], r["cell"]))
        for engine in ("duck", "spark")
    ]  # fmt: skip
    assert window_counts[0] == window_counts[1]

"""The crypto Parquet jobs (clustering, exposure) give the same results on Spark as on DuckDB."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ctip.crypto.cluster_job import cluster_job
from ctip.crypto.exposure_job import exposure_job
from ctip.crypto.generate import generate_chain
from ctip.crypto.generate_parquet import write_txio_parquet
from ctip.engine.duckdb import DuckDBEngine
from tests.conftest import CliResult
from tests.crypto.test_cluster_job import job_clusters
from tests.crypto.test_exposure_job import assert_same_scores, job_scores, write_seeds

Cli = Callable[..., CliResult]
SAME = ("transactions", "multi_input", "addresses", "clusters", "multi_address_clusters",
        "largest", "coinjoins", "component_steps")  # fmt: skip


@pytest.mark.spark
def test_cluster_job_on_spark_matches_duckdb(
    spark_engine: object, cli: Cli, tmp_path: Path
) -> None:
    chain = generate_chain(1500, seed=5, coinjoin_share=0.03, payjoin_share=0.005)
    txio = write_txio_parquet(chain, tmp_path / "txio.parquet")
    duck = cluster_job(DuckDBEngine(), txio, tmp_path / "duck")
    assert spark_engine.session is not None  # type: ignore[attr-defined]  # the CLI reuses it
    result = cli("crypto", "cluster", "--input", txio, "--output", tmp_path / "spark",
                 "--engine", "spark", "--spark-master", "local[2]", "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    spark = result.last_json()
    assert isinstance(spark, dict) and spark["engine"] == "spark"
    assert {k: spark[k] for k in SAME} == {k: duck[k] for k in SAME}
    assert [(s["stage"], s["rows"]) for s in spark["stages"]] == [
        (s["stage"], s["rows"]) for s in duck["stages"]
    ]
    # cluster ids are the smallest address: equal as they stand, not only up to relabelling
    assert job_clusters(tmp_path / "spark") == job_clusters(tmp_path / "duck")


@pytest.mark.spark
def test_exposure_job_on_spark_matches_duckdb(
    spark_engine: object, cli: Cli, tmp_path: Path
) -> None:
    chain = generate_chain(1500, seed=5, coinjoin_share=0.03)
    txio = write_txio_parquet(chain, tmp_path / "txio.parquet")
    seeds = write_seeds(chain, tmp_path / "seeds.txt")
    duck = exposure_job(DuckDBEngine(), txio, seeds, tmp_path / "duck", hops=3)
    assert spark_engine.session is not None  # type: ignore[attr-defined]  # the CLI reuses it
    result = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output",
                 tmp_path / "spark", "--engine", "spark", "--spark-master", "local[2]",
                 "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    spark = result.last_json()
    assert isinstance(spark, dict) and spark["engine"] == "spark"
    assert [(s["stage"], s["rows"]) for s in spark["stages"]] == [
        (s["stage"], s["rows"]) for s in duck["stages"]
    ]
    assert_same_scores(job_scores(tmp_path / "spark"), job_scores(tmp_path / "duck"), relative=True)

"""The ads Parquet jobs: DuckDB and Spark give the same answers, and so does the workspace.

Both engines run ``ctip.ads.jobs`` on the same generated Parquet file; the workspace imports
that file and runs its own steps. Extraction and screening must match field for field, text
clusters and networks must be the same partition of the ads (Leiden splitting included: a
small ``max_size`` makes it run), and stage row counts must agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from ctip.ads.generate import generate_ads
from ctip.ads.jobs import networks_job, screen_job
from ctip.engine.base import Engine
from ctip.engine.duckdb import DuckDBEngine
from ctip.settings import Settings
from ctip.workspace import Workspace
from tests.conftest import CliResult

KINDS = ("phones", "emails", "handles", "urls", "crypto", "prices", "ages")
MAX_SIZE = 20  # small enough that the largest generated networks are split with Leiden
Partition = frozenset[frozenset[str]]


@pytest.fixture(scope="module")
def ads_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ads") / "ads.parquet"
    generate_ads(300, seed=7).write(path)
    return path


def run_jobs(engine: Engine, source: Path, output: Path) -> dict[str, Any]:
    summary = networks_job(engine, source, output, max_size=MAX_SIZE)
    summary["stages"] += screen_job(engine, source, output)["stages"]
    return summary


def read_stage(output: Path, stage: str) -> list[dict[str, Any]]:
    reader = DuckDBEngine()
    reader.register_parquet("stage", str(output / stage))
    return reader.records("SELECT * FROM stage")


def by_id(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in rows}


def partition(labels: dict[str, str]) -> Partition:
    groups: dict[str, set[str]] = {}
    for item, label in labels.items():
        groups.setdefault(label, set()).add(item)
    return frozenset(frozenset(g) for g in groups.values())


def sightings(rows: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(r.values()) for r in rows)


@pytest.fixture(scope="module")
def duckdb_out(ads_parquet: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("duckdb-job")
    run_jobs(DuckDBEngine(), ads_parquet, output)
    return output


@pytest.mark.spark
def test_spark_jobs_answer_like_duckdb(
    spark_engine: Engine, ads_parquet: Path, duckdb_out: Path, tmp_path: Path
) -> None:
    summary = run_jobs(spark_engine, ads_parquet, tmp_path)
    for stage in ("extracted", "screened", "candidates", "pairs", "links", "network_summary"):
        assert len(read_stage(tmp_path, stage)) == len(read_stage(duckdb_out, stage)), stage
    assert {s["stage"] for s in summary["stages"]} >= {"extracted", "clusters", "networks"}

    # extraction: every kind's values and evidence, and every sighting
    spark, duck = (
        by_id(read_stage(tmp_path, "extracted")),
        by_id(read_stage(duckdb_out, "extracted")),
    )
    assert spark.keys() == duck.keys() and len(spark) == 300
    for ad_id, row in duck.items():
        assert {k: spark[ad_id][k] for k in KINDS} == {k: row[k] for k in KINDS}, ad_id
        assert sightings(spark[ad_id]["identifiers"]) == sightings(row["identifiers"]), ad_id

    # screening: scores within float tolerance, same indicators and evidence
    spark, duck = by_id(read_stage(tmp_path, "screened")), by_id(read_stage(duckdb_out, "screened"))
    assert spark.keys() == duck.keys()
    for ad_id, row in duck.items():
        assert spark[ad_id]["score"] == pytest.approx(row["score"], abs=1e-9)
        assert json.loads(spark[ad_id]["indicators"]) == json.loads(row["indicators"])

    # clusters and networks: the same partition of the ads
    for stage, column in (
        ("clusters", "cluster_id"),
        ("networks", "network_id"),
        ("networks", "component_id"),
    ):
        spark_labels = {r["id"]: r[column] for r in read_stage(tmp_path, stage)}
        duck_labels = {r["id"]: r[column] for r in read_stage(duckdb_out, stage)}
        assert partition(spark_labels) == partition(duck_labels), (stage, column)

    def summary_rows(output: Path) -> list[tuple[Any, ...]]:
        return sorted(
            (r["size"], tuple(r["ids"]), tuple(r["phones"]), tuple(r["emails"]), tuple(r["sites"]))
            for r in read_stage(output, "network_summary")
        )

    assert summary_rows(tmp_path) == summary_rows(duckdb_out)


@pytest.mark.spark
def test_cli_cluster_on_spark_matches_duckdb(
    spark_engine: Engine, cli: Callable[..., CliResult], ads_parquet: Path, duckdb_out: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    _ = spark_engine.session  # type: ignore[attr-defined]  # started here, reused by the CLI
    result = cli("ads", "cluster", "--input", ads_parquet, "--output", tmp_path,
                 "--engine", "spark", "--spark-master", "local[2]", "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["engine"] == "spark"  # type: ignore[index]
    spark = {r["id"]: r["cluster_id"] for r in read_stage(tmp_path, "clusters")}
    duck = {r["id"]: r["cluster_id"] for r in read_stage(duckdb_out, "clusters")}
    assert spark == duck  # same keys, so even the cluster ids agree


def test_jobs_answer_like_the_workspace(
    ads_parquet: Path, duckdb_out: Path, settings: Settings
) -> None:
    from ctip.ads.importer import import_ads
    from ctip.ads.network_service import run_networks
    from ctip.ads.service import run_cluster, run_extract, run_screen

    with Workspace.open(settings, create=True) as workspace:
        import_ads(workspace, ads_parquet)
        extracted = by_id(run_extract(workspace))
        screened = by_id(run_screen(workspace))
        clusters, _ = run_cluster(workspace)
        run_networks(workspace, max_size=MAX_SIZE)
        networks = workspace.engine.records(
            "SELECT a.id, n.network_id, n.component_id FROM ad_networks n JOIN ads a USING (ad_key)"
        )
    job = by_id(read_stage(duckdb_out, "extracted"))
    assert job.keys() == extracted.keys()
    for ad_id, row in extracted.items():
        assert {k: json.loads(job[ad_id][k]) for k in KINDS} == {k: row[k] for k in KINDS}
    job = by_id(read_stage(duckdb_out, "screened"))
    for ad_id, row in screened.items():
        assert job[ad_id]["score"] == pytest.approx(row["score"], abs=1e-9)
        assert json.loads(job[ad_id]["indicators"]) == row["indicators"]
    job_clusters = {r["id"]: r["cluster_id"] for r in read_stage(duckdb_out, "clusters")}
    assert partition(job_clusters) == partition({r["id"]: r["cluster"] for r in clusters})
    assert len(partition(job_clusters)) < 300 / 2  # templates really are grouped
    job_networks = read_stage(duckdb_out, "networks")
    for column in ("network_id", "component_id"):
        assert partition({r["id"]: r[column] for r in job_networks}) == partition(
            {r["id"]: r[column] for r in networks}
        ), column
    split = partition({r["id"]: r["network_id"] for r in job_networks})
    assert len(split) > len(partition({r["id"]: r["component_id"] for r in job_networks}))


def test_cli_job_writes_parquet_and_resumes(
    cli: Callable[..., CliResult], ads_parquet: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ("ads", "cluster", "--input", ads_parquet, "--output", out, "--format", "json")
    first = cli(*args)
    assert first.code == 0, first.err
    stages = first.json()["stages"]  # type: ignore[index]
    assert [s["stage"] for s in stages] == ["signatures", "candidates", "pairs", "clusters"]
    assert not any(s["resumed"] for s in stages)
    assert len(read_stage(out, "clusters")) == 300

    # the last stage failed (no completion marker): a rerun resumes after the finished ones
    (out / "clusters" / "_ctip_stage.json").unlink()
    second = cli(*args)
    resumed = [s["resumed"] for s in second.json()["stages"]]  # type: ignore[index]
    assert resumed == [True, True, True, False]
    assert "reused finished stages signatures, candidates, pairs" in second.err

    # networks reuses the clustering stages and runs extraction and its own stages
    networks = cli("ads", "networks", "--input", ads_parquet, "--output", out, "--format", "json")
    ran = {s["stage"]: s["resumed"] for s in networks.json()["stages"]}  # type: ignore[index]
    assert ran["clusters"] and not ran["extracted"] and not ran["network_summary"]

    # a changed parameter reruns every stage it affects
    again = cli(*args[:-2], "--threshold", "0.6", "--format", "json")
    assert not any(s["resumed"] for s in again.json()["stages"])  # type: ignore[index]


def test_generate_writes_parquet_in_batches(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out, truth = tmp_path / "ads.parquet", tmp_path / "truth.jsonl"
    result = cli("ads", "generate", out, "--count", "120", "--seed", "5", "--truth", truth)
    assert result.code == 0, result.err
    table = pq.read_table(out)
    expected = generate_ads(120, seed=5).ads
    assert table.column("id").to_pylist() == [a["id"] for a in expected]
    assert table.column("body").to_pylist() == [a["body"] for a in expected]
    assert len(truth.read_text().splitlines()) == 120


def test_cli_job_input_problems_exit_2(
    cli: Callable[..., CliResult], ads_parquet: Path, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    missing = cli("ads", "extract", "--input", ads_parquet)
    assert missing.code == 2 and "--output" in missing.err
    no_id = tmp_path / "no-id.parquet"
    pq.write_table(pa.table({"body": ["call 702 555 0123"]}), no_id)
    result = cli("ads", "extract", "--input", no_id, "--output", tmp_path / "o")
    assert result.code == 2 and "'id'" in result.err
    repeated = tmp_path / "repeated.parquet"
    pq.write_table(pa.table({"id": ["a", "a"], "body": ["x", "y"]}), repeated)
    result = cli("ads", "screen", "--input", repeated, "--output", tmp_path / "o")
    assert result.code == 2 and "repeated" in result.err

"""Splink's Spark backend gives the same entities as DuckDB.

The Spark run is a separate process, as a user runs it: Splink's similarity functions live in a
jar that must be on the session's classpath when the JVM starts, and this test process may
already hold a Spark session (the engine tests') started without it.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from ctip.link.people import generate_people
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.timeout(1200)  # Splink on Spark runs hundreds of small jobs; slow on 2 shared cores
def test_dedupe_on_spark_matches_duckdb(cli: Cli, tmp_path: Path) -> None:
    people = generate_people(300, seed=21, typo_rate=0.3)
    path = tmp_path / "people.csv"
    pacsv.write_csv(people.drop_columns(["entity_id"]), path)
    on_duckdb = cli("link", "dedupe", path, "--format", "jsonl")
    assert on_duckdb.code == 0, on_duckdb.err
    on_spark = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctip.cli",
            "link",
            "dedupe",
            str(path),
            "--engine",
            "spark",
            "--format",
            "jsonl",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=1100,
        check=False,
    )
    assert on_spark.returncode == 0, on_spark.stderr[-2000:]
    duck = {r["id"]: r for r in on_duckdb.jsonl()}  # type: ignore[index]
    spark = {r["id"]: r for r in map(json.loads, on_spark.stdout.splitlines())}
    assert duck.keys() == spark.keys()
    # The same partition of records into entities (cluster labels may differ)...
    for a, b in itertools.combinations(sorted(duck), 2):
        same_on_duckdb = duck[a]["cluster"] == duck[b]["cluster"]
        assert same_on_duckdb == (spark[a]["cluster"] == spark[b]["cluster"]), (a, b)
    # ...with the same match probabilities up to floating-point differences between engines.
    for record_id, record in duck.items():
        assert (record["match_probability"] or 0.0) == pytest.approx(
            spark[record_id]["match_probability"] or 0.0, abs=1e-4
        )
    assert sum(1 for r in duck.values() if r["match_probability"]) > 50


def test_a_session_without_the_jar_is_refused(spark_engine: object) -> None:
    """A Spark session already running without Splink's jar gives a clear engine-gap error."""
    pytest.importorskip("pyspark")
    from ctip.errors import EngineGapError
    from ctip.link.spark import spark_api

    assert spark_engine.session is not None  # type: ignore[attr-defined]  # start it
    with pytest.raises(EngineGapError, match="similarity jar"), spark_api("local[2]"):
        pass

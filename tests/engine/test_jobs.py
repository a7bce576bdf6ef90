"""Parquet jobs: stages write datasets, finished stages are reused, changed inputs rerun."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ctip.engine.duckdb import DuckDBEngine
from ctip.engine.jobs import MARKER, start_job
from ctip.errors import BadInputError


def _input(tmp_path: Path, n: int = 100) -> Path:
    path = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"x": list(range(n)), "g": [i % 3 for i in range(n)]}), path)
    return path


def _run(engine: DuckDBEngine, source: Path, out: Path, calls: list[str]) -> dict[str, object]:
    job = start_job(engine, {"numbers": str(source)}, out, {"k": 1})

    def evens() -> str:
        calls.append("evens")
        return "SELECT x, g FROM numbers WHERE x % 2 = 0"

    def totals() -> str:
        calls.append("totals")
        return "SELECT g, sum(x) AS total FROM evens GROUP BY g"

    job.stage("evens", evens, partition_by=["g"])
    job.stage("totals", totals)
    return job.summary()


def test_stages_write_parquet_and_resume(tmp_path: Path) -> None:
    source = _input(tmp_path)
    out = tmp_path / "out"
    calls: list[str] = []
    first = _run(DuckDBEngine(), source, out, calls)
    assert calls == ["evens", "totals"]
    assert [s["rows"] for s in first["stages"]] == [50, 3]  # type: ignore[index]
    assert (out / "evens" / "g=0").is_dir()
    totals = DuckDBEngine().rows(
        f"SELECT g, total FROM read_parquet('{out}/totals/*.parquet') ORDER BY g"
    )
    expected = [(g, sum(x for x in range(0, 100, 2) if x % 3 == g)) for g in range(3)]
    assert [(g, int(total)) for g, total in totals] == expected

    # The last stage failed (marker gone): a rerun reuses the first stage and redoes the second.
    (out / "totals" / MARKER).unlink()
    calls.clear()
    second = _run(DuckDBEngine(), source, out, calls)
    assert calls == ["totals"]
    assert [s["resumed"] for s in second["stages"]] == [True, False]  # type: ignore[index]

    # A changed input reruns everything.
    _input(tmp_path, n=10)
    calls.clear()
    _run(DuckDBEngine(), source, out, calls)
    assert calls == ["evens", "totals"]


def test_missing_input_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such Parquet"):
        start_job(DuckDBEngine(), {"x": str(tmp_path / "nope.parquet")}, tmp_path / "o", {})

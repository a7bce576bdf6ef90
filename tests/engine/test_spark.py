"""The Spark engine answers like DuckDB: same SQL (transpiled), same Arrow batch functions."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ctip.engine.dialect import to_dialect
from ctip.engine.duckdb import DuckDBEngine

QUERIES = [
    "SELECT gender, count(*) AS n FROM people GROUP BY gender ORDER BY gender",
    "SELECT name, array_length(tags) AS n FROM people ORDER BY name",
    "SELECT name FROM people WHERE list_has_any(tags, ['b']) ORDER BY name",
    "SELECT name, list_filter(tags, lambda t: t <> 'a') AS kept FROM people ORDER BY name",
    "SELECT tag, count(*) AS n FROM (SELECT unnest(tags) AS tag FROM people) GROUP BY tag ORDER BY tag",
]
PEOPLE = pa.table(
    {
        "name": ["ann", "bo", "cy", "di"],
        "gender": ["F", "M", "F", None],
        "tags": [["a", "b"], ["b"], [], ["a", "c"]],
    }
)


def double(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield pa.record_batch([pc.multiply(batch.column(0), 2)], names=["y"])


def test_dialect_fixes() -> None:
    spark_sql = to_dialect("SELECT array_length(l), list_has_any(l, ['a']) FROM t", "spark")
    assert "SIZE(l)" in spark_sql and "ARRAYS_OVERLAP" in spark_sql
    assert to_dialect("SELECT 1", "duckdb") == "SELECT 1"


@pytest.mark.spark
def test_spark_and_duckdb_agree(spark_engine: object) -> None:
    duck = DuckDBEngine()
    for engine in (duck, spark_engine):
        engine.register("people", PEOPLE)  # type: ignore[attr-defined]
    for query in QUERIES:
        expected = duck.records(query)
        got = spark_engine.records(query)  # type: ignore[attr-defined]
        assert [list(r.values()) for r in got] == [list(r.values()) for r in expected], query
    numbers = pa.table({"x": pa.array(range(5000), pa.int64())})
    for engine in (duck, spark_engine):
        engine.register("numbers", numbers)  # type: ignore[attr-defined]
        engine.map_arrow("SELECT x FROM numbers", double, pa.schema([("y", pa.int64())]), "doubled")  # type: ignore[attr-defined]
    assert (
        spark_engine.scalar("SELECT sum(y) FROM doubled")
        == duck.scalar("SELECT sum(y) FROM doubled")
        == 2 * sum(range(5000))
    )  # type: ignore[attr-defined]

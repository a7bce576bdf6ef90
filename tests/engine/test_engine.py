"""The engine seam: Arrow in, SQL, Arrow out; gaps are declared and fail loudly."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ctip.engine import ENGINE_GAPS, DuckDBEngine, require
from ctip.errors import EngineGapError


def test_duckdb_engine_registers_arrow_and_returns_arrow() -> None:
    engine = DuckDBEngine()
    engine.register("people", pa.table({"name": ["a", "b"], "age": [30, 40]}))
    result = engine.to_arrow("SELECT name FROM people WHERE age > ?", [35])
    assert result.to_pylist() == [{"name": "b"}]
    engine.sql("CREATE TABLE t AS SELECT * FROM people")
    assert engine.scalar("SELECT sum(age) FROM t") == 70
    with pytest.raises(Exception, match="boom"), engine.transaction():
        engine.sql("INSERT INTO t VALUES ('c', 50)")
        raise RuntimeError("boom")
    assert engine.scalar("SELECT count(*) FROM t") == 2


def test_declared_gaps_fail_loudly_naming_the_engine() -> None:
    class Fake:
        name = "spark"

    assert "spark" in ENGINE_GAPS["transactions"]
    with pytest.raises(EngineGapError, match="the spark engine cannot do 'transactions'"):
        require(Fake(), "transactions")  # type: ignore[arg-type]
    require(DuckDBEngine(), "transactions")

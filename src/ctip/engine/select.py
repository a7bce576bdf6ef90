"""Choose the batch engine from settings and command-line options."""

from __future__ import annotations

from ctip.engine.base import Engine
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.settings import Settings

ENGINES = ("duckdb", "spark")


def batch_engine(
    settings: Settings, engine: str | None = None, spark_master: str | None = None
) -> Engine:
    """A fresh engine for a batch job: in-memory DuckDB, or Spark at the configured master."""
    name = engine or settings.engine
    if name == "duckdb":
        return DuckDBEngine(threads=settings.threads, memory_limit=settings.memory_limit)
    if name == "spark":
        from ctip.engine.spark import SparkEngine

        return SparkEngine(spark_master or settings.spark_master)
    raise BadInputError(f"unknown engine '{name}'", hint=f"use one of {', '.join(ENGINES)}")

"""The scale-out engine: Apache Spark (PySpark), local mode by default.

The session starts lazily, on the first query, because starting a JVM takes seconds and most
commands never need it. SQL is written once in DuckDB's dialect and transpiled
(``ctip.engine.dialect``); Arrow tables cross the boundary in both directions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ctip.engine.dialect import to_dialect
from ctip.errors import CtipError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_CONFIG: dict[str, str] = {
    # Python workers must be this interpreter, with pyarrow and CTIP importable.
    "spark.pyspark.python": sys.executable,
    "spark.pyspark.driver.python": sys.executable,
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "4g",
    # Stage progress bars on a terminal only; piped output stays clean.
    "spark.ui.showConsoleProgress": "true" if sys.stderr.isatty() else "false",
}


class SparkEngine:
    """An Engine over a SparkSession."""

    name = "spark"

    def __init__(
        self,
        master: str = "local[*]",
        *,
        app_name: str = "ctip",
        config: dict[str, str] | None = None,
        session: SparkSession | None = None,
    ) -> None:
        self.master = master
        self.app_name = app_name
        self.config = {**DEFAULT_CONFIG, **(config or {})}
        self._session = session

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as error:
                raise CtipError(
                    "the spark engine needs PySpark",
                    hint="install the spark extra: pip install 'ctip[spark]'",
                ) from error
            # The JVM launches Python workers with PYSPARK_PYTHON; it must be this interpreter.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            builder = SparkSession.builder.master(self.master).appName(self.app_name)
            for key, value in self.config.items():
                builder = builder.config(key, value)
            self._session = builder.getOrCreate()
            self._session.sparkContext.setLogLevel("ERROR")
        return self._session

    def register(self, name: str, table: pa.Table) -> None:
        self.session.createDataFrame(table).createOrReplaceTempView(name)

    def register_parquet(self, name: str, path: str) -> None:
        self.session.read.parquet(path).createOrReplaceTempView(name)

    def write_parquet(self, query: str, path: str, partition_by: Sequence[str] = ()) -> int:
        """Write a query's result as a Parquet dataset folder; return the row count.

        Spark writes the folder atomically through its output committer (``_SUCCESS`` last),
        which is what makes a stage's output trustworthy after a crash.
        """
        frame = self._query(query, None)
        writer = frame.write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(path)
        return int(self.session.read.parquet(path).count())

    def unregister(self, name: str) -> None:
        self.session.catalog.dropTempView(name)

    def _query(self, query: str, params: Sequence[Any] | None) -> Any:
        spark_sql = to_dialect(query, "spark")
        if params:
            return self.session.sql(spark_sql, args=list(params))
        return self.session.sql(spark_sql)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> None:
        self._query(query, params).collect()

    def to_arrow(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        table: pa.Table = self._query(query, params).toArrow()
        return table

    def rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._query(query, params).collect()]

    def records(self, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.to_arrow(query, params).to_pylist()
        return records

    def scalar(self, query: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.rows(query, params)
        return rows[0][0] if rows else None

    def map_arrow(
        self,
        source_query: str,
        function: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
        schema: pa.Schema,
        result: str,
    ) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        source = self._query(source_query, None)
        # A Python step runs one worker per input partition; a small file read as one split
        # would keep every other core idle, so spread it over the cluster's parallelism first.
        parallelism = self.session.sparkContext.defaultParallelism
        if source.rdd.getNumPartitions() < parallelism:
            source = source.repartition(parallelism)
        frame = source.mapInArrow(function, from_arrow_schema(schema))
        frame.createOrReplaceTempView(result)

    def version(self) -> str:
        return str(self.session.version)

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None

"""The default engine: DuckDB in process, over the workspace file or in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa


def parquet_glob(path: str) -> str:
    """A folder means every Parquet file under it (a dataset); a file means itself."""
    if Path(path).is_dir():
        return str(Path(path) / "**" / "*.parquet")
    return path


class DuckDBEngine:
    """An Engine over one DuckDB connection.

    DuckDB's own progress bar is switched off: it writes to stdout, which belongs to the
    command's machine-readable output.
    """

    name = "duckdb"

    def __init__(
        self,
        database: Path | str = ":memory:",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
    ) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.connection = duckdb.connect(str(database), read_only=read_only, config=config)
        self.connection.execute("SET enable_progress_bar = false").fetchall()

    def register(self, name: str, table: pa.Table) -> None:
        self.connection.register(name, table)

    def unregister(self, name: str) -> None:
        self.connection.unregister(name)

    def register_parquet(self, name: str, path: str) -> None:
        """Expose a Parquet file or dataset folder (hive-partitioned or not) as a view."""
        glob = parquet_glob(path).replace("'", "''")
        self.connection.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS"
            f" SELECT * FROM read_parquet('{glob}', hive_partitioning = true)"
        ).fetchall()

    def write_parquet(self, query: str, path: str, partition_by: Sequence[str] = ()) -> int:
        """Write a query's result as a Parquet dataset folder; return the row count."""
        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        options = "FORMAT parquet, OVERWRITE_OR_IGNORE true"
        if partition_by:
            options += f", PARTITION_BY ({', '.join(partition_by)})"
            destination = str(target)
        else:
            destination = str(target / "part-0.parquet")
        quoted = destination.replace("'", "''")
        # COPY answers with the number of rows it wrote: no second pass over the query.
        written = self.connection.execute(f"COPY ({query}) TO '{quoted}' ({options})").fetchall()
        return int(written[0][0]) if written else 0

    def sql(self, query: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(query, params).fetchall()

    def to_arrow(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        table: pa.Table = self.connection.sql(query, params=params).to_arrow_table()
        return table

    def rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.connection.execute(query, params).fetchall()

    def records(self, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts (for small results)."""
        records: list[dict[str, Any]] = self.to_arrow(query, params).to_pylist()
        return records

    def map_arrow(
        self,
        source_query: str,
        function: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
        schema: pa.Schema,
        result: str,
    ) -> None:
        reader = self.connection.sql(source_query).to_arrow_reader()
        batches = list(function(iter(reader)))
        self.register(result, pa.Table.from_batches(batches, schema=schema))

    def scalar(self, query: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.rows(query, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""
        self.connection.begin()
        try:
            yield
        except BaseException:
            self.connection.rollback()
            raise
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()

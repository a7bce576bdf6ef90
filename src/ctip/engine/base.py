"""The Engine protocol and the declared gaps between engines.

An engine does three things: take an Arrow table under a name (``register``), run SQL
(``sql`` for statements, ``to_arrow`` for results), and say what it cannot do. Gaps are data:
a step that needs a capability calls ``require(engine, capability)`` and fails loudly, naming
the engine, instead of quietly falling back to another code path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import pyarrow as pa

from ctip.errors import EngineGapError

# capability -> {engine name: why it is missing}. An engine not listed has the capability.
ENGINE_GAPS: dict[str, dict[str, str]] = {
    # capability -> {engine: why it is missing}
    "transactions": {
        "spark": "Spark SQL has no multi-statement transactions; write to a new Parquet dataset",
    },
    "workspace-tables": {
        "spark": "the workspace is one DuckDB file; Spark jobs read and write Parquet datasets",
    },
}


class Engine(Protocol):
    """What capability code may ask of an engine."""

    name: str

    def register(self, name: str, table: pa.Table) -> None:
        """Expose an Arrow table to SQL under ``name`` for the life of the engine."""

    def unregister(self, name: str) -> None:
        """Forget a registered table."""

    def register_parquet(self, name: str, path: str) -> None:
        """Expose a Parquet file or dataset folder (on local or shared storage) under ``name``."""

    def write_parquet(self, query: str, path: str, partition_by: Sequence[str] = ()) -> int:
        """Write a query's result as a Parquet dataset folder at ``path``; return its rows."""

    def sql(self, query: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement (DDL or DML) to completion."""

    def to_arrow(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return its whole result as an Arrow table."""

    def rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query with a small result and return it as Python tuples."""

    def records(self, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query with a small result and return it as dicts."""

    def scalar(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row, or None."""

    def map_arrow(
        self, source_query: str, function: BatchFunction, schema: pa.Schema, result: str
    ) -> None:
        """Run a Python function over the query's rows in Arrow batches; register the output.

        This is how Python-heavy steps (normalisation, MinHash, PDQ) run on either engine:
        DuckDB streams record batches through ``function`` in process; Spark runs it on the
        executors with ``mapInArrow``.
        """


BatchFunction = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]

# What every engine is asked about by ``ctip engine check``.
CAPABILITIES: dict[str, str] = {
    "sql": "relational steps in SQL written once (DuckDB dialect, transpiled)",
    "arrow-batches": "Python functions over Arrow record batches",
    "parquet-io": "read and write Parquet datasets",
    "transactions": "several statements committed together",
    "workspace-tables": "the DuckDB workspace file",
}


def missing_capability(engine_name: str, capability: str) -> str | None:
    return ENGINE_GAPS.get(capability, {}).get(engine_name)


def require(engine: Engine, capability: str) -> None:
    """Raise EngineGapError when ``engine`` declares ``capability`` as a gap."""
    reason = missing_capability(engine.name, capability)
    if reason is not None:
        raise EngineGapError(f"the {engine.name} engine cannot do '{capability}': {reason}")

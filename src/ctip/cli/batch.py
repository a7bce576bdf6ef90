"""The options every scale-out batch job shares, spelled once.

``--engine`` and ``--spark-master`` choose where the job runs; ``--input`` (a Parquet file or
dataset folder) and ``--output`` (a folder of per-stage Parquet datasets) switch a command from
the workspace to shared storage, which is how jobs run on a Spark cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ctip.engine.base import Engine
from ctip.engine.select import batch_engine
from ctip.errors import BadInputError
from ctip.settings import Settings

EngineOption = Annotated[
    str | None,
    typer.Option("--engine", help="duckdb or spark (default: CTIP_ENGINE, else duckdb)"),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option("--spark-master", help="Spark master URL (default: CTIP_SPARK_MASTER, local[*])"),
]
InputOption = Annotated[
    Path | None,
    typer.Option("--input", help="read a Parquet file or dataset folder instead of the workspace"),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", help="write each stage as a Parquet dataset under this folder"),
]


def require_paths(input_path: Path | None, output: Path | None) -> tuple[Path, Path]:
    """Parquet jobs need both paths; say which one is missing."""
    if input_path is None or output is None:
        missing = "--input" if input_path is None else "--output"
        raise BadInputError(
            f"{missing} is missing", hint="a Parquet job takes --input PATH.parquet --output DIR"
        )
    return input_path, output


@contextmanager
def job_engine(
    settings: Settings, engine: str | None, spark_master: str | None
) -> Iterator[Engine]:
    """The chosen engine for the life of one command.

    DuckDB is closed afterwards. A Spark session is left to end with the process: ``getOrCreate``
    may have handed back a session someone else in this process started (a notebook, a test
    run), and stopping it would pull it from under them.
    """
    chosen = batch_engine(settings, engine, spark_master)
    try:
        yield chosen
    finally:
        close = getattr(chosen, "close", None)
        if close is not None:
            close()

"""``ctip engine check``: what the configured batch engine can do, tried for real."""

from __future__ import annotations

import time
from typing import Annotated

import pyarrow as pa
import typer

from ctip.cli.context import state
from ctip.cli.output import OutputFormat, emit_rows, note, resolve
from ctip.engine.base import CAPABILITIES, missing_capability
from ctip.engine.select import batch_engine

app = typer.Typer(help="The batch engine: DuckDB in process, or Apache Spark for scale-out.")


@app.command("check")
def check(
    ctx: typer.Context,
    engine: Annotated[
        str | None, typer.Option("--engine", help="duckdb or spark (default CTIP_ENGINE)")
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL")
    ] = None,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """Start the engine, run a small query and an Arrow batch function, and list what it
    supports and what it declares missing."""
    settings = state(ctx).settings
    chosen = batch_engine(settings, engine, spark_master)
    started = time.perf_counter()
    chosen.register("_ctip_numbers", pa.table({"x": pa.array(range(1_000_000), pa.int64())}))
    total = chosen.scalar("SELECT sum(x) FROM _ctip_numbers")
    query_seconds = time.perf_counter() - started

    def double(batches):  # type: ignore[no-untyped-def]
        for batch in batches:
            yield pa.record_batch([pa.compute.multiply(batch.column(0), 2)], names=["y"])

    chosen.map_arrow(
        "SELECT x FROM _ctip_numbers WHERE x < 1000",
        double,
        pa.schema([("y", pa.int64())]),
        "_ctip_check",
    )
    doubled = chosen.scalar("SELECT sum(y) FROM _ctip_check")
    rows = [
        {
            "capability": name,
            "supported": missing_capability(chosen.name, name) is None,
            "note": missing_capability(chosen.name, name) or description,
        }
        for name, description in CAPABILITIES.items()
    ]
    note(
        f"engine {chosen.name}: sum of 0..999999 = {total} in {query_seconds:.2f} s"
        f" (including start-up);"
        f" Arrow batch function gave {doubled} (expected 999000)"
    )
    emit_rows(rows, resolve(fmt), title=f"Engine {chosen.name}")


def register_cli(root: typer.Typer) -> None:
    root.add_typer(app, name="engine")

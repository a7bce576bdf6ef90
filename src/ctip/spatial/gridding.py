"""Incidents onto the grid as Parquet job stages, the same on DuckDB and Spark.

``ctip hotspots`` and ``ctip forecast backtest`` read the workspace; with ``--input
INCIDENTS.parquet --output DIR`` they read a Parquet dataset instead and do the per-incident
work as job stages (``ctip.engine.jobs``) on either engine, so that only small aggregates
(counts per cell, per period, per window) ever reach the driver:

1. ``extent``: the longitude/latitude range, which chooses the projection exactly as the
   workspace does (``choose_projection`` looks at the range only);
2. ``projected``: x, y in metres, the time in days and the boundary test, by pyproj and shapely
   inside an Arrow batch function (``Engine.map_arrow``: in process on DuckDB, ``mapInArrow``
   on Spark): one implementation of the projection for both engines; partitioned by year;
3. ``hull``: the convex-hull vertices of each batch (the hull of all incidents is the hull of
   those), when no ``--boundary`` gives the study area;
4. the grid itself is built on the driver by ``square_grid``, as in the workspace;
5. ``located``: each selected incident's cell, by the grid arithmetic in SQL
   (``floor((x - x0) / size)``, the same IEEE operations as ``Grid.locate``) joined to the
   grid's cells; incidents outside every cell are left out, as in the workspace.

Input columns: ``latitude``, ``longitude`` (WGS84 degrees), ``occurred_at`` (timestamp or
date), and optionally ``category`` and ``time_precision`` (``day``, ``hour`` or ``second``, as
the workspace stores it; a date column means ``day``). Rows missing a coordinate or the time
are left out. H3 grids (``--h3-res``) are not available in jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS

from ctip.engine.base import BatchFunction, Engine
from ctip.engine.jobs import ParquetJob
from ctip.errors import BadInputError
from ctip.spatial.geometry import (
    FloatArray,
    LocalProjection,
    choose_projection,
    convex_hull,
    projection_for,
    read_boundary,
)
from ctip.spatial.grid import Grid, square_grid
from ctip.spatial.study import day_number, match_category

REQUIRED = ("latitude", "longitude", "occurred_at")
OPTIONAL = ("category", "time_precision")
PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
PROJECTED = pa.schema(
    [
        ("x", pa.float64()),
        ("y", pa.float64()),
        ("t", pa.float64()),
        ("seconds", pa.float64()),
        ("category", pa.string()),
        ("inside", pa.bool_()),
        ("year", pa.int32()),
    ]
)
HULL = pa.schema([("x", pa.float64()), ("y", pa.float64())])


def literal(value: float) -> str:
    """A double in SQL on both engines (Spark reads ``250.0`` as a DECIMAL); ``repr`` gives
    the shortest text that reads back as the same double."""
    return f"CAST({float(value)!r} AS DOUBLE)"


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Selection:
    """Which incidents a job looks at, as the workspace commands choose them."""

    category: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive


@dataclass
class Gridded:
    """What the gridding stages leave for the analysis: the grid and the ``located`` view
    (``cell, t, x, y, year``), plus the selection's chosen category spelling."""

    grid: Grid
    projection: LocalProjection
    located: str
    category: str | None
    incidents: int  # rows with coordinates and a time, before the selection


def epoch_seconds(column: pa.Array | pa.ChunkedArray) -> FloatArray:
    """Seconds since 1970-01-01 of a timestamp or date column (UTC for zoned timestamps, the
    wall clock for naive ones, as the workspace's ``epoch(occurred_at)``)."""
    kind = column.type
    if pa.types.is_date(kind):
        days = pc.cast(pc.cast(column, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)
        seconds: FloatArray = days.astype(np.float64) * 86400.0
        return seconds
    if pa.types.is_timestamp(kind):
        ticks = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
        in_seconds: FloatArray = ticks.astype(np.float64) / PER_SECOND[kind.unit]
        return in_seconds
    raise BadInputError(
        f"occurred_at is {kind}, not a timestamp or a date",
        hint="write occurred_at as a Parquet timestamp (or date) column",
    )


def project_batch(
    batch: pa.RecordBatch, projection: LocalProjection, area: Any | None
) -> pa.RecordBatch:
    """One batch of incidents in metres and days (``t`` as the workspace's study computes it:
    midday for a day, the middle of the hour for an hour)."""
    names = batch.schema.names
    lon = batch.column(names.index("longitude")).to_numpy(zero_copy_only=False).astype(float)
    lat = batch.column(names.index("latitude")).to_numpy(zero_copy_only=False).astype(float)
    x, y = projection.to_metres(lon, lat)
    when = batch.column(names.index("occurred_at"))
    seconds = epoch_seconds(when)
    if "time_precision" in names:
        precision = batch.column(names.index("time_precision"))
        day = pc.fill_null(pc.equal(precision, "day"), False).to_numpy(zero_copy_only=False)
        hour = pc.fill_null(pc.equal(precision, "hour"), False).to_numpy(zero_copy_only=False)
        offset = np.where(day, 0.5, np.where(hour, 1 / 48.0, 0.0))
    else:
        offset = np.full(len(seconds), 0.5 if pa.types.is_date(when.type) else 0.0)
    t = seconds / 86400.0 + offset
    if "category" in names:
        category = pc.cast(batch.column(names.index("category")), pa.string())
    else:
        category = pa.nulls(len(t), pa.string())
    inside = np.ones(len(t), dtype=bool) if area is None else shapely.contains_xy(area, x, y)
    year = np.floor(seconds).astype(np.int64).astype("datetime64[s]").astype("datetime64[Y]")
    return pa.record_batch(
        [
            pa.array(x, pa.float64()),
            pa.array(y, pa.float64()),
            pa.array(t, pa.float64()),
            pa.array(seconds, pa.float64()),
            category,
            pa.array(inside, pa.bool_()),
            pa.array(year.astype(np.int64) + 1970, pa.int32()),
        ],
        schema=PROJECTED,
    )


def projector(crs: str, boundary_wkb: bytes | None) -> BatchFunction:
    """The batch function of the ``projected`` stage. It carries only text and bytes, so Spark
    can ship it to executors; the transformer is built there, once per task."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        projection = projection_for(CRS.from_user_input(crs))
        area = None if boundary_wkb is None else shapely.from_wkb(boundary_wkb)
        if area is not None:
            shapely.prepare(area)
        for batch in batches:
            yield project_batch(batch, projection, area)

    return run


def hull_vertices(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The convex hull's vertices of each batch: few points, whose hull is the hull of all."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        x = batch.column(0).to_numpy(zero_copy_only=False)
        y = batch.column(1).to_numpy(zero_copy_only=False)
        hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
        points = shapely.get_coordinates(hull)
        yield pa.record_batch(
            [pa.array(points[:, 0], pa.float64()), pa.array(points[:, 1], pa.float64())],
            schema=HULL,
        )


def check_columns(engine: Engine, view: str = "incidents") -> list[str]:
    """The input's columns this job reads; a one-line error naming the missing ones."""
    names = engine.to_arrow(f"SELECT * FROM {view} LIMIT 0").schema.names
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise BadInputError(
            f"the input has no column {', '.join(missing)}",
            hint="incidents need latitude, longitude and occurred_at (see docs/spatial.md)",
        )
    return [*REQUIRED, *(c for c in OPTIONAL if c in names)]


def grid_incidents(
    job: ParquetJob,
    *,
    selection: Selection,
    cell_size: float,
    crs: str | None = None,
    boundary: Path | None = None,
) -> Gridded:
    """Run stages 1 to 5 of the module docstring and return the grid and the located view."""
    engine = job.engine
    columns = check_columns(engine)
    present = " AND ".join(f"{c} IS NOT NULL" for c in REQUIRED)
    extent = job.stage(
        "extent",
        lambda: (
            "SELECT min(longitude) AS west, max(longitude) AS east, min(latitude) AS south,"
            f" max(latitude) AS north, count(*) AS incidents FROM incidents WHERE {present}"
        ),
    )
    west, east, south, north, incidents = engine.rows(
        f"SELECT west, east, south, north, incidents FROM {extent}"
    )[0]
    if not incidents:
        raise BadInputError("the input has no incidents with coordinates and a time")
    projection = choose_projection(np.array([west, east]), np.array([south, north]), crs)
    area = read_boundary(boundary, projection) if boundary is not None else None
    wkb = None if area is None else bytes(shapely.to_wkb(area))

    def project() -> str:
        source = f"SELECT {', '.join(columns)} FROM incidents WHERE {present}"
        engine.map_arrow(source, projector(projection.crs.srs, wkb), PROJECTED, "_projecting")
        return "SELECT * FROM _projecting"

    projected = job.stage("projected", project, partition_by=["year"])
    if area is None:

        def vertices() -> str:
            engine.map_arrow(f"SELECT x, y FROM {projected}", hull_vertices, HULL, "_hulls")
            return "SELECT x, y FROM _hulls"

        hull = engine.to_arrow(f"SELECT x, y FROM {job.stage('hull', vertices)}")
        area = convex_hull(hull["x"].to_numpy(), hull["y"].to_numpy())
    grid = square_grid(area, projection, cell_size)
    register_cells(engine, grid)
    conditions = ["inside"]
    category = selection.category
    if category is not None:
        known = [r[0] for r in engine.rows(f"SELECT DISTINCT category FROM {projected}")]
        category = match_category(known, category)
        conditions.append(f"category = {text(category)}")
    if selection.since is not None:
        conditions.append(f"seconds >= {literal(day_number(selection.since) * 86400.0)}")
    if selection.until is not None:
        end = day_number(selection.until + timedelta(days=1)) * 86400.0
        conditions.append(f"seconds < {literal(end)}")
    x0, y0, _, _, _ = grid_origin(grid)
    size = literal(grid.resolution)
    located = job.stage(
        "located",
        lambda: (
            "SELECT g.cell, p.t, p.x, p.y, p.year FROM ("
            f" SELECT CAST(floor((x - {literal(x0)}) / {size}) AS BIGINT) AS ix,"
            f" CAST(floor((y - {literal(y0)}) / {size}) AS BIGINT) AS iy, t, x, y, year"
            f" FROM {projected} WHERE {' AND '.join(conditions)}"
            ") p JOIN grid_cells g ON p.ix = g.ix AND p.iy = g.iy"
        ),
        partition_by=["year"],
    )
    return Gridded(grid, projection, located, category, int(incidents))


def grid_origin(grid: Grid) -> tuple[float, float, int, int, Any]:
    layout = grid.square_layout
    if layout is None:  # only square grids are built here
        raise BadInputError("--h3-res is not available in Parquet jobs", hint="use --cell-size")
    return layout


def file_identity(path: Path | None) -> list[object] | None:
    """A side file (``--boundary``) as the job fingerprint sees it: name, size, mtime."""
    if path is None or not path.exists():
        return None if path is None else [str(path)]
    stat = path.stat()
    return [str(path), stat.st_size, stat.st_mtime_ns]


def register_cells(engine: Engine, grid: Grid) -> None:
    """The grid's cells as a table ``grid_cells (cell, cell_id, ix, iy)`` for SQL joins."""
    _, _, _, ny, lut = grid_origin(grid)
    flat = np.flatnonzero(lut >= 0)
    engine.register(
        "grid_cells",
        pa.table(
            {
                "cell": pa.array(lut[flat], pa.int64()),
                "cell_id": pa.array([grid.ids[i] for i in lut[flat]], pa.string()),
                "ix": pa.array(flat // ny, pa.int64()),
                "iy": pa.array(flat % ny, pa.int64()),
            }
        ),
    )


def dense(rows: pa.Table, size: int, column: str = "incidents") -> FloatArray:
    """Counts per cell from a ``cell, <column>`` table, zero where a cell has none."""
    counts = np.zeros(size)
    counts[rows["cell"].to_numpy()] = rows[column].to_numpy(zero_copy_only=False)
    return counts


def register_bounds(engine: Engine, name: str, bounds: list[tuple[float, float]]) -> None:
    """Time ranges ``[low, high)`` as a table ``(k, low, high)`` for a range join: the
    boundaries are the driver's doubles, so every engine splits time exactly as numpy does."""
    engine.register(
        name,
        pa.table(
            {
                "k": pa.array(range(len(bounds)), pa.int64()),
                "low": pa.array([b[0] for b in bounds], pa.float64()),
                "high": pa.array([b[1] for b in bounds], pa.float64()),
            }
        ),
    )

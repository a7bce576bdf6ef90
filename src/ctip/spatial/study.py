"""A study: the stored incidents chosen by category and dates, projected, on a grid.

Times become days since 1970-01-01 as floats. An incident known only to the day is placed at
midday and one known to the hour at the middle of that hour, so a window boundary at midnight
never splits a day and same-day events keep no false order.

The projection and the study area come from *all* stored incidents (or a boundary file), not
the selection: the grid, and with it every cell id and area share, stays the same whichever
category or period is analysed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ctip.errors import BadInputError
from ctip.spatial.geometry import (
    FloatArray,
    LocalProjection,
    choose_projection,
    convex_hull,
    read_boundary,
)
from ctip.spatial.grid import Grid, IntArray, h3_grid, square_grid
from ctip.workspace import Workspace

EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Events:
    """Projected incidents: x, y in metres, t in days since 1970-01-01, and their cells."""

    x: FloatArray
    y: FloatArray
    t: FloatArray
    cell: IntArray
    category: np.ndarray[Any, np.dtype[np.object_]]

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> Events:
        return Events(
            self.x[mask], self.y[mask], self.t[mask], self.cell[mask], self.category[mask]
        )

    def between(self, start: float, end: float) -> Events:
        """Events with start <= t < end."""
        return self.subset((self.t >= start) & (self.t < end))


@dataclass(frozen=True)
class Study:
    grid: Grid
    events: Events
    category: str | None

    @property
    def projection(self) -> LocalProjection:
        return self.grid.projection


def day_number(value: date | datetime) -> float:
    """Days since 1970-01-01 at the start of ``value``."""
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return (moment.replace(tzinfo=None) - EPOCH).total_seconds() / 86400.0


def day_to_date(day: float) -> date:
    return date.fromordinal(EPOCH.toordinal() + int(np.floor(day)))


def match_category(known: list[str | None], category: str) -> str:
    """The stored spelling of ``category`` (matched ignoring case), or a one-line error
    listing the categories there are."""
    matches = [c for c in known if c is not None and c.lower() == category.lower()]
    if not matches:
        shown = ", ".join(sorted(str(k) for k in known if k is not None)[:20]) or "none"
        raise BadInputError(f"no incidents of category '{category}'", hint=f"known: {shown}")
    return matches[0]


def open_study(
    workspace: Workspace,
    *,
    category: str | None = None,
    since: date | None = None,
    until: date | None = None,
    cell_size: float = 250.0,
    h3_res: int | None = None,
    crs: str | None = None,
    boundary: Path | None = None,
) -> Study:
    """Load the chosen incidents and lay the grid over the study area."""
    engine = workspace.engine
    everything = engine.to_arrow("SELECT longitude, latitude FROM incidents")
    if everything.num_rows == 0:
        raise BadInputError(
            "the workspace has no incidents", hint="import some with 'ctip import incidents FILE'"
        )
    all_lon = everything.column("longitude").to_numpy()
    all_lat = everything.column("latitude").to_numpy()
    projection = choose_projection(all_lon, all_lat, crs)
    if boundary is not None:
        area = read_boundary(boundary, projection)
    else:
        area = convex_hull(*projection.to_metres(all_lon, all_lat))
    conditions: list[str] = ["true"]
    params: list[Any] = []
    if category is not None:
        known = [r[0] for r in engine.rows("SELECT DISTINCT category FROM incidents")]
        category = match_category(known, category)
        conditions.append("category = ?")
        params.append(category)
    if since is not None:
        conditions.append("occurred_at >= ?")
        params.append(datetime(since.year, since.month, since.day))
    if until is not None:
        conditions.append("occurred_at < ?::TIMESTAMP + INTERVAL 1 DAY")
        params.append(datetime(until.year, until.month, until.day))
    table = engine.to_arrow(
        "SELECT longitude, latitude, category,"
        " epoch(occurred_at) / 86400.0 + CASE time_precision WHEN 'day' THEN 0.5"
        " WHEN 'hour' THEN 1 / 48.0 ELSE 0 END AS t"
        f" FROM incidents WHERE {' AND '.join(conditions)} ORDER BY t",
        params,
    )
    lon = table.column("longitude").to_numpy()
    lat = table.column("latitude").to_numpy()
    x, y = projection.to_metres(lon, lat)
    if boundary is not None:
        import shapely

        inside = shapely.contains_xy(area, x, y)
    else:
        inside = np.ones(len(x), dtype=bool)
    grid = (
        h3_grid(area, projection, h3_res, x[inside], y[inside])
        if h3_res is not None
        else square_grid(area, projection, cell_size)
    )
    t = table.column("t").to_numpy().astype(float)
    categories = np.asarray(table.column("category").to_pylist(), dtype=object)
    events = Events(x, y, t, grid.locate(x, y), categories).subset(inside)
    return Study(grid, events.subset(events.cell >= 0), category)

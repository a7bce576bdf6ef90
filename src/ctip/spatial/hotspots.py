"""``ctip hotspots``: where incidents concentrate beyond chance, how densely, and the trend.

One row per cell with the count, Gi* z, the permutation p, the Benjamini-Hochberg q and the
class (gistar.py); the kernel density in events per km² (kde.py); and the emerging-hotspot
class from the Mann-Kendall trend of per-period Gi* (emerging.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ctip.errors import BadInputError
from ctip.spatial.emerging import classify_periods, period_bounds, period_counts
from ctip.spatial.geometry import FloatArray
from ctip.spatial.gistar import NOT_SIGNIFICANT, PERMUTATIONS, class_rank, gi_star, summary
from ctip.spatial.grid import Grid
from ctip.spatial.kde import default_bandwidth, kernel_density
from ctip.spatial.study import Study, day_to_date

MIN_EVENTS = 10


@dataclass(frozen=True)
class HotspotResult:
    study: Study
    rows: list[dict[str, Any]]
    classes: dict[str, int]
    emerging: dict[str, int]
    bandwidth: float
    periods: int
    period_days: float
    first_period: str

    def interesting(self) -> list[dict[str, Any]]:
        return interesting(self.rows)


def interesting(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells that are significant or have an emerging class, hottest first."""
    return [r for r in rows if r["class"] != NOT_SIGNIFICANT or r["trend"]]


def check_options(
    incidents: int, permutations: int, periods: int, period_days: float | None
) -> None:
    """Refuse selections and options Gi* and the emerging analysis cannot work with."""
    if incidents < MIN_EVENTS:
        raise BadInputError(
            f"only {incidents} incidents in this selection; Gi* needs at least {MIN_EVENTS}",
            hint="widen --since/--until or drop --category",
        )
    if permutations < 99 or permutations > 99_999:
        raise BadInputError(f"--permutations {permutations}: use 99 to 99,999")
    if periods < 1 or (period_days is not None and period_days <= 0):
        raise BadInputError("--periods and --period-days must be positive")


def period_plan(
    first_t: float, last_t: float, periods: int, period_days: float | None, since: float | None
) -> tuple[float, float]:
    """(end, period length) of the emerging analysis, from the first and last incident times.

    The span runs from ``since`` (a day number) when given, else over the last two years of
    data (or all of it when shorter), unless ``period_days`` fixes the length.
    """
    end = float(np.floor(last_t)) + 1.0
    if period_days is None:
        first = since if since is not None else max(float(np.floor(first_t)), end - 730)
        period_days = max((end - first) / periods, 1.0)
    return end, period_days


def run_hotspots(
    study: Study,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
    bandwidth: float | None = None,
    periods: int = 8,
    period_days: float | None = None,
    since: float | None = None,
) -> HotspotResult:
    """Gi*, KDE and emerging classes for every cell of the study.

    The emerging analysis splits the span into ``periods`` equal periods ending at the last
    incident (see ``period_plan``).
    """
    events, grid = study.events, study.grid
    check_options(len(events), permutations, periods, period_days)
    counts = grid.counts(events.cell)
    width = bandwidth or default_bandwidth(grid.area)
    qx, qy, _, _ = grid.quadrature()
    density = kernel_density(qx, qy, events.x, events.y, width)
    end, period_days = period_plan(
        float(events.t.min()), float(events.t.max()), periods, period_days, since
    )
    per_period = period_counts(
        events.t, events.cell, grid.size, period_bounds(end, periods, period_days)
    )
    rows, classes, emerging = score_cells(
        grid, counts, per_period, cell_density(grid, density), permutations=permutations, seed=seed
    )
    return HotspotResult(
        study,
        rows,
        classes,
        emerging,
        width,
        periods,
        period_days,
        day_to_date(end - periods * period_days).isoformat(),
    )


def cell_density(grid: Grid, density_at_quadrature: FloatArray) -> FloatArray:
    """Mean density over each cell from the density at the grid's quadrature points."""
    _, _, qw, qcell = grid.quadrature()
    mean: FloatArray = (
        np.bincount(qcell, weights=density_at_quadrature * qw, minlength=grid.size) / grid.area
    )
    return mean


def score_cells(
    grid: Grid,
    counts: FloatArray,
    per_period: FloatArray,
    mean_density: FloatArray,
    *,
    permutations: int,
    seed: int,
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, int]]:
    """One row per cell, hottest first, with the class and emerging-class tallies.

    Everything here works from counts per cell (and per period) and a density per cell, so a
    Parquet job that aggregated the incidents in SQL gets exactly the workspace's answer.
    """
    result = gi_star(counts, grid.neighbours, permutations=permutations, seed=seed)
    trend = classify_periods(per_period, grid.neighbours)
    lon, lat = grid.centroids_lonlat()
    rows: list[dict[str, Any]] = [
        {
            "cell_id": grid.ids[i],
            "latitude": round(float(lat[i]), 6),
            "longitude": round(float(lon[i]), 6),
            "area_km2": round(float(grid.area[i]) / 1e6, 5),
            "count": int(counts[i]),
            "z": round(float(result.z[i]), 4),
            "p": round(float(result.p[i]), 5),
            "q": round(float(result.q[i]), 5),
            "class": result.classes[i],
            "kde_per_km2": round(float(mean_density[i]) * 1e6, 3),
            "trend": trend.classes[i],
            "trend_z": round(float(trend.trend_z[i]), 3),
            "hot_periods": int(trend.hot_periods[i]),
        }
        for i in range(grid.size)
    ]
    rows.sort(key=lambda r: (class_rank(r["class"]), -r["z"]))
    emerging = {name: trend.classes.count(name) for name in sorted(set(trend.classes)) if name}
    return rows, summary(result.classes), emerging


def hotspot_geojson(result: HotspotResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return cells_geojson(result.study.grid, rows)


def cells_geojson(grid: Grid, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection of the rows' clipped cell polygons, the rows as properties."""
    index = {cell_id: i for i, cell_id in enumerate(grid.ids)}
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row["cell_id"],
                "geometry": grid.geojson_geometry(index[row["cell_id"]]),
                "properties": row,
            }
            for row in rows
        ],
    }

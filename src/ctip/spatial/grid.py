"""Grids of cells over the study area: squares of a given size in metres, or H3 hexagons.

Every cell is clipped to the study area, and its clipped area is what counts: a cell half in
the lake holds half the land, and PAI's "share of the area flagged" must not count water. Cells
that touch the area without overlapping it are dropped. Neighbours are the cells sharing an edge
or a corner (queen contiguity, 8 for squares) or the first H3 ring (6 for hexagons): the binary
weights Getis-Ord Gi* uses.

Square cells are aligned to multiples of the cell size in the projected coordinates, so a cell
id (the lower-left corner in metres, ``E631250N4831500``) is the same in every run with the same
projection and cell size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import scipy.sparse as sp
import shapely
from shapely.geometry.base import BaseGeometry

from ctip.errors import BadInputError
from ctip.spatial.geometry import FloatArray, LocalProjection

IntArray = np.ndarray[Any, np.dtype[np.int64]]
MAX_CELLS = 2_000_000


@dataclass
class Grid:
    """Cells with clipped polygons (projected), areas in m², centroids and neighbours."""

    kind: str  # "square" or "h3"
    resolution: float  # cell size in metres, or the H3 resolution
    projection: LocalProjection
    area_geometry: BaseGeometry
    ids: list[str]
    polygons: np.ndarray[Any, np.dtype[np.object_]]
    area: FloatArray
    cx: FloatArray
    cy: FloatArray
    neighbours: sp.csr_matrix
    _lookup: dict[str, int] = field(default_factory=dict, repr=False)
    _square: tuple[float, float, int, int, IntArray] | None = field(default=None, repr=False)
    _quadrature: dict[int, tuple[FloatArray, FloatArray, FloatArray, IntArray]] = field(
        default_factory=dict, repr=False
    )

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def label(self) -> str:
        if self.kind == "square":
            return f"{self.resolution:g} m squares"
        return f"H3 resolution {int(self.resolution)}"

    @property
    def square_layout(self) -> tuple[float, float, int, int, IntArray] | None:
        """(x0, y0, nx, ny, lookup) of a square grid, None for H3: cell (ix, iy) is
        ``lookup[ix * ny + iy]`` (-1 when clipped away), ix = floor((x - x0) / size). Parquet
        jobs do the same arithmetic in SQL."""
        return self._square

    def locate(self, x: FloatArray, y: FloatArray) -> IntArray:
        """The cell index of each projected point; -1 outside every cell."""
        if self._square is not None:
            x0, y0, nx, ny, lut = self._square
            s = self.resolution
            ix = np.floor((np.asarray(x) - x0) / s).astype(np.int64)
            iy = np.floor((np.asarray(y) - y0) / s).astype(np.int64)
            inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
            found = np.full(len(ix), -1, dtype=np.int64)
            found[inside] = lut[ix[inside] * ny + iy[inside]]
            return found
        lon, lat = self.projection.to_lonlat(np.asarray(x), np.asarray(y))
        res = int(self.resolution)
        return np.fromiter(
            (
                self._lookup.get(h3.latlng_to_cell(la, lo, res), -1)
                for lo, la in zip(lon.tolist(), lat.tolist(), strict=True)
            ),
            dtype=np.int64,
            count=len(lon),
        )

    def counts(self, cells: IntArray, weights: FloatArray | None = None) -> FloatArray:
        """Events (or weights) per cell; points outside the grid are ignored."""
        keep = cells >= 0
        w = None if weights is None else np.asarray(weights)[keep]
        return np.bincount(cells[keep], weights=w, minlength=self.size).astype(float)

    def neighbour_sum(self, values: FloatArray) -> FloatArray:
        return np.asarray(self.neighbours @ values, dtype=float)

    def quadrature(self, per_side: int = 3) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
        """Points spread over each clipped cell with weights summing to its area (m²).

        Models integrate intensities over a cell with these instead of taking the centroid
        value times the area, which matters when a kernel is narrower than a cell. Computed
        once per grid.
        """
        if per_side not in self._quadrature:
            self._quadrature[per_side] = self._spread_points(per_side)
        return self._quadrature[per_side]

    def _spread_points(self, per_side: int) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
        xs: list[FloatArray] = []
        ys: list[FloatArray] = []
        owner: list[IntArray] = []
        bounds = shapely.bounds(self.polygons)
        spans = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
        steps = (np.arange(per_side) + 0.5) / per_side
        gx, gy = np.meshgrid(steps, steps, indexing="ij")
        for offset_x, offset_y in zip(gx.ravel(), gy.ravel(), strict=True):
            xs.append(bounds[:, 0] + offset_x * spans)
            ys.append(bounds[:, 1] + offset_y * spans)
            owner.append(np.arange(self.size, dtype=np.int64))
        px, py, cell = np.concatenate(xs), np.concatenate(ys), np.concatenate(owner)
        inside = shapely.contains_xy(self.polygons[cell], px, py)
        px, py, cell = px[inside], py[inside], cell[inside]
        missing = np.setdiff1d(np.arange(self.size), cell)
        if len(missing):  # slivers: one point at the representative point
            points = shapely.point_on_surface(self.polygons[missing])
            px = np.concatenate([px, shapely.get_x(points)])
            py = np.concatenate([py, shapely.get_y(points)])
            cell = np.concatenate([cell, missing])
        per_cell = np.bincount(cell, minlength=self.size)
        weight = self.area[cell] / per_cell[cell]
        return px, py, weight, cell

    def centroids_lonlat(self) -> tuple[FloatArray, FloatArray]:
        return self.projection.to_lonlat(self.cx, self.cy)

    def geojson_geometry(self, index: int) -> dict[str, Any]:
        polygon = self.projection.geometry_to_lonlat(self.polygons[index])
        rounded = shapely.set_precision(polygon, 1e-6)
        geometry: dict[str, Any] = shapely.geometry.mapping(rounded)
        return geometry


def square_grid(area: BaseGeometry, projection: LocalProjection, cell_size: float) -> Grid:
    """Square cells of ``cell_size`` metres covering ``area``, clipped to it."""
    if not cell_size > 0:
        raise BadInputError(f"--cell-size {cell_size}: must be a positive number of metres")
    minx, miny, maxx, maxy = area.bounds
    x0, y0 = np.floor(minx / cell_size) * cell_size, np.floor(miny / cell_size) * cell_size
    nx = int(np.ceil((maxx - x0) / cell_size)) or 1
    ny = int(np.ceil((maxy - y0) / cell_size)) or 1
    if nx * ny > MAX_CELLS:
        raise BadInputError(
            f"--cell-size {cell_size:g} m makes {nx * ny:,} cells over this area",
            hint="choose larger cells or a smaller area (--boundary)",
        )
    mesh_x, mesh_y = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ix, iy = mesh_x.ravel(), mesh_y.ravel()
    left, bottom = x0 + ix * cell_size, y0 + iy * cell_size
    boxes = shapely.box(left, bottom, left + cell_size, bottom + cell_size)
    shapely.prepare(area)
    touching = shapely.intersects(boxes, area)
    clipped = shapely.intersection(boxes[touching], area)
    areas = shapely.area(clipped)
    keep_local = areas > 1e-6 * cell_size * cell_size
    kept = np.flatnonzero(touching)[keep_local]
    polygons, areas = clipped[keep_local], areas[keep_local]
    lut = np.full(nx * ny, -1, dtype=np.int64)
    lut[kept] = np.arange(len(kept))
    ids = [
        f"E{round(a)}N{round(b)}"
        for a, b in zip(left[kept].tolist(), bottom[kept].tolist(), strict=True)
    ]
    neighbours = _square_neighbours(ix[kept], iy[kept], lut, nx, ny)
    centres = shapely.centroid(polygons)
    return Grid(
        "square",
        float(cell_size),
        projection,
        area,
        ids,
        polygons,
        areas,
        shapely.get_x(centres),
        shapely.get_y(centres),
        neighbours,
        _square=(float(x0), float(y0), nx, ny, lut),
    )


def _square_neighbours(
    ix: IntArray, iy: IntArray, lut: IntArray, nx: int, ny: int
) -> sp.csr_matrix:
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    own = np.arange(len(ix), dtype=np.int64)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx == dy == 0:
                continue
            jx, jy = ix + dx, iy + dy
            valid = (jx >= 0) & (jx < nx) & (jy >= 0) & (jy < ny)
            other = np.full(len(ix), -1, dtype=np.int64)
            other[valid] = lut[jx[valid] * ny + jy[valid]]
            found = other >= 0
            rows.append(own[found])
            cols.append(other[found])
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(ix), len(ix)))


def h3_grid(
    area: BaseGeometry, projection: LocalProjection, resolution: int, x: FloatArray, y: FloatArray
) -> Grid:
    """H3 cells of ``resolution`` whose hexagon overlaps ``area``, clipped to it.

    Cells holding an event are included even when H3's centre-in-polygon fill misses them.
    """
    if not 0 <= resolution <= 15:
        raise BadInputError(f"--h3-res {resolution}: H3 resolutions run from 0 to 15")
    if h3.average_hexagon_area(resolution, "m^2") * MAX_CELLS < area.area:
        raise BadInputError(
            f"--h3-res {resolution} makes more than {MAX_CELLS:,} cells over this area",
            hint="choose a coarser resolution",
        )
    lonlat_area = projection.geometry_to_lonlat(area)
    polygons = getattr(lonlat_area, "geoms", [lonlat_area])
    found: set[str] = set()
    for polygon in polygons:
        shell = [(la, lo) for lo, la in polygon.exterior.coords]
        holes = [[(la, lo) for lo, la in ring.coords] for ring in polygon.interiors]
        found.update(h3.h3shape_to_cells(h3.LatLngPoly(shell, *holes), resolution))
    lon, lat = projection.to_lonlat(x, y)
    found.update(h3.latlng_to_cell(la, lo, resolution) for lo, la in zip(lon, lat, strict=True))
    # the fill uses cell centres: add the ring around it so edge hexagons are not lost
    found.update(n for c in list(found) for n in h3.grid_ring(c, 1))
    candidates = sorted(found)
    hexagons = shapely.polygons(
        [
            np.column_stack(projection.to_metres(*np.array(h3.cell_to_boundary(c))[:, ::-1].T))
            for c in candidates
        ]
    )
    shapely.prepare(area)
    clipped = shapely.intersection(hexagons, area)
    areas = shapely.area(clipped)
    keep = areas > 1e-6 * h3.average_hexagon_area(resolution, "m^2")
    ids = [c for c, k in zip(candidates, keep, strict=True) if k]
    clipped, areas = clipped[keep], areas[keep]
    lookup = {c: i for i, c in enumerate(ids)}
    rows, cols = [], []
    for i, cell in enumerate(ids):
        for other in h3.grid_ring(cell, 1):
            j = lookup.get(other)
            if j is not None:
                rows.append(i)
                cols.append(j)
    neighbours = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(ids), len(ids)))
    centres = shapely.centroid(clipped)
    return Grid(
        "h3",
        float(resolution),
        projection,
        area,
        ids,
        clipped,
        areas,
        shapely.get_x(centres),
        shapely.get_y(centres),
        neighbours,
        _lookup=lookup,
    )

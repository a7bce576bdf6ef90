"""Where the incidents are: a local metric projection and the study area.

Distances and areas (cell sizes, kernel bandwidths, the flagged area in PAI) need metres, so
coordinates are projected with pyproj into a projection chosen from the data's own extent: the
UTM zone of the centre when the data spans at most 6 degrees of longitude (a city, a region;
scale error under 0.1%), otherwise a Lambert azimuthal equal-area projection centred on the data
(a country or a continent; equal-area keeps PAI's area shares honest). ``--crs`` overrides the
choice with any projected CRS in metres.

The study area is the convex hull of all stored incidents, or a boundary file (GeoJSON in WGS84
longitude/latitude) when the analyst has the real one: a hull over-covers water and parks at the
edges, and a far-off mis-geocoded point stretches it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ctip.errors import BadInputError

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class LocalProjection:
    """A projected CRS in metres with transformers to and from WGS84 longitude/latitude."""

    crs: CRS
    forward: Transformer
    inverse: Transformer

    @property
    def name(self) -> str:
        epsg = self.crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else str(self.crs.srs)

    def to_metres(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, y = self.forward.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def to_lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        lon, lat = self.inverse.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    def geometry_to_metres(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geometry, lambda xy: np.column_stack(self.to_metres(*xy.T)))

    def geometry_to_lonlat(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geometry, lambda xy: np.column_stack(self.to_lonlat(*xy.T)))


def projection_for(crs: CRS) -> LocalProjection:
    wgs84 = CRS.from_epsg(4326)
    return LocalProjection(
        crs,
        Transformer.from_crs(wgs84, crs, always_xy=True),
        Transformer.from_crs(crs, wgs84, always_xy=True),
    )


def choose_projection(
    lon: FloatArray, lat: FloatArray, override: str | None = None
) -> LocalProjection:
    """The projection for these points (see the module docstring), or ``override``."""
    if override:
        try:
            crs = CRS.from_user_input(override)
        except CRSError as exc:
            raise BadInputError(f"--crs {override}: not a coordinate reference system") from exc
        units = {axis.unit_name for axis in crs.axis_info}
        if not crs.is_projected or not units <= {"metre", "meter"}:
            raise BadInputError(
                f"--crs {override}: needs a projected CRS in metres",
                hint="for example a UTM zone such as EPSG:32617",
            )
        return projection_for(crs)
    if len(lon) == 0:
        raise BadInputError(
            "no incidents to place", hint="import some with 'ctip import incidents'"
        )
    west, east = float(np.min(lon)), float(np.max(lon))
    south, north = float(np.min(lat)), float(np.max(lat))
    centre_lon, centre_lat = (west + east) / 2, (south + north) / 2
    if east - west <= 6 and south >= -80 and north <= 84:
        zone = int((centre_lon + 180) // 6) % 60 + 1
        return projection_for(CRS.from_epsg((32600 if centre_lat >= 0 else 32700) + zone))
    return projection_for(
        CRS.from_proj4(
            f"+proj=laea +lat_0={centre_lat:.4f} +lon_0={centre_lon:.4f} +datum=WGS84 +units=m"
        )
    )


def convex_hull(x: FloatArray, y: FloatArray, margin: float = 1.0) -> BaseGeometry:
    """The convex hull of the points, grown by ``margin`` metres so edge points lie inside."""
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
    return shapely.buffer(hull, margin, quad_segs=2)


def read_boundary(path: Path, projection: LocalProjection) -> BaseGeometry:
    """A GeoJSON polygon (geometry, feature or collection of them) in longitude/latitude."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInputError(f"{path}: no such file", hint="check the --boundary path") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{path}: not GeoJSON ({exc})", hint="give a GeoJSON polygon") from exc
    geometries = _geometries(data)
    try:
        parts = [shape(g) for g in geometries]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise BadInputError(f"{path}: a geometry cannot be read ({exc})") from exc
    polygons = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise BadInputError(f"{path}: no Polygon or MultiPolygon in the file")
    merged = shapely.union_all(polygons)
    lon_lat = shapely.get_coordinates(merged)
    if np.abs(lon_lat[:, 0]).max() > 180 or np.abs(lon_lat[:, 1]).max() > 90:
        raise BadInputError(
            f"{path}: coordinates are not longitude/latitude", hint="GeoJSON must be WGS84"
        )
    area = shapely.make_valid(projection.geometry_to_metres(merged))
    if area.is_empty or area.area <= 0:
        raise BadInputError(f"{path}: the boundary has no area")
    return area


def _geometries(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return []
    kind = data.get("type")
    if kind == "FeatureCollection":
        return [g for f in data.get("features", []) for g in _geometries(f)]
    if kind == "Feature":
        return _geometries(data.get("geometry"))
    if kind == "GeometryCollection":
        return [g for part in data.get("geometries", []) for g in _geometries(part)]
    return [data] if isinstance(kind, str) else []

"""Inline SVG maps drawn from the data's own geometry: no tiles, no external URLs.

Shapes come in projected metres (the study's local projection), so the map keeps true shapes and
distances; a scale bar says how far a kilometre is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ctip.spatial.geometry import LocalProjection
from ctip.spatial.grid import Grid

WIDTH = 640.0
MARGIN = 10.0
HOT_COLOURS = {
    "hot 99%": "#b2182b",
    "hot 95%": "#ef8a62",
    "hot 90%": "#fddbc7",
    "cold 90%": "#d1e5f0",
    "cold 95%": "#67a9cf",
    "cold 99%": "#2166ac",
}
RISK_COLOURS = ("#fee5d9", "#fcae91", "#fb6a4a", "#cb181d")


@dataclass(frozen=True)
class Shape:
    geometry: BaseGeometry  # projected metres
    fill: str
    title: str


class Frame:
    """Maps projected metres to SVG pixels (y flipped), fitting ``bounds`` into WIDTH."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        minx, miny, maxx, maxy = bounds
        self.minx, self.maxy = minx, maxy
        span = max(maxx - minx, 1.0)
        self.scale = (WIDTH - 2 * MARGIN) / span
        self.height = (maxy - miny) * self.scale + 2 * MARGIN + 30

    def path(self, geometry: BaseGeometry) -> str:
        parts: list[str] = []
        for polygon in shapely.get_parts(geometry):
            if polygon.geom_type != "Polygon":
                continue
            for ring in [polygon.exterior, *polygon.interiors]:
                coords = np.asarray(ring.coords)
                px = MARGIN + (coords[:, 0] - self.minx) * self.scale
                py = MARGIN + (self.maxy - coords[:, 1]) * self.scale
                points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
                parts.append(f"M{points}Z")
        return " ".join(parts)


def map_svg(
    area: BaseGeometry,
    shapes: Sequence[Shape],
    legend: Sequence[tuple[str, str]],
    *,
    label: str,
) -> str:
    """An SVG map: the study area's outline, the coloured cells, a legend and a scale bar."""
    frame = Frame(area.bounds)
    body = [f'<path d="{frame.path(area)}" fill="#f4f4f2" stroke="#888" stroke-width="1"/>']
    for shape in shapes:
        body.append(
            f'<path d="{frame.path(shape.geometry)}" fill="{shape.fill}" stroke="none">'
            f"<title>{escape(shape.title)}</title></path>"
        )
    y = frame.height - 22
    x = MARGIN
    for name, colour in legend:
        body.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="12" height="12" fill="{colour}"/>')
        body.append(f'<text x="{x + 16:.0f}" y="{y + 10:.0f}" font-size="11">{escape(name)}</text>')
        x += 22 + 6.5 * len(name)
    kilometre = 1000.0 * frame.scale
    bar = kilometre * max(1, round(80 / max(kilometre, 1e-9)))
    kms = bar / kilometre
    body.append(
        f'<line x1="{WIDTH - MARGIN - bar:.1f}" y1="{y + 6:.0f}" x2="{WIDTH - MARGIN:.1f}"'
        f' y2="{y + 6:.0f}" stroke="#333" stroke-width="2"/>'
        f'<text x="{WIDTH - MARGIN - bar:.1f}" y="{y - 2:.0f}" font-size="10">{kms:g} km</text>'
    )
    return (
        f'<svg width="{WIDTH:.0f}"'
        f' height="{frame.height:.0f}" viewBox="0 0 {WIDTH:.0f} {frame.height:.0f}"'
        f' role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>"
    )


def hotspot_map_svg(
    grid: Grid,
    rows: Sequence[dict[str, Any]],
    *,
    title: Callable[[dict[str, Any]], str],
    label: str,
) -> str:
    """The Gi* hot and cold spot map of ``run_hotspots`` rows, each cell's tooltip by ``title``.

    The report and the web map page draw the same map, so the colours and the legend live in
    one place and the two cannot drift apart; only the tooltip text differs between them.
    """
    index = {cell_id: i for i, cell_id in enumerate(grid.ids)}
    shapes = [
        Shape(grid.polygons[index[row["cell_id"]]], HOT_COLOURS[row["class"]], title(row))
        for row in rows
        if row["class"] in HOT_COLOURS
    ]
    return map_svg(grid.area_geometry, shapes, list(HOT_COLOURS.items()), label=label)


def forecast_risk_shapes(
    projection: LocalProjection, cells: Sequence[dict[str, Any]]
) -> list[Shape]:
    """Stored forecast cells (``forecast_cells`` rows in rank order) as shapes coloured by
    rank quarter, darkest for the highest risk.

    Shared by the report and the web map page so that a forecast looks the same in both; the
    cells' WGS84 GeoJSON goes back to the study's projected metres that ``map_svg`` draws in.
    """
    count = max(len(cells), 1)
    shapes = []
    for cell in cells:
        geometry = projection.geometry_to_metres(shapely.from_geojson(cell["geometry"]))
        band = min(3, int(4 * (cell["rank"] - 1) / count))
        shapes.append(
            Shape(
                geometry,
                RISK_COLOURS[3 - band],
                f"#{cell['rank']} {cell['cell_id']}: {cell['expected']:.2f} expected"
                f" (90% {cell['low']}-{cell['high']})",
            )
        )
    return shapes

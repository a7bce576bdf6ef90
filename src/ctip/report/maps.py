"""World choropleths in SVG from Natural Earth boundaries, in the Equal Earth projection.

Equal-area, so a large country is not made to look more affected than it is. Counts are binned
into quantile classes; counts below the protection threshold get their own class ("fewer than
k") and never show a number.
"""

from __future__ import annotations

from functools import cache
from html import escape

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from ctip.geo.world import ATTRIBUTION, countries, country_shapes

CLASS_COLOURS = ("#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08306b")
SMALL_COLOUR = "#fdd0a2"
NO_DATA = "#f2f2f2"
WIDTH, HEIGHT = 960, 470


@cache
def _projected() -> dict[str, tuple[str, tuple[float, float, float, float]]]:
    """ISO2 -> (SVG path in projected metres, bounds), computed once per process."""
    transformer = Transformer.from_crs("EPSG:4326", "+proj=eqearth", always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    result: dict[str, tuple[str, tuple[float, float, float, float]]] = {}
    for code, geometry in country_shapes().items():
        projected = shapely.transform(geometry, project)
        result[code] = (_path(projected), projected.bounds)
    return result


def _ring(coords: list[tuple[float, float]]) -> str:
    return "M" + "L".join(f"{x / 1e4:.0f},{-y / 1e4:.0f}" for x, y in coords) + "Z"


def _path(geometry: BaseGeometry) -> str:
    polygons = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
    parts = []
    for polygon in polygons:
        if isinstance(polygon, Polygon):
            parts.append(_ring(list(polygon.exterior.coords)))
            parts.extend(_ring(list(ring.coords)) for ring in polygon.interiors)
    return "".join(parts)


def _breaks(values: list[int], classes: int) -> list[int]:
    ordered = sorted(values)
    if not ordered:
        return []
    return sorted(
        {ordered[min(len(ordered) - 1, int(len(ordered) * q / classes))] for q in range(1, classes)}
    )


def choropleth(counts: dict[str, int], *, title: str, threshold: int, exact: bool) -> str:
    """A world map shading each country by its count."""
    shapes = _projected()
    if not shapes:
        return '<p class="empty">No map data.</p>'
    shown = {c: v for c, v in counts.items() if v > 0}
    large = [v for v in shown.values() if exact or v >= threshold]
    breaks = _breaks(large, len(CLASS_COLOURS))
    names = countries()
    paths = []
    for code, (path, _) in shapes.items():
        value = shown.get(code)
        label = names[code].name if code in names else code
        if value is None:
            colour, text = NO_DATA, "no records"
        elif not exact and value < threshold:
            colour, text = SMALL_COLOUR, f"fewer than {threshold}"
        else:
            colour = CLASS_COLOURS[sum(1 for b in breaks if value >= b)]
            text = f"{value:,}"
        paths.append(
            f'<path d="{path}" fill="{colour}" stroke="#fff" stroke-width="3">'
            f"<title>{escape(label)}: {escape(text)}</title></path>"
        )
    legend_items = [(SMALL_COLOUR, f"1-{threshold - 1}")] if not exact else []
    edges = [threshold if not exact else 1, *breaks]
    for index, colour in enumerate(CLASS_COLOURS[: len(edges)]):
        upper = f"-{edges[index + 1] - 1:,}" if index + 1 < len(edges) else "+"
        legend_items.append((colour, f"{edges[index]:,}{upper}"))
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{c}"></span>{escape(t)}</span>'
        for c, t in legend_items
    )
    unplaced = sum(v for c, v in shown.items() if c not in shapes)
    footer = f" {unplaced:,} records name places not on the map." if unplaced else ""
    return (
        f'<figure><svg class="map" role="img" viewBox="-1750 -900 3500 1700" width="100%"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<rect x="-1750" y="-900" width="3500" height="1700" fill="#fbfdff"/>{"".join(paths)}</svg>'
        f'<figcaption><div class="legend">{legend}<span class="key">'
        f'<span class="swatch" style="background:{NO_DATA}"></span>no records</span></div>'
        f"{escape(ATTRIBUTION)}.{escape(footer)}</figcaption></figure>"
    )

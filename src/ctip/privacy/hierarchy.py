"""Generalisation hierarchies for quasi-identifiers, as CTDC uses them.

A hierarchy turns a value into ever coarser versions of itself, level by level, up to ``*``
(fully suppressed): an age 23 becomes the band 21--23, then 18--29, then "adult"; a country
becomes its UN subregion, then its UN region; a year becomes 2015-2016, then 2015-2019, then
2010-2019. Missing values stay missing at every level below ``*`` (not knowing is itself a
value, and it is counted like one).

Which hierarchy a column gets is guessed from its name and values (``--hierarchy COL:KIND``
overrides): ``age`` (whole years), ``age-band`` (CTDC's bands such as ``18--20``), ``place``
(ISO 3166 alpha-2 codes), ``year``, ``category`` (anything else: the value, then ``*``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ctip.errors import BadInputError
from ctip.geo.world import region_of

SUPPRESSED = "*"
CTDC_BANDS = ("0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+")
WIDE_BANDS = {"0--8": "0--17", "9--17": "0--17", "18--20": "18--29", "21--23": "18--29",
              "24--26": "18--29", "27--29": "18--29", "30--38": "30--47", "39--47": "30--47",
              "48+": "48+"}  # fmt: skip
MINOR_BANDS = {"0--8", "9--17", "0--17"}
KINDS = ("age", "age-band", "place", "year", "category")


@dataclass(frozen=True)
class Hierarchy:
    """Levels 0 (the value) .. ``height`` (``*``) for one column."""

    kind: str
    names: tuple[str, ...]  # one label per level, e.g. ("country", "subregion", "region", "*")
    generalise: Callable[[str, int], str]

    @property
    def height(self) -> int:
        return len(self.names) - 1

    def apply(self, value: str | None, level: int) -> str | None:
        if level >= self.height:
            return SUPPRESSED
        if value is None or value == "":
            return None
        if level == 0:
            return value
        return self.generalise(value, level)


def _age(value: str, level: int) -> str:
    try:
        age = int(float(value))
    except ValueError:
        return value
    if level == 1:
        low = age // 5 * 5
        return f"{low}--{low + 4}"
    band = _band_of_age(age)
    if level == 2:
        return band
    if level == 3:
        return WIDE_BANDS[band]
    return "minor" if age < 18 else "adult"


def _band_of_age(age: int) -> str:
    for band in CTDC_BANDS[:-1]:
        low, high = (int(x) for x in band.split("--"))
        if low <= age <= high:
            return band
    return "48+"


def _age_band(value: str, level: int) -> str:
    if level == 1:
        return WIDE_BANDS.get(value, value)
    return "minor" if value in MINOR_BANDS or WIDE_BANDS.get(value) == "0--17" else "adult"


def _place(value: str, level: int) -> str:
    parts = [p for p in value.split(";") if p]
    names = sorted(
        {region_of(p, "subregion" if level == 1 else "region") or "unknown place" for p in parts}
    )
    return ";".join(names)


def _year(value: str, level: int) -> str:
    try:
        year = int(float(value))
    except ValueError:
        return value
    width = (2, 5, 10)[level - 1]
    low = year // width * width
    return f"{low}-{low + width - 1}"


def _category(value: str, level: int) -> str:
    return value


HIERARCHIES: dict[str, Hierarchy] = {
    "age": Hierarchy(
        "age", ("age", "5-year band", "CTDC band", "wide band", "minor/adult", "*"), _age
    ),
    "age-band": Hierarchy("age-band", ("band", "wide band", "minor/adult", "*"), _age_band),
    "place": Hierarchy("place", ("country", "UN subregion", "UN region", "*"), _place),
    "year": Hierarchy("year", ("year", "2 years", "5 years", "decade", "*"), _year),
    "category": Hierarchy("category", ("value", "*"), _category),
}


def guess_kind(column: str, values: Sequence[str | None]) -> str:
    """The hierarchy a column's name and values suggest."""
    name = column.lower()
    present = [v for v in values if v][:2000]
    if re.search(r"age.?broad|age.?band|age_group", name) or (
        present and all(v in CTDC_BANDS or v in WIDE_BANDS.values() for v in present)
    ):
        return "age-band"
    if re.search(r"(^|_)age($|_)|age_when|^age", name) and _numeric(present):
        return "age"
    if re.search(r"year|period", name) and _numeric(present):
        return "year"
    if re.search(r"citizenship|nationality|country|place|origin|destination", name) or (
        present and all(re.fullmatch(r"[A-Z]{2}(;[A-Z]{2})*", v) for v in present)
    ):
        return "place"
    return "category"


def _numeric(values: Sequence[str]) -> bool:
    try:
        for value in values:
            float(value)
    except ValueError:
        return False
    return bool(values)


def parse_hierarchy_specs(specs: Sequence[str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for spec in specs:
        for part in spec.split(","):
            if not part.strip():
                continue
            column, _, kind = part.partition(":")
            if kind.strip() not in KINDS:
                raise BadInputError(
                    f"--hierarchy {part}: unknown kind '{kind}'", hint="kinds: " + ", ".join(KINDS)
                )
            chosen[column.strip()] = kind.strip()
    return chosen

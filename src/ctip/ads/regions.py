"""Which numbering plans an ad's numbers may follow, from the places it names.

A number written without its country code can only be read against a national plan. The
default region (``--region``, US unless told) comes first; places the ad names (its location
field, title, body or listing URL: "Melbourne escorts", "london.backpage.com") add fallback
regions, used only for numbers that are not valid in the default region.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import pycountry
import yaml

from ctip.ads.normalize import fold

MAX_HINTS = 3


@cache
def _places() -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    data = yaml.safe_load(resources.files("ctip.ads.data").joinpath("places.yaml").read_text())
    for region, names in data.items():
        for name in names:
            table[str(name)] = str(region)
    for country in pycountry.countries:
        for attr in ("name", "common_name"):
            value = getattr(country, attr, None)
            if value and len(value) > 4:
                table.setdefault(fold(value), country.alpha_2)
    names = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(n) for n in names) + r")(?![a-z])")
    return pattern, table


def region_hints(*texts: str, default: str = "US") -> tuple[str, ...]:
    """The default region, then up to three other regions named in ``texts``, in order."""
    pattern, table = _places()
    regions = [default]
    for text in texts:
        if not text:
            continue
        for match in pattern.finditer(fold(text)):
            region = table[match.group()]
            if region not in regions:
                regions.append(region)
                if len(regions) > MAX_HINTS:
                    return tuple(regions)
    return tuple(regions)

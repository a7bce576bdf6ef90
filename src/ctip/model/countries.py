"""Countries (ISO 3166-1) and languages (ISO 639) from pycountry, with the few extra codes
trafficking data uses in practice (XK for Kosovo, a user-assigned code most agencies use)."""

from __future__ import annotations

from functools import cache

import pycountry

from ctip.model.resources import load_yaml

EXTRA_COUNTRIES = {"XK": ("XKX", "Kosovo")}


@cache
def country_codes() -> frozenset[str]:
    """All valid ISO 3166-1 alpha-2 codes (plus XK)."""
    return frozenset({c.alpha_2 for c in pycountry.countries} | set(EXTRA_COUNTRIES))


@cache
def alpha3_to_alpha2() -> dict[str, str]:
    table = {c.alpha_3: c.alpha_2 for c in pycountry.countries}
    table.update({alpha3: alpha2 for alpha2, (alpha3, _) in EXTRA_COUNTRIES.items()})
    return table


@cache
def country_names() -> dict[str, str]:
    """alpha-2 code -> common English name."""
    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    names.update({alpha2: name for alpha2, (_, name) in EXTRA_COUNTRIES.items()})
    return names


@cache
def country_name_lookup() -> dict[str, str]:
    """Lower-cased English names (official, common, short) -> alpha-2, for lenient parsing."""
    lookup: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                lookup[value.lower()] = country.alpha_2
    for alpha2, (_, name) in EXTRA_COUNTRIES.items():
        lookup[name.lower()] = alpha2
    for alias, alpha2 in load_yaml("ctip.model.data", "country-aliases.yaml").items():
        lookup.setdefault(str(alias).lower(), str(alpha2))
    return lookup


@cache
def language_codes() -> frozenset[str]:
    """ISO 639-1 two-letter and ISO 639-2/3 three-letter codes."""
    codes: set[str] = set()
    for language in pycountry.languages:
        for attr in ("alpha_2", "alpha_3", "bibliographic"):
            value = getattr(language, attr, None)
            if value:
                codes.add(value)
    return frozenset(codes)


def country_name(code: str | None) -> str | None:
    if code is None:
        return None
    return country_names().get(code, code)

"""Cleaners for the cells of transaction exports: amounts, times, column names.

As elsewhere in CTIP a cleaner returns ``None`` for a value it cannot read and the caller
records why; nothing is guessed. Exports differ in small ways that are not errors: Unix seconds
or milliseconds, ISO dates with or without a zone (UTC when none is given, as explorers do),
amounts with thousands separators, and base units (satoshi, wei) instead of coins.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ctip.errors import BadInputError

DECIMALS = {"btc": 8, "ltc": 8, "bch": 8, "doge": 8, "trx": 6}
EVM_DECIMALS = 18
_UNIX = re.compile(r"^\d{9,13}(\.\d+)?$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def decimals_for(chain: str) -> int:
    return DECIMALS.get(chain, EVM_DECIMALS)


def parse_amount(text: str, scale: float = 1.0) -> float | None:
    """A non-negative amount in coin units; ``scale`` converts base units (10**-decimals)."""
    cleaned = text.strip()
    if _THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if value != value or value < 0 or value == float("inf"):
        return None
    return value * scale


def parse_time(text: str) -> float | None:
    """Seconds since the epoch, from Unix seconds/milliseconds or an ISO 8601 date-time."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if _UNIX.match(cleaned):
        value = float(cleaned)
        return value / 1000 if value > 1e11 else value
    cleaned = cleaned.removesuffix(" UTC").removesuffix("UTC").strip()
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def find_column(
    columns: list[str], chosen: str | None, aliases: tuple[str, ...], *, what: str, path: str
) -> str | None:
    """The file column for a field: the one named by a flag, else the first alias present."""
    by_normal = {normalise(c): c for c in columns}
    if chosen is not None:
        if chosen in columns:
            return chosen
        found = by_normal.get(normalise(chosen))
        if found is None:
            raise BadInputError(
                f"{path}: no column '{chosen}' for {what}",
                hint=f"the columns are: {', '.join(columns[:30])}",
            )
        return found
    for alias in aliases:
        if alias in by_normal:
            return by_normal[alias]
    return None

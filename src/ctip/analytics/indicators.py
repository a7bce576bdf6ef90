"""Country indicator series: UNODC GLOTIP, US TIP report tiers and the 3P policy index, FBI UCR
human-trafficking offences, and Polaris hotline state totals.

Each source has a small reader that turns its rows into series points
(source, indicator, place, year, value, breakdown). Places are ISO 3166-1 alpha-2 countries or
ISO 3166-2 US states (``US-TX``). Values that a source publishes as text ("<5") keep the text
and get no number. Every point keeps its provenance; a file imported twice adds nothing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pycountry

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError
from ctip.model.countries import alpha3_to_alpha2, country_name_lookup

TIERS = {"tier 1": 1.0, "tier 2": 2.0, "watchlist": 2.5, "tier 2 watchlist": 2.5, "tier 3": 3.0}
US_STATES = {s.code.split("-")[1]: s.name for s in pycountry.subdivisions if s.country_code == "US"}
STATE_BY_NAME = {name.lower(): code for code, name in US_STATES.items()}


@dataclass
class Point:
    row_number: int
    indicator: str
    place: str
    place_name: str | None
    year: int
    value: float | None
    value_text: str | None
    unit: str | None = None
    breakdown: str | None = None


@dataclass
class Skipped:
    """A row with nothing to record (e.g. a country not yet in that year's report)."""

    row_number: int


@dataclass
class Rejected:
    row_number: int
    raw: dict[str, str]
    reason: str


@dataclass
class IndicatorReport:
    import_id: str
    kind: str
    source: str
    file: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    empty: int = 0
    places: int = 0
    years: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rows(data: bytes, header_prefix: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for a CSV whose header may follow title lines."""
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    start = 0
    if header_prefix is not None:
        start = next((i for i, line in enumerate(lines) if line.startswith(header_prefix)), -1)
        if start < 0:
            raise BadInputError(f"no header row starting with '{header_prefix}'")
    reader = csv.DictReader(io.StringIO("\n".join(lines[start:])))
    for offset, row in enumerate(reader):
        yield start + offset + 2, {k.strip(): (v or "").strip() for k, v in row.items() if k}


def _number(text: str) -> float | None:
    cleaned = text.replace(",", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        return None


def _country(code_or_name: str) -> str | None:
    text = code_or_name.strip()
    if len(text) == 3:
        found = alpha3_to_alpha2().get(text.upper())
        if found:
            return found
    found = country_name_lookup().get(text.lower())
    if found:
        return found
    try:
        return str(pycountry.countries.search_fuzzy(text)[0].alpha_2)
    except LookupError:
        return None


def _year(text: str) -> int | None:
    number = _number(text)
    return int(number) if number is not None and 1900 <= number <= 2100 else None


Item = Point | Rejected | Skipped
Reader = Callable[[bytes], Iterator[Item]]


def read_glotip(data: bytes) -> Iterator[Item]:
    for number, row in _rows(data, "Iso3_code"):
        place, year = _country(row.get("Iso3_code", "")), _year(row.get("Year", ""))
        if place is None or year is None:
            yield Rejected(number, row, "unknown country" if place is None else "no valid year")
            continue
        parts = []
        if row.get("Dimension", "Total") != "Total":
            parts.append(f"{row['Dimension'].removeprefix('by ')}: {row.get('Category', '')}")
        parts.extend(row[k] for k in ("Sex", "Age") if row.get(k, "Total") != "Total")
        text = row.get("txtVALUE", "")
        yield Point(
            number,
            row.get("Indicator", ""),
            place,
            row.get("Country"),
            year,
            _number(text),
            text,
            row.get("Unit of measurement"),
            "; ".join(parts) or None,
        )


def read_tip_tiers(data: bytes) -> Iterator[Item]:
    for number, row in _rows(data):
        name = row.get("countryname", "")
        place = _country(row.get("iso") or name)
        year = _year(row.get("year", "2015"))
        tier_text = row.get("tier", "").strip()
        if place is None or year is None:
            yield Rejected(number, row, "unknown country" if place is None else "no valid year")
            continue
        if tier_text in ("", "NA"):
            yield Skipped(number)  # not yet in the report that year: no point, not an error
            continue
        key = (
            tier_text.lower()
            if tier_text.lower().startswith(("tier", "watch"))
            else f"tier {tier_text}"
        )
        value = TIERS.get(key.replace("  ", " "))
        yield Point(number, "US TIP report tier", place, name, year, value, tier_text, "tier")


def read_policy_index(data: bytes) -> Iterator[Item]:
    for number, row in _rows(data):
        place, year = (
            _country(row.get("iso") or row.get("countryname", "")),
            _year(row.get("year", "")),
        )
        if place is None or year is None:
            yield Rejected(number, row, "unknown country" if place is None else "no valid year")
            continue
        for column, indicator in (
            ("p", "3P policy index"),
            ("prosecution", "3P prosecution"),
            ("prevention", "3P prevention"),
            ("protection", "3P protection"),
        ):
            value = _number(row.get(column, ""))
            if value is not None:
                yield Point(
                    number, indicator, place, row.get("countryname"), year, value, None, "score"
                )


def read_fbi_ucr(data: bytes) -> Iterator[Item]:
    for number, row in _rows(data):
        state = row.get("STATE_ABBR", "").upper()
        if state not in US_STATES:  # UCR uses a few old abbreviations (NB for Nebraska)
            state = STATE_BY_NAME.get(row.get("STATE_NAME", "").lower(), state)
        year = _year(row.get("DATA_YEAR", ""))
        count = _number(row.get("ACTUAL_COUNT", ""))
        if state not in US_STATES or year is None or count is None:
            yield Rejected(
                number, row, "unknown US state" if state not in US_STATES else "no year or count"
            )
            continue
        yield Point(
            number,
            "Human trafficking offences (UCR)",
            f"US-{state}",
            US_STATES[state],
            year,
            count,
            None,
            "offences",
            row.get("OFFENSE_SUBCAT_NAME") or None,
        )


def read_polaris(data: bytes) -> Iterator[Item]:
    for number, row in _rows(data):
        state, year = row.get("postal", "").upper(), _year(row.get("Year_Date", ""))
        if state not in US_STATES or year is None:
            yield Rejected(
                number, row, "unknown US state" if state not in US_STATES else "no valid year"
            )
            continue
        for column, indicator in (("Calls", "Hotline calls"), ("Cases_Reported", "Hotline cases")):
            value = _number(row.get(column, ""))
            if value is not None:
                yield Point(
                    number, indicator, f"US-{state}", US_STATES[state], year, value, None, "count"
                )


SOURCES: dict[str, tuple[str, Reader, tuple[str, ...]]] = {
    # kind: (source name, reader, header words that identify it)
    "glotip": ("UNODC GLOTIP", read_glotip, ("Iso3_code", "txtVALUE")),
    "tip-tiers": ("US TIP report", read_tip_tiers, ("countryname", "tier")),
    "policy-index": (
        "3P anti-trafficking policy index",
        read_policy_index,
        ("prosecution", "prevention"),
    ),
    "fbi-ucr": ("FBI UCR", read_fbi_ucr, ("DATA_YEAR", "ACTUAL_COUNT")),
    "polaris": ("Polaris hotline", read_polaris, ("Calls", "Cases_Reported")),
}


def detect_kind(head: str) -> str | None:
    for kind, (_, _, words) in sorted(SOURCES.items(), key=lambda item: -len(item[1][2])):
        if all(word in head for word in words):
            if kind == "tip-tiers" and "prosecution" in head:
                continue
            return kind
    return None


def import_indicators(
    engine: DuckDBEngine, path: Path, kind: str | None = None, source: str | None = None
) -> IndicatorReport:
    if not path.exists():
        raise BadInputError(f"{path}: no such file")
    raw = path.read_bytes()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    kind = kind or detect_kind(data[:4000].decode("utf-8", errors="ignore"))
    if kind not in SOURCES:
        raise BadInputError(
            f"{path}: cannot tell which indicator source this is",
            hint=f"pass --kind {'|'.join(SOURCES)}",
        )
    name, reader, _ = SOURCES[kind]
    sha = hashlib.sha256(raw).hexdigest()
    report = IndicatorReport("ind-" + uuid.uuid4().hex[:12], kind, source or name, path.name)
    items = list(reader(data))
    rows = {item.row_number for item in items}
    report.read = len(rows)
    if engine.scalar("SELECT count(*) FROM indicator_series WHERE file_sha256 = ?", [sha]):
        report.duplicates = report.read
        return report
    points = [i for i in items if isinstance(i, Point)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    now = datetime.now(UTC)
    with engine.transaction():
        if points:
            table = pa.table(
                {
                    "source": [report.source] * len(points),
                    "indicator": [p.indicator for p in points],
                    "place": [p.place for p in points],
                    "place_name": [p.place_name for p in points],
                    "year": pa.array([p.year for p in points], pa.int32()),
                    "value": pa.array([p.value for p in points], pa.float64()),
                    "value_text": [p.value_text for p in points],
                    "unit": [p.unit for p in points],
                    "breakdown": [p.breakdown for p in points],
                    "row_number": pa.array([p.row_number for p in points], pa.int64()),
                }
            )
            engine.register("_ctip_points", table)
            engine.sql(
                "INSERT INTO indicator_series SELECT source, indicator, place, place_name, year,"
                " value, value_text, unit, breakdown, ?, ?, row_number, ? FROM _ctip_points",
                [report.import_id, sha, now],
            )
            engine.unregister("_ctip_points")
        for item in rejected:
            engine.sql(
                "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
                " row_number, raw, errors, quarantined_at) VALUES (?, 'indicators', ?, ?, ?, ?,"
                " ?, [{'column': NULL, 'field': NULL, 'value': NULL, 'reason': ?}], ?)",
                [
                    f"q-{sha[:12]}-{item.row_number}",
                    report.import_id,
                    report.source,
                    sha,
                    item.row_number,
                    json.dumps(item.raw, ensure_ascii=False),
                    item.reason,
                    now,
                ],
            )
    report.quarantined = len({r.row_number for r in rejected})
    report.empty = len({i.row_number for i in items if isinstance(i, Skipped)})
    report.loaded = report.read - report.quarantined  # empty rows are read and accepted
    report.places = len({p.place for p in points})
    years = sorted({p.year for p in points})
    report.years = [years[0], years[-1]] if years else []
    return report


def series(
    engine: DuckDBEngine, place: str, *, indicator: str | None = None, source: str | None = None
) -> list[dict[str, Any]]:
    """Yearly totals of each indicator for one place (breakdowns excluded)."""
    conditions = ["place = ?", "breakdown IS NULL OR source = 'FBI UCR'"]
    params: list[Any] = [place]
    if indicator:
        conditions.append("lower(indicator) = lower(?)")
        params.append(indicator)
    if source:
        conditions.append("lower(source) LIKE lower(?)")
        params.append(f"%{source}%")
    return engine.records(
        "SELECT source, indicator, year, sum(value) AS value, string_agg(DISTINCT value_text, ', ')"
        " FILTER (WHERE value IS NULL) AS value_text, any_value(unit) AS unit FROM indicator_series"
        f" WHERE ({') AND ('.join(conditions)}) GROUP BY ALL ORDER BY source, indicator, year",
        params,
    )

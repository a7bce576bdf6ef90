"""Cleaners: turn one messy text value into a typed value, or say why it cannot.

As in FollowTheMoney's cleaners, a cleaner returns ``Cleaned(value, reason)``: ``reason`` is
``None`` when the text was read (``value`` may then be ``None`` for "not recorded"), and a short
explanation when it was not. Cleaners never raise for bad data. The importer calls them once per
*distinct* value of a column, so they can be plain Python and still fast.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from ctip.model.codes import load_code_lists
from ctip.model.countries import (
    alpha3_to_alpha2,
    country_codes,
    country_name_lookup,
    language_codes,
)
from ctip.model.fields import FieldSpec


@dataclass(frozen=True)
class Cleaned:
    value: Any
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


MISSING = Cleaned(None)
Cleaner = Callable[[str], Cleaned]


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


@cache
def code_lookup(code_list: str) -> dict[str, str]:
    """Every spelling of a code a person might write -> the code."""
    codes = load_code_lists()[code_list]
    table: dict[str, str] = {entry.code: entry.code for entry in codes.codes}
    for spelling, code in codes.lenient_lookup().items():
        table.setdefault(spelling, code)
        table.setdefault(_squash(spelling), code)
    return table


def allowed_text(spec: FieldSpec) -> str:
    """How the allowed values of a field are described in an error message."""
    if spec.type in ("country", "countries"):
        return "an ISO 3166 country code or name"
    if spec.type == "language":
        return "an ISO 639 language code"
    if spec.code_list is not None:
        codes = load_code_lists()[spec.code_list].values()
        shown = ", ".join(codes[:8]) + (", ..." if len(codes) > 8 else "")
        article = "an" if spec.code_list[0] in "aeiou" else "a"
        return f"{article} {spec.code_list} code ({shown})"
    return "a valid value"


def _number_text(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


class CleanerFactory:
    """Builds the cleaner for one field from the mapping's settings."""

    def __init__(
        self,
        *,
        true_values: Iterable[str],
        false_values: Iterable[str],
        date_formats: Iterable[str],
        today: date | None = None,
    ) -> None:
        self.true_values = {v.lower() for v in true_values}
        self.false_values = {v.lower() for v in false_values}
        self.date_formats = list(date_formats)
        self.today = today or date.today()

    # --- scalars -----------------------------------------------------------------------------

    def flag(self, text: str) -> Cleaned:
        lowered = text.lower()
        if lowered in self.true_values:
            return Cleaned(True)
        if lowered in self.false_values:
            return Cleaned(False)
        return Cleaned(None, "not a yes/no flag (use 1 or 0, or -99 for unknown)")

    def boolean(self, text: str) -> Cleaned:
        result = self.flag(text)
        if result.ok:
            return result
        return Cleaned(None, "not yes/no (use 1 or 0, true or false, yes or no)")

    def number(self, spec: FieldSpec, *, whole: bool) -> Cleaner:
        low, high = spec.minimum, spec.maximum
        range_text = f"outside the range {_number_text(low)} to {_number_text(high)}"
        is_year = spec.name == "year_of_registration"

        def clean(text: str) -> Cleaned:
            try:
                number = float(text)
            except ValueError:
                return Cleaned(None, "not a whole number" if whole else "not a number")
            if math.isnan(number) or math.isinf(number):
                return Cleaned(None, "not a number")
            if whole and not number.is_integer():
                return Cleaned(None, "not a whole number")
            if is_year and number > self.today.year:
                return Cleaned(None, "in the future")
            if (low is not None and number < low) or (high is not None and number > high):
                return Cleaned(None, range_text)
            return Cleaned(int(number) if whole else number)

        return clean

    def date(self, formats: list[str] | None) -> Cleaner:
        chosen = formats or self.date_formats
        description = "not a date in the format " + " or ".join(chosen)

        def clean(text: str) -> Cleaned:
            for fmt in chosen:
                try:
                    parsed = datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
                if parsed > self.today:
                    return Cleaned(None, "in the future")
                return Cleaned(parsed)
            return Cleaned(None, description)

        return clean

    def code(self, spec: FieldSpec, values: dict[str, str]) -> Cleaner:
        reason = f"not {allowed_text(spec)}"
        if spec.type in ("country", "countries"):
            codes, alpha3, names = country_codes(), alpha3_to_alpha2(), country_name_lookup()

            def lookup(text: str) -> str | None:
                upper = text.upper()
                if upper in codes:
                    return upper
                return alpha3.get(upper) or names.get(text.lower())

        elif spec.type == "language":
            languages = language_codes()

            def lookup(text: str) -> str | None:
                lowered = text.lower()
                return lowered if lowered in languages else None

        elif spec.code_list is not None:
            table = code_lookup(spec.code_list)

            def lookup(text: str) -> str | None:
                return table.get(text) or table.get(text.lower()) or table.get(_squash(text))

        else:

            def lookup(text: str) -> str | None:
                return text

        def clean(text: str) -> Cleaned:
            if text in values:
                return Cleaned(values[text])
            found = lookup(text)
            return Cleaned(found) if found is not None else Cleaned(None, reason)

        return clean

    def scalar(self, spec: FieldSpec, values: dict[str, str], formats: list[str] | None) -> Cleaner:
        """The cleaner for a single-valued field."""
        if spec.type == "text":
            return (lambda text: Cleaned(values.get(text, text))) if values else Cleaned
        if spec.type in ("integer", "number"):
            return self.number(spec, whole=spec.type == "integer")
        if spec.type == "date":
            return self.date(formats)
        if spec.type == "boolean":
            return self.boolean
        return self.code(spec, values)

    def items(self, spec: FieldSpec, values: dict[str, str], separator: str | None) -> Cleaner:
        """The cleaner for a list field: split, clean each item, dedupe and sort."""
        item = self.code(spec, values) if (spec.code_list or spec.type != "codes") else Cleaned
        each_reason = f"not {allowed_text(spec)} (each value)"

        def clean(text: str) -> Cleaned:
            parts = [p.strip() for p in text.split(separator)] if separator else [text]
            result: set[str] = set()
            for part in parts:
                if not part:
                    continue
                cleaned = item(part)
                if not cleaned.ok:
                    return Cleaned(None, each_reason)
                result.add(cleaned.value)
            return Cleaned(sorted(result))

        return clean

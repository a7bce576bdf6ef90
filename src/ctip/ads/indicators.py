"""The indicator catalogue (data) and ``screen``: which indicators a text shows, with evidence.

The catalogue lives in ``data/indicators.yaml`` with a version; every indicator names its
literature source, so an analyst can see why a cue is there. ``screen`` reads folded text (so
look-alike letters cannot hide a phrase), collects up to a few evidence spans per indicator in
the original text, and scores the result as ``1 - prod(1 - weight)``.

Flags are for human triage only. They order work for a person who reads the ad; they never
trigger an action by themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ctip.ads.contacts import find_ages
from ctip.ads.extract import Evidence, FieldText
from ctip.errors import BadInputError

MAX_EVIDENCE = 5
AD_FIELDS = ("title", "body")


@dataclass(frozen=True)
class Indicator:
    code: str
    domain: str
    applies_to: tuple[str, ...]
    description: str
    source: str
    weight: float
    pattern: re.Pattern[str] | None
    checks: Mapping[str, Any]


@dataclass(frozen=True)
class Catalogue:
    version: str
    indicators: tuple[Indicator, ...]

    def for_kind(self, kind: str) -> list[Indicator]:
        return [i for i in self.indicators if kind in i.applies_to]

    def get(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)


@dataclass
class Flag:
    code: str
    weight: float
    evidence: list[Evidence]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "weight": self.weight,
            "evidence": [e.as_dict() for e in self.evidence],
        }


@dataclass
class Screening:
    score: float
    flags: list[Flag] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "indicators": [f.as_dict() for f in self.flags]}


def score_of(weights: Sequence[float]) -> float:
    """1 - prod(1 - w): grows with independent cues, stays below 1."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return round(1.0 - remaining, 4)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The built-in catalogue, or one from ``path`` (same layout) for local additions."""
    if path is None:
        return _builtin()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadInputError(f"{path}: cannot read the indicator catalogue ({exc})") from exc
    return _parse(data, str(path))


@cache
def _builtin() -> Catalogue:
    text = resources.files("ctip.ads.data").joinpath("indicators.yaml").read_text("utf-8")
    return _parse(yaml.safe_load(text), "indicators.yaml")


def _parse(data: Any, origin: str) -> Catalogue:
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), list):
        raise BadInputError(f"{origin}: expected 'version' and a list of 'indicators'")
    indicators = []
    seen: set[str] = set()
    for position, item in enumerate(data["indicators"], start=1):
        code = str(item.get("code", ""))
        if not code or code in seen:
            raise BadInputError(f"{origin}: indicator {position} has a missing or repeated code")
        seen.add(code)
        patterns = [str(p) for p in item.get("patterns") or []]
        try:
            compiled = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        except re.error as exc:
            raise BadInputError(f"{origin}: indicator {code} has a bad pattern ({exc})") from exc
        weight = float(item.get("weight", 0))
        if not 0 < weight < 1:
            raise BadInputError(f"{origin}: indicator {code} needs a weight between 0 and 1")
        indicators.append(
            Indicator(
                code=code,
                domain=str(item.get("domain", "")),
                applies_to=tuple(item.get("applies_to") or ("ads",)),
                description=str(item.get("description", "")).strip(),
                source=str(item.get("source", "")).strip(),
                weight=weight,
                pattern=compiled,
                checks=dict(item.get("checks") or {}),
            )
        )
    return Catalogue(str(data.get("version", "unversioned")), tuple(indicators))


def screen(
    item: str | Mapping[str, Any],
    *,
    kind: str = "ads",
    catalogue: Catalogue | None = None,
    fields: Sequence[str] = AD_FIELDS,
    suppressed: frozenset[str] = frozenset(),
) -> Screening:
    """Screen one ad (mapping with title/body/age) or one message (a string).

    ``suppressed`` holds indicator codes an analyst rejected for this item: they are left out.
    """
    catalogue = catalogue or load_catalogue()
    record: Mapping[str, Any] = {"body": item} if isinstance(item, str) else item
    source = FieldText([(name, str(record.get(name) or "")) for name in fields])
    folded = source.folded.text
    ages: list[tuple[int, int, int]] | None = None
    flags: list[Flag] = []
    for indicator in catalogue.for_kind(kind):
        if indicator.code in suppressed:
            continue
        evidence: list[Evidence] = []
        if indicator.pattern is not None:
            for match in indicator.pattern.finditer(folded):
                evidence.extend(source.evidence(match.start(), match.end()))
                if len(evidence) >= MAX_EVIDENCE:
                    break
        if indicator.checks:
            if ages is None:
                ages = _ages(folded, record)
            evidence.extend(_check(indicator.checks, ages, source, record))
        if evidence:
            flags.append(Flag(indicator.code, indicator.weight, evidence[:MAX_EVIDENCE]))
    return Screening(score_of([f.weight for f in flags]), flags)


def _ages(folded: str, record: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    found = [(int(h.value), h.start, h.end) for h in find_ages(folded)]
    age = str(record.get("age") or "").strip()
    if age.isdigit():
        found.append((int(age), -1, -1))
    return found


def _check(
    checks: Mapping[str, Any],
    ages: list[tuple[int, int, int]],
    source: FieldText,
    record: Mapping[str, Any],
) -> list[Evidence]:
    evidence: list[Evidence] = []
    below = checks.get("stated_age_below")
    between = checks.get("stated_age_between")
    for value, start, end in ages:
        hit = (below is not None and value < int(below)) or (
            between is not None and int(between[0]) <= value <= int(between[1])
        )
        if not hit:
            continue
        if start < 0:
            text = str(record.get("age"))
            evidence.append(Evidence("age", 0, len(text), text))
        else:
            evidence.extend(source.evidence(start, end))
    return evidence

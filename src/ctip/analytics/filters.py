"""The ``--where`` filter language: a few field comparisons, never raw SQL.

Examples::

    gender=Feminine
    year>=2015, citizenship=PH
    exploitation=SexualExploitation and country in US|CA
    source!=hotline-2019

Clauses are joined by ``,`` or ``and`` (all must hold). Operators: ``=`` ``!=`` ``>`` ``>=``
``<`` ``<=`` and ``in`` with ``|``-separated values. On list fields (citizenship,
exploitation, means of control, ...) ``=`` means "contains". Field names are case fields or the
short aliases below; values are checked against the field's type and code list, so a typo is
an error naming the clause instead of an empty result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ctip.errors import BadInputError
from ctip.ingest.cleaners import CleanerFactory
from ctip.ingest.sql import ident
from ctip.model.fields import FieldSpec, case_schema

ALIASES = {
    "year": "year_of_registration",
    "country": "country_of_exploitation",
    "exploitation": "exploitation_types",
    "control": "means_of_control",
    "sector": "labour_sectors",
    "age": "age_broad",
    "majority": "majority_status",
    "relation": "recruiter_relations",
}
PROVENANCE_FIELDS = {"source": "text", "import_id": "text"}
_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|=|>|<|\s+in\s+)\s*(.+?)\s*$")
_SPLIT = re.compile(r"\s*,\s*|\s+and\s+", re.IGNORECASE)


@dataclass
class Filter:
    """A parsed filter: SQL text with ``?`` placeholders and its parameters."""

    text: str = ""
    sql: str = "true"
    params: list[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.text)


def _spec(name: str) -> FieldSpec:
    if name in PROVENANCE_FIELDS:
        return FieldSpec(name=name, type="text")
    try:
        return case_schema().field(ALIASES.get(name, name))
    except KeyError:
        known = sorted(set(ALIASES) | set(PROVENANCE_FIELDS) | {"(any case field)"})
        raise BadInputError(
            f"--where: unknown field '{name}'", hint=f"use one of {', '.join(known)}"
        ) from None


def _value(spec: FieldSpec, text: str, clause: str) -> Any:
    factory = CleanerFactory(
        true_values=["true", "yes", "1"],
        false_values=["false", "no", "0"],
        date_formats=["%Y-%m-%d"],
    )
    if spec.is_list:
        cleaner = factory.items(spec, {}, None)
        cleaned = cleaner(text)
        if cleaned.ok and cleaned.value:
            return cleaned.value[0]
    else:
        cleaned = factory.scalar(spec, {}, None)(text)
        if cleaned.ok:
            return cleaned.value
    raise BadInputError(f"--where: '{clause}': {cleaned.reason or 'not a valid value'}")


def parse_filter(text: str | None) -> Filter:
    """Parse ``text`` into a Filter; ``None`` or empty means everything."""
    if not text or not text.strip():
        return Filter()
    conditions: list[str] = []
    params: list[Any] = []
    for clause in _SPLIT.split(text.strip()):
        match = _CLAUSE.match(clause)
        if match is None:
            raise BadInputError(
                f"--where: cannot read '{clause}'", hint="write field=value, e.g. year>=2015"
            )
        name, operator, raw = match[1], match[2].strip().lower(), match[3].strip().strip("'\"")
        spec = _spec(name)
        column = ident(spec.name)
        values = (
            [_value(spec, v.strip(), clause) for v in raw.split("|")]
            if operator == "in"
            else [_value(spec, raw, clause)]
        )
        if spec.is_list:
            if operator not in ("=", "!=", "in"):
                raise BadInputError(f"--where: '{clause}': lists take =, != or in")
            test = f"list_has_any({column}, [{', '.join('?' for _ in values)}])"
            conditions.append(f"NOT {test}" if operator == "!=" else test)
        elif operator == "in":
            conditions.append(f"{column} IN ({', '.join('?' for _ in values)})")
        else:
            conditions.append(f"{column} {operator} ?")
        params.extend(values)
    return Filter(text, " AND ".join(f"({c})" for c in conditions), params)

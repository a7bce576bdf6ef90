"""The CTIP case record: field specifications loaded from case-fields.yaml.

Everything that depends on the shape of a case (workspace DDL, validation, export columns, the
JSON Schema of the canonical record) is generated from these specs, so a field is added in one
place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from ctip.model.resources import load_yaml

DATA_PACKAGE = "ctip.model.data"

FieldType = Literal[
    "text",
    "integer",
    "number",
    "date",
    "boolean",
    "code",
    "codes",
    "country",
    "countries",
    "language",
]
LIST_TYPES = frozenset({"codes", "countries"})

SQL_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "integer": "INTEGER",
    "number": "DOUBLE",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "code": "VARCHAR",
    "codes": "VARCHAR[]",
    "country": "VARCHAR",
    "countries": "VARCHAR[]",
    "language": "VARCHAR",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    section: str = ""
    code_list: str | None = None
    htcds: str | None = None
    personal: bool = False
    ruled_out: bool = False
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    @property
    def is_list(self) -> bool:
        return self.type in LIST_TYPES

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def ruled_out_name(self) -> str:
        return f"{self.name}_ruled_out"


@dataclass(frozen=True)
class CaseSchema:
    fields: tuple[FieldSpec, ...]
    event_fields: tuple[FieldSpec, ...]
    sections: dict[str, str]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def storage_columns(self) -> list[tuple[str, str]]:
        """(column, SQL type) of the case payload, ruled-out companions included."""
        columns: list[tuple[str, str]] = []
        for spec in self.fields:
            columns.append((spec.name, spec.sql_type))
            if spec.ruled_out:
                columns.append((spec.ruled_out_name, "VARCHAR[]"))
        return columns

    def personal_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.personal]


def _spec(raw: dict[str, object]) -> FieldSpec:
    minimum = raw.get("min")
    maximum = raw.get("max")
    return FieldSpec(
        name=str(raw["name"]),
        type=raw["type"],  # type: ignore[arg-type]
        section=str(raw.get("section", "")),
        code_list=raw.get("code_list"),  # type: ignore[arg-type]
        htcds=raw.get("htcds"),  # type: ignore[arg-type]
        personal=bool(raw.get("personal", False)),
        ruled_out=bool(raw.get("ruled_out", False)),
        minimum=float(minimum) if isinstance(minimum, int | float) else None,
        maximum=float(maximum) if isinstance(maximum, int | float) else None,
        description=str(raw.get("description", "")),
    )


@cache
def case_schema() -> CaseSchema:
    raw = load_yaml(DATA_PACKAGE, "case-fields.yaml")
    return CaseSchema(
        fields=tuple(_spec(f) for f in raw["fields"]),
        event_fields=tuple(_spec(f) for f in raw["event_fields"]),
        sections=dict(raw["sections"]),
    )

"""Declarative mappings from a file's columns to CTIP case fields.

One grammar serves every input: the built-in CTDC, CTDC victim-perpetrator and HTCDS formats
are mappings shipped in ``ctip/ingest/mappings/``, and an agency's own spreadsheet gets a YAML
file in the same shape (``ctip mapping suggest FILE`` drafts one). A mapping says, per source
column, which field it fills and how:

.. code-block:: yaml

    name: my-agency
    missing_values: ["", "n/a", "unknown"]
    date_formats: ["%d/%m/%Y"]
    columns:
      Sex: {field: gender, values: {F: Feminine, M: Masculine}}
      Nationality: {field: citizenship, split: "/"}
      Debt: {field: means_of_control, flag: DebtBondage}
      "Recruited in": events.recruitment.country
      Notes: {keep: true}
    defaults: {data_source: CaseManagement}

A column not named in ``columns`` is kept in the record's ``extra`` JSON (``unmapped: keep``,
the default), dropped (``ignore``) or refused (``error``).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ctip.errors import BadInputError, NotFoundError
from ctip.model.codes import load_code_lists
from ctip.model.fields import FieldSpec, case_schema
from ctip.model.resources import list_files, read_text

MAPPINGS_PACKAGE = "ctip.ingest.mappings"
EVENT_TYPES = ("recruitment", "transit", "exploitation")
DEFAULT_MISSING = ["", "-99", "-99.0", "NA", "N/A", "n/a", "null", "NULL", "None"]
DEFAULT_TRUE = ["1", "1.0", "true", "yes", "y", "t", "x", "si", "sí", "oui"]
DEFAULT_FALSE = ["0", "0.0", "false", "no", "n", "f", "non"]
DEFAULT_DATE_FORMATS = [
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
]


class ColumnRule(BaseModel):
    """How one source column becomes (part of) a case field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = Field(default=None, description="case field or events.<type>.<attr>")
    flag: str | None = Field(default=None, description="code added to a list field when true")
    values: dict[str, str | None] = Field(default_factory=dict, description="value map")
    split: str | None = Field(default=None, description="separator of several values")
    format: list[str] | None = Field(default=None, description="date format(s), strptime")
    keep: bool = Field(default=False, description="keep the raw value in extra")
    ignore: bool = Field(default=False, description="drop the column")

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): (None if v is None else str(v)) for k, v in value.items()}
        return value

    @field_validator("format", mode="before")
    @classmethod
    def _format_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_purpose(self) -> ColumnRule:
        purposes = sum([self.field is not None, self.keep, self.ignore])
        if purposes != 1:
            raise ValueError("give exactly one of field, keep: true or ignore: true")
        if self.flag is not None and self.split is not None:
            raise ValueError("flag and split cannot be combined")
        return self


class Mapping(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = 1
    description: str = ""
    source_url: str | None = None
    missing_values: list[str] = Field(default_factory=lambda: list(DEFAULT_MISSING))
    true_values: list[str] = Field(default_factory=lambda: list(DEFAULT_TRUE))
    false_values: list[str] = Field(default_factory=lambda: list(DEFAULT_FALSE))
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    label_row: bool = Field(
        default=False, description="the first row may repeat field labels; skip it if so"
    )
    unmapped: Literal["keep", "ignore", "error"] = "keep"
    columns: dict[str, ColumnRule]
    defaults: dict[str, Any] = Field(default_factory=dict)
    detect: list[str] = Field(
        default_factory=list, description="columns whose presence identifies this format"
    )

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """Allow ``Column: field_name`` for the common one-to-one case."""
        if isinstance(value, dict):
            return {
                str(k): (
                    {"field": v} if isinstance(v, str) else ({"ignore": True} if v is None else v)
                )
                for k, v in value.items()
            }
        return value

    @model_validator(mode="after")
    def _targets_exist(self) -> Mapping:
        schema = case_schema()
        lists = load_code_lists()
        for column, rule in self.columns.items():
            if rule.field is None:
                continue
            spec = target_spec(rule.field)
            if spec is None:
                raise ValueError(f"column '{column}': unknown field '{rule.field}'")
            if rule.flag is not None:
                if spec.type != "codes" or spec.code_list is None:
                    raise ValueError(f"column '{column}': flag needs a list-of-codes field")
                if rule.flag not in lists[spec.code_list].values():
                    raise ValueError(
                        f"column '{column}': '{rule.flag}' is not a {spec.code_list} code"
                    )
            if rule.split is not None and not spec.is_list:
                raise ValueError(f"column '{column}': split needs a list field")
            if spec.code_list is not None:
                valid = set(lists[spec.code_list].values())
                for source, target in rule.values.items():
                    if target is not None and target not in valid:
                        raise ValueError(
                            f"column '{column}': value '{source}' maps to '{target}',"
                            f" which is not a {spec.code_list} code"
                        )
        for name in self.defaults:
            if name not in schema.names():
                raise ValueError(f"defaults: unknown field '{name}'")
        return self

    def rule_for(self, header: str) -> tuple[str, ColumnRule] | None:
        """The rule for a file's header, matched exactly, then ignoring case and spaces."""
        if header in self.columns:
            return header, self.columns[header]
        key = _header_key(header)
        for name, rule in self.columns.items():
            if _header_key(name) == key:
                return name, rule
        return None


def _header_key(header: str) -> str:
    return "".join(ch for ch in header.lower() if ch.isalnum())


def target_spec(target: str) -> FieldSpec | None:
    """The field spec a mapping target names: a case field or events.<type>.<attribute>."""
    schema = case_schema()
    if target.startswith("events."):
        parts = target.split(".")
        if len(parts) != 3 or parts[1] not in EVENT_TYPES:
            return None
        for spec in schema.event_fields:
            if spec.name == parts[2]:
                return spec
        return None
    try:
        return schema.field(target)
    except KeyError:
        return None


def parse_mapping(text: str, origin: str) -> Mapping:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInputError(f"{origin} is not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise BadInputError(f"{origin}: a mapping file is a YAML object with 'columns'")
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInputError(
            f"{origin}: {where}: {first['msg']}", hint="see docs/import.md for the mapping format"
        ) from exc


def load_mapping(path: Path) -> Mapping:
    if not path.exists():
        raise BadInputError(f"{path}: no such mapping file")
    return parse_mapping(path.read_text(encoding="utf-8"), str(path))


def builtin_names() -> list[str]:
    return [name.removesuffix(".yaml") for name in list_files(MAPPINGS_PACKAGE, ".yaml")]


@cache
def builtin_mapping(name: str) -> Mapping:
    if name not in builtin_names():
        raise NotFoundError(
            f"no built-in format '{name}'", hint=f"choose from {', '.join(builtin_names())}"
        )
    return parse_mapping(read_text(MAPPINGS_PACKAGE, f"{name}.yaml"), f"built-in {name}")


def mapping_sha256(mapping: Mapping) -> str:
    return hashlib.sha256(mapping.model_dump_json().encode()).hexdigest()


def detect_format(headers: list[str]) -> str | None:
    """Name the built-in format whose identifying columns the headers contain, if any."""
    keys = {_header_key(h) for h in headers}
    best: tuple[float, str] | None = None
    for name in builtin_names():
        mapping = builtin_mapping(name)
        if not mapping.detect:
            continue
        needed = {_header_key(c) for c in mapping.detect}
        if not needed <= keys:
            continue
        known = {_header_key(c) for c in mapping.columns}
        share = len(keys & known) / max(len(keys), 1)
        if best is None or share > best[0]:
            best = (share, name)
    return best[1] if best else None


def dump_mapping(mapping: Mapping) -> str:
    data = mapping.model_dump(exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

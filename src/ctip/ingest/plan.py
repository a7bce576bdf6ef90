"""Plan an import: match a file's header to a mapping and pick a cleaner for every column.

The plan says, per source column, which field (or event attribute) it fills, in what way
(a single value, list items, a yes/no flag adding a code, or kept verbatim in ``extra``), and
with which cleaner. It also decides what happens to columns the mapping does not name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ctip.errors import BadInputError
from ctip.ingest.cleaners import Cleaned, Cleaner, CleanerFactory
from ctip.ingest.mapping import EVENT_TYPES, ColumnRule, Mapping, target_spec
from ctip.ingest.readers import LIST_SEPARATOR
from ctip.model.fields import FieldSpec

Kind = Literal["scalar", "list", "flag", "keep"]


@dataclass(frozen=True)
class ColumnPlan:
    header: str
    kind: Kind
    target: str  # a case field, events.<type>.<attribute>, or "" for kept columns
    cleaner: Cleaner
    missing: frozenset[str]
    flag: str | None = None


@dataclass
class ImportPlan:
    mapping: Mapping
    columns: list[ColumnPlan] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.kind == "keep"]

    @property
    def mapped(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.kind != "keep"]

    def contributions(self, target: str) -> list[ColumnPlan]:
        return [c for c in self.mapped if c.target == target]

    def targets(self) -> set[str]:
        return {c.target for c in self.mapped}

    def sources_of(self, target: str) -> list[str]:
        return [c.header for c in self.contributions(target)]

    @property
    def event_types(self) -> list[str]:
        targets = self.targets()
        return [t for t in EVENT_TYPES if any(x.startswith(f"events.{t}.") for x in targets)]

    def warnings(self) -> list[str]:
        if not self.unknown:
            return []
        action = "kept in extra" if self.mapping.unmapped == "keep" else "ignored"
        return [
            f"columns not in the {self.mapping.name} mapping ({action}): " + ", ".join(self.unknown)
        ]


def _keep(text: str) -> Cleaned:
    return Cleaned(text)


def plan_import(
    mapping: Mapping, headers: list[str], list_columns: set[str] | None = None
) -> ImportPlan:
    """Match ``headers`` to ``mapping``; raise BadInputError for conflicts a person must fix."""
    lists = list_columns or set()
    factory = CleanerFactory(
        true_values=mapping.true_values,
        false_values=mapping.false_values,
        date_formats=mapping.date_formats,
    )
    plan = ImportPlan(mapping)
    base_missing = frozenset(mapping.missing_values)
    scalar_owner: dict[str, str] = {}
    for header in headers:
        found = mapping.rule_for(header)
        if found is None:
            plan.unknown.append(header)
            if mapping.unmapped == "keep":
                plan.columns.append(ColumnPlan(header, "keep", "", _keep, base_missing))
            elif mapping.unmapped == "error":
                raise BadInputError(
                    f"column '{header}' is not in the mapping {mapping.name}",
                    hint="add it to the mapping, with ignore: true if it is not needed",
                )
            continue
        rule = found[1]
        if rule.ignore:
            continue
        missing = base_missing | {k for k, v in rule.values.items() if v is None}
        if rule.keep:
            plan.columns.append(ColumnPlan(header, "keep", "", _keep, missing))
            continue
        assert rule.field is not None
        spec = target_spec(rule.field)
        assert spec is not None
        if not spec.is_list:
            if rule.field in scalar_owner:
                raise BadInputError(
                    f"columns '{scalar_owner[rule.field]}' and '{header}' both fill '{rule.field}'",
                    hint="map one of them to another field or ignore it",
                )
            scalar_owner[rule.field] = header
        plan.columns.append(_column_plan(header, rule, spec, factory, missing, header in lists))
    if not plan.mapped:
        raise BadInputError(
            f"no column of this file maps to a case field with the {mapping.name} mapping",
            hint="check --input-format, or write a mapping with 'ctip mapping suggest FILE'",
        )
    return plan


def _column_plan(
    header: str,
    rule: ColumnRule,
    spec: FieldSpec,
    factory: CleanerFactory,
    missing: frozenset[str],
    is_list_column: bool,
) -> ColumnPlan:
    assert rule.field is not None
    values = {k: v for k, v in rule.values.items() if v is not None}
    if rule.flag is not None:
        return ColumnPlan(header, "flag", rule.field, factory.flag, missing, rule.flag)
    if spec.is_list:
        separator = LIST_SEPARATOR if is_list_column else rule.split
        return ColumnPlan(
            header, "list", rule.field, factory.items(spec, values, separator), missing
        )
    return ColumnPlan(
        header, "scalar", rule.field, factory.scalar(spec, values, rule.format), missing
    )

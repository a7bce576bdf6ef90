"""Compile a mapping plus a file's header into one SQL query that maps and validates every row.

Validation runs inside the database, vectorised, instead of row by row in Python: that is what
lets a million-row import finish in seconds. The query (``CompiledMapping.query``) reads the
registered source table and returns, per row:

- every case field, typed (lists as lists), plus ``*_ruled_out`` lists and event attributes;
- ``_ctip_ok``: whether the row passed every check; ``_ctip_nonblank``: whether any mapped
  column had a value;
- ``_ctip_errors``: for failing rows only, a list of {column, field, value, reason};
- ``_ctip_raw`` (failing rows only): the original row as JSON, for quarantine and fixing;
- ``extra``: kept columns as JSON.

Each column's rule yields a value expression, a validity expression and a reason expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ctip.errors import BadInputError
from ctip.ingest.mapping import EVENT_TYPES, ColumnRule, Mapping, target_spec
from ctip.ingest.readers import LIST_SEPARATOR, ROW_COLUMN
from ctip.ingest.rules import CROSS_FIELD_RULES
from ctip.ingest.sql import case_map, ident, lit, lit_list, map_literal
from ctip.model.codes import load_code_lists
from ctip.model.countries import (
    alpha3_to_alpha2,
    country_codes,
    country_name_lookup,
    language_codes,
)
from ctip.model.fields import FieldSpec, case_schema


@dataclass(frozen=True)
class Check:
    """One validity test with the explanation shown when it fails."""

    ok: str
    column: str
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class Contribution:
    """What one source column gives a field: a value, or list items, or flag codes."""

    column: str
    value: str  # scalar value, list value, or (for flags) a boolean expression
    kind: str  # "scalar" | "list" | "flag"
    flag: str | None = None


@dataclass
class CompiledMapping:
    mapping: Mapping
    clean: list[tuple[str, str]] = field(default_factory=list)  # (alias, sql over source)
    checks: list[Check] = field(default_factory=list)
    contributions: dict[str, list[Contribution]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    mapped_columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    all_columns: list[str] = field(default_factory=list)
    source_of: dict[str, list[str]] = field(default_factory=dict)  # field -> columns
    aliases: dict[str, str] = field(default_factory=dict)  # header -> cleaned-value alias

    @property
    def event_types(self) -> list[str]:
        return [
            t for t in EVENT_TYPES if any(k.startswith(f"events.{t}.") for k in self.contributions)
        ]

    def warnings(self) -> list[str]:
        notes: list[str] = []
        if self.unknown_columns:
            action = "kept in extra" if self.mapping.unmapped == "keep" else "ignored"
            notes.append(
                f"columns not in the {self.mapping.name} mapping ({action}): "
                + ", ".join(self.unknown_columns)
            )
        return notes

    # --- the query ---------------------------------------------------------------------

    def field_expressions(self) -> list[tuple[str, str]]:
        """(output column, SQL) for every case field, ruled-out list and event attribute."""
        schema = case_schema()
        output: list[tuple[str, str]] = []
        for spec in schema.fields:
            output.append((spec.name, self._field_value(spec, spec.name)))
            if spec.ruled_out:
                output.append((spec.ruled_out_name, self._ruled_out_value(spec.name)))
        for event_type in self.event_types:
            for spec in schema.event_fields:
                key = f"events.{event_type}.{spec.name}"
                output.append((event_column(event_type, spec.name), self._field_value(spec, key)))
        return output

    def _field_value(self, spec: FieldSpec, key: str) -> str:
        parts = self.contributions.get(key, [])
        default = self.mapping.defaults.get(key)
        if spec.is_list:
            pieces = [p.value for p in parts if p.kind == "list"]
            flags = [
                f"CASE WHEN {p.value} THEN {lit(p.flag or '')} END"
                for p in parts
                if p.kind == "flag"
            ]
            if flags:
                pieces.append("[" + ", ".join(flags) + "]")
            if not pieces:
                base = "[]::VARCHAR[]"
            elif len(pieces) == 1:
                base = f"list_sort(list_distinct({pieces[0]}))"
            else:
                base = f"list_sort(list_distinct(list_concat({', '.join(pieces)})))"
            if default is not None:
                items = default if isinstance(default, list) else [default]
                base = f"CASE WHEN len({base}) = 0 THEN {_text_list(items)} ELSE {base} END"
            return base
        scalars = [p.value for p in parts if p.kind == "scalar"]
        value = scalars[0] if scalars else f"NULL::{spec.sql_type}"
        if default is not None:
            value = f"COALESCE({value}, {_typed_literal(spec, default)})"
        return value

    def _ruled_out_value(self, key: str) -> str:
        flags = [
            f"CASE WHEN NOT {p.value} THEN {lit(p.flag or '')} END"
            for p in self.contributions.get(key, [])
            if p.kind == "flag"
        ]
        if not flags:
            return "[]::VARCHAR[]"
        return f"list_sort(list_distinct([{', '.join(flags)}]))"

    def cross_checks(self) -> list[Check]:
        mapped = set(self.contributions) | set(self.mapping.defaults)
        checks: list[Check] = []
        for rule in CROSS_FIELD_RULES:
            if not set(rule.fields) & mapped:
                continue
            columns = sorted({c for f in rule.fields for c in self.source_of.get(f, [])})
            checks.append(
                Check(
                    ok=f"NOT coalesce({rule.violation}, false)",
                    column=", ".join(columns),
                    field=", ".join(rule.fields),
                    value="NULL",
                    reason=lit(rule.reason),
                )
            )
        return checks

    def query(self, source: str) -> str:
        """SQL returning the mapped, checked rows of ``source`` (see module docstring)."""
        clean = ",\n    ".join(f"{sql} AS {alias}" for alias, sql in self.clean) or "NULL AS _none"
        raw = ", ".join(f"{lit(c)}, s.{ident(c)}" for c in self.all_columns)
        values = ",\n    ".join(f"{sql} AS {ident(name)}" for name, sql in self.field_expressions())
        column_checks = list(self.checks)
        ok_columns = ",\n    ".join(f"{c.ok} AS _ctip_ok_{i}" for i, c in enumerate(column_checks))
        nonblank = (
            "coalesce(" + ", ".join(self.aliases[c] for c in self.mapped_columns) + ") IS NOT NULL"
            if self.mapped_columns
            else "false"
        )
        extra = self._extra_sql()
        cross = self.cross_checks()
        all_ok = (
            " AND ".join(
                [f"_ctip_ok_{i}" for i in range(len(column_checks))] + [c.ok for c in cross]
            )
            or "true"
        )
        error_items = [
            f"CASE WHEN NOT _ctip_ok_{i} THEN {_error_struct(c)} END"
            for i, c in enumerate(column_checks)
        ] + [f"CASE WHEN NOT ({c.ok}) THEN {_error_struct(c)} END" for c in cross]
        errors = (
            "list_filter([" + ", ".join(error_items) + "], lambda e: e IS NOT NULL)"
            if error_items
            else "[]"
        )
        return f"""
WITH v AS (
  SELECT s.{ident(ROW_COLUMN)} AS _ctip_row,
    {clean},
    {extra} AS extra,
    {nonblank} AS _ctip_nonblank
  FROM {source} AS s
), m AS (
  SELECT v.*,
    {values}{"," if ok_columns else ""}
    {ok_columns}
  FROM v
), checked AS (
  SELECT *, ({all_ok}) AS _ctip_ok FROM m
)
SELECT checked.*,
  CASE WHEN NOT _ctip_ok THEN {errors} END AS _ctip_errors,
  CASE WHEN NOT _ctip_ok THEN json_object({raw}) END AS _ctip_raw
FROM checked JOIN {source} AS s ON s.{ident(ROW_COLUMN)} = checked._ctip_row
"""

    def _extra_sql(self) -> str:
        if not self.kept:
            return "NULL::JSON"
        aliases = [self.aliases[c] for c in self.kept]
        pairs = ", ".join(f"{lit(c)}, {a}" for c, a in zip(self.kept, aliases, strict=True))
        any_kept = f"coalesce({', '.join(aliases)})"
        return f"CASE WHEN {any_kept} IS NULL THEN NULL ELSE json_object({pairs}) END"


def event_column(event_type: str, attribute: str) -> str:
    return f"event_{event_type}_{attribute}"


def _error_struct(check: Check) -> str:
    return (
        f"{{'column': {lit(check.column)}, 'field': {lit(check.field)},"
        f" 'value': {check.value}, 'reason': {check.reason}}}"
    )


def _text_list(items: list[object]) -> str:
    return "[" + ", ".join(lit(str(i)) for i in items) + "]::VARCHAR[]"


def _typed_literal(spec: FieldSpec, value: object) -> str:
    if spec.type == "boolean":
        return "true" if value in (True, "true", "yes", 1) else "false"
    if spec.type in ("integer", "number"):
        return f"CAST({lit(str(value))} AS {spec.sql_type})"
    if spec.type == "date":
        return f"DATE {lit(str(value))}"
    return lit(str(value))


# --- value expressions per field type ---------------------------------------------------------


def _code_lookup(expression: str, code_list: str, user_values: dict[str, str]) -> str:
    """Map text to a code: the mapping's own value map, then exact codes, then lenient."""
    codes = load_code_lists()[code_list]
    exact = codes.values()
    lenient = codes.lenient_lookup()
    lower_table = {k: v for k, v in lenient.items() if k == k.lower()}
    squashed = {k: v for k, v in lenient.items() if k.isalnum()}
    squash = f"regexp_replace(lower({expression}), '[^a-z0-9]+', '', 'g')"
    fallback = (
        f"COALESCE({case_map(f'lower({expression})', lower_table)}, {case_map(squash, squashed)})"
    )
    known = f"CASE WHEN {expression} IN {lit_list(exact)} THEN {expression} ELSE {fallback} END"
    return case_map(expression, user_values, default=known) if user_values else known


def _country_lookup(expression: str, user_values: dict[str, str]) -> str:
    codes = sorted(country_codes())
    alpha3 = map_literal(alpha3_to_alpha2())
    names = map_literal(country_name_lookup())
    known = (
        f"CASE WHEN {expression} IN {lit_list(codes)} THEN {expression}"
        f" WHEN upper({expression}) IN {lit_list(codes)} THEN upper({expression})"
        f" ELSE COALESCE({alpha3}[upper({expression})], {names}[lower({expression})]) END"
    )
    return case_map(expression, user_values, default=known) if user_values else known


def _language_lookup(expression: str, user_values: dict[str, str]) -> str:
    known = (
        f"CASE WHEN lower({expression}) IN {lit_list(sorted(language_codes()))}"
        f" THEN lower({expression}) END"
    )
    return case_map(expression, user_values, default=known) if user_values else known


def _item_lookup(spec: FieldSpec, expression: str, values: dict[str, str]) -> str:
    if spec.type in ("country", "countries"):
        return _country_lookup(expression, values)
    if spec.type == "language":
        return _language_lookup(expression, values)
    if spec.code_list is not None:
        return _code_lookup(expression, spec.code_list, values)
    return case_map(expression, values, default=expression) if values else expression


def _allowed(spec: FieldSpec) -> str:
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


class _Compiler:
    def __init__(self, mapping: Mapping, headers: list[str], list_columns: set[str]) -> None:
        self.mapping = mapping
        self.headers = headers
        self.list_columns = list_columns
        self.result = CompiledMapping(mapping=mapping, all_columns=list(headers))
        self.today = date.today().isoformat()

    def compile(self) -> CompiledMapping:
        scalar_owner: dict[str, str] = {}
        for header in self.headers:
            found = self.mapping.rule_for(header)
            if found is None:
                self.result.unknown_columns.append(header)
                if self.mapping.unmapped == "keep":
                    self._alias(header, set())
                    self.result.kept.append(header)
                elif self.mapping.unmapped == "error":
                    raise BadInputError(
                        f"column '{header}' is not in the mapping {self.mapping.name}",
                        hint="add it to the mapping, with ignore: true if it is not needed",
                    )
                continue
            _, rule = found
            if rule.ignore:
                continue
            alias = self._alias(header, set(rule.values) if rule.values else set(), rule)
            if rule.keep:
                self.result.kept.append(header)
                continue
            assert rule.field is not None
            spec = target_spec(rule.field)
            assert spec is not None
            if not spec.is_list:
                if rule.field in scalar_owner:
                    raise BadInputError(
                        f"columns '{scalar_owner[rule.field]}' and '{header}' both fill"
                        f" '{rule.field}'",
                        hint="map one of them to another field or ignore it",
                    )
                scalar_owner[rule.field] = header
            self.result.mapped_columns.append(header)
            self.result.source_of.setdefault(rule.field, []).append(header)
            self._rule(header, alias, rule, spec)
        return self.result

    def _alias(self, header: str, null_values: set[str], rule: ColumnRule | None = None) -> str:
        index = len(self.result.clean)
        alias = f"c{index}"
        self.result.aliases[header] = alias
        missing = set(self.mapping.missing_values)
        if rule is not None:
            missing |= {k for k, v in rule.values.items() if v is None}
        trimmed = f"trim(s.{ident(header)})"
        self.result.clean.append(
            (
                alias,
                f"CASE WHEN {trimmed} IN {lit_list(sorted(missing))} THEN NULL ELSE {trimmed} END",
            )
        )
        return alias

    def _add(self, key: str, contribution: Contribution) -> None:
        self.result.contributions.setdefault(key, []).append(contribution)

    def _check(self, ok: str, header: str, field_name: str, alias: str, reason: str) -> None:
        self.result.checks.append(Check(ok, header, field_name, f"s.{ident(header)}", reason))

    def _rule(self, header: str, alias: str, rule: ColumnRule, spec: FieldSpec) -> None:
        key = rule.field
        assert key is not None
        values = {k: v for k, v in rule.values.items() if v is not None}
        if rule.flag is not None:
            flag = self._boolean(alias)
            self._add(key, Contribution(header, flag, "flag", rule.flag))
            self._check(
                f"({alias} IS NULL OR {flag} IS NOT NULL)",
                header,
                key,
                alias,
                lit("not a yes/no flag (use 1 or 0, or -99 for unknown)"),
            )
            return
        if spec.is_list:
            separator = LIST_SEPARATOR if header in self.list_columns else rule.split
            parts = (
                f"list_filter(list_transform(string_split({alias}, {lit(separator)}),"
                " lambda x: trim(x)), lambda x: x <> '')"
                if separator
                else f"[{alias}]"
            )
            items = f"CASE WHEN {alias} IS NULL THEN []::VARCHAR[] ELSE {parts} END"
            mapped = f"list_transform({items}, lambda x: {_item_lookup(spec, 'x', values)})"
            self._add(key, Contribution(header, mapped, "list"))
            self._check(
                f"({alias} IS NULL OR list_count({mapped}) = len({items}))",
                header,
                key,
                alias,
                lit(f"not {_allowed(spec)} (each value)"),
            )
            return
        value, ok, reason = self._scalar(spec, alias, values, rule)
        self._add(key, Contribution(header, value, "scalar"))
        self._check(ok, header, key, alias, reason)

    def _boolean(self, alias: str) -> str:
        true = lit_list(v.lower() for v in self.mapping.true_values)
        false = lit_list(v.lower() for v in self.mapping.false_values)
        return (
            f"(CASE WHEN lower({alias}) IN {true} THEN true"
            f" WHEN lower({alias}) IN {false} THEN false END)"
        )

    def _range(self, spec: FieldSpec, number: str) -> tuple[str, str]:
        low = spec.minimum if spec.minimum is not None else None
        high = spec.maximum if spec.maximum is not None else None
        conditions = []
        if low is not None:
            conditions.append(f"{number} >= {low}")
        if high is not None:
            conditions.append(f"{number} <= {high}")
        text = f"outside the range {_num(low)} to {_num(high)}"
        return (" AND ".join(conditions) or "true"), text

    def _scalar(
        self, spec: FieldSpec, alias: str, values: dict[str, str], rule: ColumnRule
    ) -> tuple[str, str, str]:
        """(value, ok, reason) SQL for a single-valued field."""
        if spec.type == "text":
            mapped = case_map(alias, values, default=alias) if values else alias
            return mapped, "true", lit("")
        if spec.type in ("integer", "number"):
            number = f"TRY_CAST({alias} AS DOUBLE)"
            in_range, range_text = self._range(spec, number)
            whole = f" AND {number} = floor({number})" if spec.type == "integer" else ""
            value = f"CAST({number} AS {spec.sql_type})"
            ok = f"({alias} IS NULL OR ({number} IS NOT NULL{whole} AND {in_range}))"
            kind = "a whole number" if spec.type == "integer" else "a number"
            reason = (
                f"CASE WHEN {number} IS NULL THEN {lit('not ' + kind)}"
                + (
                    f" WHEN {number} <> floor({number}) THEN {lit('not a whole number')}"
                    if whole
                    else ""
                )
                + f" ELSE {lit(range_text)} END"
            )
            if spec.name == "year_of_registration":
                ok = f"({ok} AND ({alias} IS NULL OR {number} <= year(current_date)))"
                reason = (
                    f"CASE WHEN {number} > year(current_date) THEN {lit('in the future')}"
                    f" ELSE {reason} END"
                )
            return value, ok, reason
        if spec.type == "date":
            formats = rule.format or self.mapping.date_formats
            value = f"CAST(try_strptime({alias}, [{', '.join(lit(f) for f in formats)}]) AS DATE)"
            ok = f"({alias} IS NULL OR ({value} IS NOT NULL AND {value} <= current_date))"
            reason = (
                f"CASE WHEN {value} IS NULL"
                f" THEN {lit('not a date in the format ' + ' or '.join(formats))}"
                f" ELSE {lit('in the future')} END"
            )
            return value, ok, reason
        if spec.type == "boolean":
            value = self._boolean(alias)
            ok = f"({alias} IS NULL OR {value} IS NOT NULL)"
            return value, ok, lit("not yes/no (use 1 or 0, true or false, yes or no)")
        lookup = _item_lookup(spec, alias, values)
        return lookup, f"({alias} IS NULL OR {lookup} IS NOT NULL)", lit(f"not {_allowed(spec)}")


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def compile_mapping(
    mapping: Mapping, headers: list[str], list_columns: set[str] | None = None
) -> CompiledMapping:
    """Compile ``mapping`` for a file with these ``headers``."""
    return _Compiler(mapping, headers, list_columns or set()).compile()

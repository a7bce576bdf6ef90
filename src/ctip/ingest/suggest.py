"""Draft a mapping for an unfamiliar spreadsheet from its headers and values.

The draft is a starting point for the analyst, written as commented YAML: each recognised
column names its field, values that do not match a code are listed for the analyst to map,
unrecognised columns are kept (not lost) until someone decides. Nothing is guessed silently:
every guess carries a comment saying why.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import datetime
from pathlib import Path

import yaml

from ctip.ingest.mapping import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_MISSING,
    builtin_mapping,
    builtin_names,
    target_spec,
)
from ctip.ingest.readers import LIST_SEPARATOR, read_table
from ctip.model.codes import load_code_lists
from ctip.model.countries import alpha3_to_alpha2, country_codes, country_name_lookup
from ctip.model.fields import FieldSpec, case_schema
from ctip.model.htcds import load_htcds
from ctip.model.resources import load_yaml

SAMPLE_VALUES = 200
SEPARATORS = (";", "|", ",", "/")


def _yaml_inline(value: object) -> str:
    """One YAML value on one line (no document markers)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1_000_000)
    return text.strip().removesuffix("...").strip()


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _synonyms() -> dict[str, str]:
    """normalised header -> target, from the synonym list, CTIP names, HTCDS and CTDC."""
    table: dict[str, str] = {}
    for target, words in load_yaml("ctip.ingest.data", "field-synonyms.yaml").items():
        for word in words:
            table.setdefault(_key(word), target)
    for spec in case_schema().fields:
        table.setdefault(_key(spec.name), spec.name)
    htcds_to_field = {f.htcds: f.name for f in case_schema().fields if f.htcds}
    for field in load_htcds().fields:
        if field.name in htcds_to_field:
            table.setdefault(_key(field.name), htcds_to_field[field.name])
            table.setdefault(_key(field.label), htcds_to_field[field.name])
    return table


def _guess_target(header: str, synonyms: dict[str, str]) -> tuple[str | None, str]:
    key = _key(header)
    if key in synonyms:
        return synonyms[key], f"header '{header}' names it"
    for name in builtin_names():
        found = builtin_mapping(name).rule_for(header)
        if found and found[1].field:
            return found[1].field, f"as in the {name} format"
    for word, target in synonyms.items():
        if len(word) >= 5 and word in key:
            return target, f"header contains '{word}'"
    return None, ""


def _date_format(values: list[str]) -> str | None:
    for fmt in [*DEFAULT_DATE_FORMATS, "%m/%d/%Y", "%d/%m/%y", "%Y%m%d", "%d %b %Y", "%d %B %Y"]:
        try:
            for value in values:
                datetime.strptime(value, fmt)
        except ValueError:
            continue
        return fmt
    return None


def _separator(values: list[str]) -> str | None:
    counts = Counter(sep for value in values for sep in SEPARATORS if sep in value)
    if not counts:
        return None
    separator, count = counts.most_common(1)[0]
    return separator if count >= max(1, len(values) // 20) else None


def _code_for(value: str, spec: FieldSpec) -> str | None:
    text = value.strip()
    if spec.type in ("country", "countries"):
        if text.upper() in country_codes():
            return text.upper()
        return alpha3_to_alpha2().get(text.upper()) or country_name_lookup().get(text.lower())
    if spec.code_list is None:
        return None
    codes = load_code_lists()[spec.code_list]
    lenient = codes.lenient_lookup()
    found = lenient.get(text.lower()) or lenient.get(_key(text))
    if found:
        return found
    prefixed = [c for c in codes.values() if _key(c).startswith(_key(text))] if text else []
    return prefixed[0] if len(prefixed) == 1 else None


def suggest_mapping(path: Path, *, name: str | None = None) -> str:
    """Return a draft mapping for ``path`` as commented YAML text."""
    source = read_table(path)
    synonyms = _synonyms()
    lines = [
        f"# Draft mapping for {path.name}, written by 'ctip mapping suggest'.",
        "# Check every line, map the values listed under TODO, then import with",
        f"#   ctip import cases {path.name} --mapping THIS_FILE.yaml",
        f"name: {_yaml_inline(name or _key(path.stem) or 'agency')}",
        "version: 1",
        f"missing_values: {_yaml_inline(DEFAULT_MISSING)}",
        "columns:",
    ]
    used: set[str] = set()
    for header in source.columns:
        column = source.table.column(header)
        values = [
            v
            for v in column.to_pylist()[: SAMPLE_VALUES * 10]
            if v and v.strip() and v not in DEFAULT_MISSING
        ]
        distinct = list(dict.fromkeys(values))[:SAMPLE_VALUES]
        target, why = _guess_target(header, synonyms)
        spec = target_spec(target) if target else None
        quoted = _yaml_inline(header)
        if spec is None or target is None or (target in used and not (spec.is_list)):
            lines.append(
                f"  {quoted}: {{keep: true}}  # not recognised: set field:, or ignore: true"
            )
            continue
        used.add(target)
        rule: dict[str, object] = {"field": target}
        comments = [why]
        if spec.is_list and header not in source.list_columns:
            separator = _separator(distinct)
            if separator:
                rule["split"] = separator
                comments.append(f"values joined with '{separator}'")
        if spec.type == "date" and distinct:
            fmt = _date_format(distinct[:50])
            if fmt:
                rule["format"] = fmt
            else:
                comments.append("TODO: dates in an unknown format")
        todo: list[str] = []
        if spec.code_list or spec.type in ("country", "countries"):
            items = distinct
            if "split" in rule:
                items = list(
                    dict.fromkeys(i.strip() for v in distinct for i in v.split(str(rule["split"])))
                )
            if header in source.list_columns:
                items = list(dict.fromkeys(i for v in distinct for i in v.split(LIST_SEPARATOR)))
            value_map: dict[str, str] = {}
            for item in items:
                code = _code_for(item, spec)
                if code is None:
                    todo.append(item)
                elif code != item and spec.type not in ("country", "countries"):
                    value_map[item] = code
            if value_map:
                rule["values"] = value_map
        body = _yaml_inline(rule)
        lines.append(f"  {quoted}: {body}  # {'; '.join(comments)}")
        if todo:
            allowed = (
                "ISO 3166 codes"
                if spec.type in ("country", "countries")
                else ", ".join(load_code_lists()[spec.code_list or ""].values()[:12])
            )
            shown = ", ".join(repr(v) for v in todo[:15]) + (" ..." if len(todo) > 15 else "")
            lines.append(f"    # TODO map these values under values: {shown}")
            lines.append(f"    #   allowed: {allowed}")
    return "\n".join(lines) + "\n"

"""Build CTIP's machine-readable HTCDS v2.0 schema from IOM's published files.

The Human Trafficking Case Data Standard is published as an ODS spreadsheet (one row per
field, picklist values as newline-separated cells) plus a Markdown page of definitions. CTIP
reads neither at run time: this script turns them into ``src/ctip/model/data/htcds-2.0.json``,
which the code loads. Re-run it when IOM publishes a new version, review the diff, commit.

Usage::

    python scripts/build_htcds_schema.py [--htcds-dir ../shared/data/htcds] [--out PATH]
    python scripts/build_htcds_schema.py --check   # exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HTCDS_DIR = ROOT.parent / "shared" / "data" / "htcds"
DEFAULT_OUT = ROOT / "src" / "ctip" / "model" / "data" / "htcds-2.0.json"
STANDARD_FILE = "HTCDS Field Standards 2.0.ods"
DEFINITIONS_FILE = "Field Definitions.md"

# Picklists whose values are an external standard rather than an enumerated list.
EXTERNAL_CODE_LISTS = {
    "ISO 3166": "iso3166-1",
    "ISO 639": "iso639",
}

# Markdown sections of Field Definitions.md that define the values of one field, and how a
# row's first cell names the value: by value name with a prefix, or by value label.
DEFINITION_SECTIONS: dict[str, tuple[str, str]] = {
    "Methods Of Control": ("vic_MethodsOfControl", "MethodsOfControl"),
    "Trafficking Status": ("vic_TraffickingStatus", ""),
    "Labour Industry (TIER 1)": ("vic_ForcedLabourIndustry", ""),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lines(cell: object) -> list[str]:
    return [part.strip() for part in str(cell or "").split("\n") if part.strip()]


def _external_code_list(value_names: str, value_labels: str) -> str | None:
    text = f"{value_names} {value_labels}"
    for marker, code_list in EXTERNAL_CODE_LISTS.items():
        if marker in text:
            return code_list
    return None


FieldStandard = tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], list[dict[str, str]]]


def read_field_standard(path: Path) -> FieldStandard:
    """Return (fields, code lists, example assessment questions) from the ODS standard."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header = [str(h).strip() for h in rows[0]]
    index = {name: i for i, name in enumerate(header)}
    fields: list[dict[str, Any]] = []
    code_lists: dict[str, list[dict[str, Any]]] = {}
    questions: list[dict[str, str]] = []
    section = ""
    for row in rows[1:]:
        cells = [str(c).strip() if c is not None else "" for c in row]
        if cells[index["Section"]]:
            section = " ".join(cells[index["Section"]].split())
        name = cells[index["Field Name including Prefix"]]
        if not name:
            continue
        if name == "N/A":  # assessment sections list example questions, not fields
            label = " ".join(cells[index["Field Label"]].replace("EXAMPLE QUESTION", "").split())
            questions.append({"section": section, "question": label})
            continue
        field_type = cells[index["Field Type"]]
        status = cells[index["Status"]].upper()
        value_names = row[index["Value Names (if picklist)"]] or ""
        value_labels = row[index["Value Labels (if picklist)"]] or ""
        field: dict[str, Any] = {
            "name": name,
            "prefix": cells[index["Field Name Prefix"]],
            "short_name": cells[index["Field Name"]],
            "section": section,
            "label": cells[index["Field Label"]],
            "type": field_type,
            "multiple": field_type.lower().startswith("multiselect"),
            "status": status,
            "core": cells[index["Core"]].lower() == "core",
            "deprecated": status == "DEPRECATED",
            "salesforce": cells[index["Salesforce Standard or Custom"]],
            "description": cells[index["Description"]],
            "notes": cells[index["Notes"]],
            "code_list": None,
        }
        external = _external_code_list(str(value_names), str(value_labels))
        if external:
            field["code_list"] = external
        elif "picklist" in field_type.lower():
            names, labels = _lines(value_names), _lines(value_labels)
            if names:
                if len(labels) != len(names):
                    labels = names
                code_lists[name] = [
                    {"code": code, "label": label, "definition": ""}
                    for code, label in zip(names, labels, strict=True)
                ]
                field["code_list"] = name
        fields.append(field)
    return fields, code_lists, questions


_TABLE_ROW = re.compile(r"^\|\s*(?P<key>[^|]+?)\s*\|\s*(?P<definition>.*?)\s*\|?\s*$")


def read_definitions(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Return {section heading: [(first cell, definition), ...]} from the Markdown tables."""
    sections: dict[str, list[tuple[str, str]]] = {}
    heading = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            sections.setdefault(heading, [])
            continue
        match = _TABLE_ROW.match(line)
        if not match or set(match["key"]) <= {"-", " "}:
            continue
        key = match["key"].strip()
        if key in {"Field Name", "Field Label"}:
            continue
        sections.setdefault(heading, []).append((key, match["definition"].strip()))
    return sections


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def attach_definitions(
    code_lists: dict[str, list[dict[str, Any]]], definitions: dict[str, list[tuple[str, str]]]
) -> None:
    """Copy value definitions from the Markdown page onto the matching code-list entries."""
    for heading, (field_name, prefix) in DEFINITION_SECTIONS.items():
        entries = code_lists.get(field_name, [])
        by_key: dict[str, dict[str, Any]] = {}
        for entry in entries:
            by_key[_normalise(entry["code"])] = entry
            by_key[_normalise(entry["label"])] = entry
        for key, definition in definitions.get(heading, []):
            stripped = key[len(prefix) :] if prefix and key.startswith(prefix) else key
            match = by_key.get(_normalise(stripped))
            if match is not None:
                match["definition"] = definition


def labour_subdivisions(definitions: dict[str, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    """ISIC tier-2 and tier-3 labour subdivisions, kept as their own code list."""
    result: list[dict[str, Any]] = []
    tier2_parents = {
        "Agriculture, forestry and fishing",
        "Manufacturing",
        "Transportation and storage",
        "Accommodation and food service activities",
    }
    for heading, rows in definitions.items():
        parent = heading
        tier = 3
        if heading in tier2_parents or heading.startswith("Administrative and support"):
            tier = 2
        elif not rows or heading in DEFINITION_SECTIONS or heading.startswith("Labour"):
            continue
        for label, definition in rows:
            code = re.sub(r"[^A-Za-z0-9]+", " ", label).title().replace(" ", "")
            result.append(
                {
                    "code": code,
                    "label": label,
                    "definition": definition,
                    "tier": tier,
                    "parent": parent,
                }
            )
    return result


def build(htcds_dir: Path) -> dict[str, Any]:
    standard = htcds_dir / STANDARD_FILE
    definitions_path = htcds_dir / DEFINITIONS_FILE
    fields, code_lists, questions = read_field_standard(standard)
    definitions = read_definitions(definitions_path)
    attach_definitions(code_lists, definitions)
    code_lists["labour_subdivision"] = labour_subdivisions(definitions)
    sections: list[dict[str, str]] = []
    for field in fields:
        key = {"name": field["section"], "prefix": field["prefix"]}
        if key not in sections:
            sections.append(key)
    return {
        "standard": "IOM Human Trafficking Case Data Standard",
        "version": "2.0",
        "licence": "CC BY 4.0 (International Organization for Migration)",
        "generated_by": "scripts/build_htcds_schema.py",
        "sources": [
            {"file": STANDARD_FILE, "sha256": _sha256(standard)},
            {"file": DEFINITIONS_FILE, "sha256": _sha256(definitions_path)},
        ],
        "sections": sections,
        "fields": fields,
        "code_lists": code_lists,
        "assessment_questions": questions,
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--htcds-dir", type=Path, default=DEFAULT_HTCDS_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = parser.parse_args(argv)
    text = render(build(args.htcds_dir))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run scripts/build_htcds_schema.py", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

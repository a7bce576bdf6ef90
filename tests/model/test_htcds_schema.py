"""The HTCDS schema file is generated from IOM's files and carries what the standard says."""

from __future__ import annotations

import sys
from pathlib import Path

import jsonschema

from ctip.model.codes import load_code_lists
from ctip.model.fields import case_schema
from ctip.model.htcds import json_schema, load_htcds

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import build_htcds_schema  # noqa: E402


def test_committed_schema_matches_the_generator(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "htcds.json"
    assert (
        build_htcds_schema.main(["--htcds-dir", str(shared_data / "htcds"), "--out", str(out)]) == 0
    )
    committed = ROOT / "src" / "ctip" / "model" / "data" / "htcds-2.0.json"
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")


def test_schema_has_fields_sections_types_core_and_deprecated_flags() -> None:
    schema = load_htcds()
    gender = schema.field("prs_Gender")
    assert gender.section == "Person" and gender.core and gender.type == "Picklist"
    assert [c.code for c in schema.codes("prs_Gender")][:2] == ["Feminine", "Masculine"]
    control = schema.field("vic_MethodsOfControl")
    assert control.multiple and control.prefix == "vic_"
    assert schema.field("vic_Vulnerabilities").deprecated
    assert schema.field("prs_Citizenship").code_list == "iso3166-1"
    assert schema.field("prs_PrimaryLanguage").code_list == "iso639"
    debt = next(c for c in schema.codes("vic_MethodsOfControl") if c.code == "DebtBondage")
    assert "debt" in debt.definition.lower()
    assert all(f.name != "N/A" for f in schema.fields)


def test_json_schema_is_valid_and_enumerates_picklists() -> None:
    document = json_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    validator = jsonschema.Draft202012Validator(document)
    assert validator.is_valid({"prs_Gender": "Feminine", "prs_Citizenship": ["PH", "US"]})
    assert not validator.is_valid({"prs_Gender": "Female"})
    assert not validator.is_valid({"prs_Citizenship": ["Philippines"]})
    assert "vic_Vulnerabilities" not in document["properties"]
    assert "vic_Vulnerabilities" in json_schema(include_deprecated=True)["properties"]


def test_every_case_field_points_at_real_code_lists_and_htcds_fields() -> None:
    lists = load_code_lists()
    names = {f.name for f in load_htcds().fields}
    for spec in case_schema().fields:
        if spec.code_list:
            assert spec.code_list in lists, spec.name
        if spec.htcds:
            assert spec.htcds in names, spec.name


def test_extensions_are_marked_and_keep_htcds_codes() -> None:
    control = load_code_lists()["means_of_control"]
    debt, movement = control.get("DebtBondage"), control.get("RestrictsMovement")
    assert debt is not None and debt.source == "HTCDS" and not debt.extension
    assert movement is not None and movement.extension and movement.source == "CTDC"

"""Agency spreadsheets with their own headers, through YAML mappings."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ctip.errors import BadInputError
from ctip.export.cases import mapped_select
from ctip.ingest.importer import import_cases
from ctip.ingest.mapping import builtin_mapping, load_mapping, parse_mapping
from ctip.ingest.suggest import suggest_mapping
from ctip.settings import Settings
from ctip.workspace import Workspace

AGENCY_MAPPING = """
name: ngo-alpha
date_formats: ["%d/%m/%Y"]
missing_values: ["", "unknown", "?"]
columns:
  Case no: external_id
  Sex: {field: gender, values: {F: Feminine, M: Masculine}}
  Nationality: {field: citizenship, split: "/"}
  Born: birth_date
  Debt: {field: means_of_control, flag: DebtBondage}
  Documents taken: {field: means_of_control, flag: WithholdsDocuments}
  Control (other): {field: means_of_control, split: ";"}
  Exploitation: {field: exploitation_types, split: ";"}
  Recruited in: events.recruitment.country
  Recruited on: events.recruitment.date
  Exploited in (city): events.exploitation.city
  Exploited lat: events.exploitation.latitude
  Exploited lon: events.exploitation.longitude
  Notes: {keep: true}
  Internal: {ignore: true}
defaults:
  data_source: CaseManagement
"""

HEADER = [
    "Case no",
    "Sex",
    "Nationality",
    "Born",
    "Debt",
    "Documents taken",
    "Control (other)",
    "Exploitation",
    "Recruited in",
    "Recruited on",
    "Exploited in (city)",
    "Exploited lat",
    "Exploited lon",
    "Notes",
    "Internal",
]


@pytest.fixture
def agency_mapping(tmp_path: Path) -> Path:
    path = tmp_path / "ngo-alpha.yaml"
    path.write_text(AGENCY_MAPPING)
    return path


def test_mapped_spreadsheet_loads_with_values_splits_flags_dates_and_events(
    workspace: Workspace, write_csv: Callable[..., Path], agency_mapping: Path
) -> None:
    path = write_csv(
        "alpha.csv",
        [
            HEADER,
            [
                "A-1",
                "F",
                "PH/Viet Nam",
                "03/02/1999",
                "yes",
                "no",
                "Threats; false promises",
                "Forced labour",
                "PHL",
                "01/06/2019",
                "Dubai",
                "25.2",
                "55.3",
                "met at shelter",
                "x",
            ],
            [
                "A-2",
                "M",
                "unknown",
                "",
                "",
                "1",
                "",
                "sexual exploitation",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ],
    )
    report = import_cases(workspace, path, mapping_path=agency_mapping)
    assert (report.input_format, report.loaded, report.quarantined) == ("mapped", 2, 0)
    rows = workspace.engine.records(
        "SELECT external_id, gender, citizenship, birth_date, means_of_control,"
        " means_of_control_ruled_out,"
        " exploitation_types, data_source, extra FROM cases ORDER BY row_number"
    )
    assert rows[0] == {
        "external_id": "A-1",
        "gender": "Feminine",
        "citizenship": ["PH", "VN"],
        "birth_date": date(1999, 2, 3),
        "means_of_control": ["DebtBondage", "FalsePromises", "Threats"],
        "means_of_control_ruled_out": ["WithholdsDocuments"],
        "exploitation_types": ["ForcedLabour"],
        "data_source": "CaseManagement",
        "extra": '{"Notes":"met at shelter"}',
    }
    assert rows[1]["citizenship"] == [] and rows[1]["means_of_control"] == ["WithholdsDocuments"]
    assert rows[1]["exploitation_types"] == ["SexualExploitation"]
    events = workspace.engine.records(
        "SELECT event_type, country, city, latitude, longitude, date FROM case_events"
        " ORDER BY event_type"
    )
    assert events == [
        {
            "event_type": "Exploitation",
            "country": None,
            "city": "Dubai",
            "latitude": 25.2,
            "longitude": 55.3,
            "date": None,
        },
        {
            "event_type": "Recruitment",
            "country": "PH",
            "city": None,
            "latitude": None,
            "longitude": None,
            "date": date(2019, 6, 1),
        },
    ]


def test_mapped_rows_fail_with_field_and_reason(
    workspace: Workspace, write_csv: Callable[..., Path], agency_mapping: Path
) -> None:
    path = write_csv(
        "alpha.csv",
        [
            HEADER,
            [
                "A-3",
                "X",
                "Narnia",
                "31/02/1999",
                "perhaps",
                "",
                "",
                "",
                "",
                "",
                "",
                "95",
                "",
                "",
                "",
            ],
            ["A-4", "F", "PH", "01/01/2090", "", "", "", "", "", "", "", "", "", "", ""],
        ],
    )
    report = import_cases(workspace, path, mapping_path=agency_mapping)
    assert (report.loaded, report.quarantined) == (0, 2)
    errors = {
        r["row_number"]: {(e["column"], e["field"]): e["reason"] for e in r["errors"]}
        for r in workspace.engine.records("SELECT row_number, errors FROM quarantine")
    }
    assert set(errors[2]) == {
        ("Sex", "gender"),
        ("Nationality", "citizenship"),
        ("Born", "birth_date"),
        ("Debt", "means_of_control"),
        ("Exploited lat", "events.exploitation.latitude"),
    }
    assert errors[2][("Born", "birth_date")] == "not a date in the format %d/%m/%Y"
    assert (
        errors[2][("Exploited lat", "events.exploitation.latitude")]
        == "outside the range -90 to 90"
    )
    assert errors[3] == {("Born", "birth_date"): "in the future"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\ncolumns:\n  A: no_such_field\n", "unknown field 'no_such_field'"),
        ("name: x\ncolumns:\n  A: {field: gender, flag: X}\n", "flag needs a list-of-codes field"),
        (
            "name: x\ncolumns:\n  A: {field: means_of_control, flag: Nope}\n",
            "'Nope' is not a means_of_control code",
        ),
        ("name: x\ncolumns:\n  A: {field: gender, values: {F: Woman}}\n", "maps to 'Woman'"),
        ("name: x\ncolumns:\n  A: {field: gender, split: ';'}\n", "split needs a list field"),
        ("name: x\ncolumns:\n  A: {field: gender, keep: true}\n", "exactly one of"),
        ("columns: {}\n", "name"),
        ("- not a mapping\n", "a mapping file is a YAML object"),
    ],
)
def test_bad_mappings_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(BadInputError) as error:
        parse_mapping(text, "m.yaml")
    assert message in str(error.value)


def test_two_columns_filling_one_field_are_refused(
    workspace: Workspace, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("name: x\ncolumns:\n  Sex: gender\n  Gender: gender\n")
    path = write_csv("a.csv", [["Sex", "Gender"], ["F", "M"]])
    with pytest.raises(BadInputError, match="both fill 'gender'"):
        import_cases(workspace, path, mapping_path=mapping)


def test_htcds_toolkit_spreadsheet_skips_its_label_row(
    workspace: Workspace, shared_data: Path
) -> None:
    report = import_cases(workspace, shared_data / "htcds" / "HTCDS Excel Spreadsheet v2.0.xlsx")
    assert report.input_format == "htcds"
    assert (report.read, report.loaded, report.quarantined) == (0, 0, 0)
    assert report.blank == 1000


def test_suggest_drafts_a_mapping_that_imports(
    workspace: Workspace, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        "intake.csv",
        [
            ["Case ID", "Sex", "Nationality", "Date of birth", "Type of exploitation", "Shoe size"],
            ["1", "F", "Philippines", "1990-03-04", "Forced labour;Sexual exploitation", "38"],
            ["2", "M", "VNM", "1985-12-01", "Forced labour", "44"],
            ["3", "F", "UA", "", "Domestic servitude", "39"],
        ],
    )
    draft = suggest_mapping(path)
    parsed = yaml.safe_load(draft)
    columns = parsed["columns"]
    assert columns["Case ID"]["field"] == "external_id"
    assert columns["Sex"] == {"field": "gender", "values": {"F": "Feminine", "M": "Masculine"}}
    assert columns["Nationality"]["field"] == "citizenship"
    assert columns["Date of birth"] == {"field": "birth_date", "format": "%Y-%m-%d"}
    assert columns["Type of exploitation"]["split"] == ";"
    assert columns["Shoe size"] == {"keep": True}
    assert "'Domestic servitude'" in draft  # listed for the analyst to map
    mapping_path = path.with_suffix(".yaml")
    mapping_path.write_text(draft)
    load_mapping(mapping_path)
    report = import_cases(workspace, path, mapping_path=mapping_path)
    assert (report.loaded, report.quarantined) == (2, 1)


# --- property: any records written through a mapping come back the same ------------------

GENDERS = ["Feminine", "Masculine", "Transgender"]
CONTROL = ["DebtBondage", "Threats", "WithholdsDocuments", "RestrictsMovement"]
COUNTRIES = ["PH", "UA", "MD", "US", "KH", "ID", "XK"]
flags = st.sampled_from(["1", "0", "-99"])
record = st.fixed_dictionaries(
    {
        "gender": st.sampled_from([*GENDERS, None]),
        "citizenship": st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=3),
        "year": st.one_of(st.none(), st.integers(1995, 2024)),
        "born": st.one_of(st.none(), st.dates(date(1950, 1, 1), date(2010, 12, 31))),
        "control": st.fixed_dictionaries(dict.fromkeys(CONTROL, flags)),
        "note": st.one_of(
            st.none(),
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                min_size=1,
                max_size=20,
            )
            .map(str.strip)
            .filter(bool),
        ),
    }
).filter(lambda r: not (r["year"] and r["born"] and r["born"].year > r["year"]))  # type: ignore[union-attr, operator]

PROPERTY_MAPPING = """
name: property
missing_values: ["", "-99"]
date_formats: ["%d.%m.%Y"]
columns:
  G: {field: gender, values: {W: Feminine, Man: Masculine}}
  C: {field: citizenship, split: "|"}
  Y: year_of_registration
  B: birth_date
  N: {keep: true}
""" + "".join(f"  F{c}: {{field: means_of_control, flag: {c}}}\n" for c in CONTROL)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(record, min_size=1, max_size=15))
@example(
    rows=[
        {
            "gender": "Feminine",
            "citizenship": ["PH"],
            "year": 2019,
            "born": None,
            "control": dict.fromkeys(CONTROL, "1"),
            "note": "x",
        },
        {
            "gender": None,
            "citizenship": [],
            "year": None,
            "born": None,
            "control": dict.fromkeys(CONTROL, "-99"),
            "note": None,
        },
    ]
)
def test_mapping_round_trip_property(
    rows: list[dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    mapping_path = folder / "m.yaml"
    mapping_path.write_text(PROPERTY_MAPPING)
    mapping = load_mapping(mapping_path)
    inverse_gender = {"Feminine": "W", "Masculine": "Man", "Transgender": "Transgender"}
    path = folder / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["G", "C", "Y", "B", "N", *[f"F{c}" for c in CONTROL]])
        for r in rows:
            born = r["born"]
            writer.writerow(
                [
                    inverse_gender.get(r["gender"], "") if r["gender"] else "",  # type: ignore[arg-type]
                    "|".join(r["citizenship"]),  # type: ignore[arg-type]
                    r["year"] or "",
                    born.strftime("%d.%m.%Y") if isinstance(born, date) else "",
                    r["note"] or "",
                    *[r["control"][c] for c in CONTROL],  # type: ignore[index]
                ]
            )
    # A row with nothing but missing values is a blank line to the importer: counted, not loaded.
    blank = [
        not (r["gender"] or r["citizenship"] or r["year"] or r["born"] or r["note"])
        and all(flag == "-99" for flag in r["control"].values())  # type: ignore[attr-defined]
        for r in rows
    ]
    rows = [r for r, is_blank in zip(rows, blank, strict=True) if not is_blank]
    with Workspace.open(Settings(workspace=folder / "ws"), create=True) as workspace:
        report = import_cases(workspace, path, mapping_path=mapping_path)
        assert report.loaded == len(rows) and report.quarantined == 0
        assert report.blank == sum(blank)
        stored = workspace.engine.records(
            "SELECT gender, citizenship, year_of_registration, birth_date, means_of_control,"
            " means_of_control_ruled_out FROM cases ORDER BY row_number"
        )
        for original, got in zip(rows, stored, strict=True):
            assert got["gender"] == original["gender"]
            assert got["citizenship"] == sorted(original["citizenship"])  # type: ignore[type-var]
            assert got["year_of_registration"] == original["year"]
            assert got["birth_date"] == original["born"]
            control = original["control"]
            assert got["means_of_control"] == sorted(c for c in CONTROL if control[c] == "1")  # type: ignore[index]
            assert got["means_of_control_ruled_out"] == sorted(
                c for c in CONTROL if control[c] == "0"
            )  # type: ignore[index]
        exported = workspace.engine.records(mapped_select(mapping, ""))
        for original, back in zip(rows, exported, strict=True):
            assert back["N"] == (original["note"] or "")
            assert back["C"] == "|".join(sorted(original["citizenship"]))  # type: ignore[type-var]
            assert back["G"] == (inverse_gender[original["gender"]] if original["gender"] else "")  # type: ignore[index]


def test_builtin_mappings_parse() -> None:
    for name in ("ctdc", "ctdc-vp", "htcds"):
        assert builtin_mapping(name).name == name


def test_a_file_with_no_mapped_column_is_refused(
    workspace: Workspace, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("odd.csv", [["first_name", "colour"], ["Ann", "red"]])
    with pytest.raises(BadInputError, match="no column of this file maps to a case field"):
        import_cases(workspace, path, input_format="htcds")

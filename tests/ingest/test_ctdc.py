"""CTDC global and victim-perpetrator formats: the shared files load completely, re-imports
add nothing, broken rows are quarantined by field, and export -> import gives the same records."""

from __future__ import annotations

import csv
import gzip
import io
import random
from pathlib import Path

import pandas as pd

from ctip.export.cases import export_cases
from ctip.ingest.importer import import_cases
from ctip.synth.ctdc import COLUMNS, write_ctdc_csv
from ctip.workspace import Workspace

PROVENANCE = ["case_id", "source", "import_id", "file_sha256", "row_number", "imported_at"]


def records(workspace: Workspace, import_id: str) -> pd.DataFrame:
    frame = workspace.engine.to_arrow(
        "SELECT * EXCLUDE (case_id, source, import_id, file_sha256, imported_at)"
        " FROM cases WHERE import_id = ? ORDER BY row_number",
        [import_id],
    ).to_pandas()
    return frame.drop(columns=["row_number"]).reset_index(drop=True)


def test_shared_subset_loads_every_row_and_reimport_adds_nothing(
    workspace: Workspace, shared_data: Path
) -> None:
    path = shared_data / "ctdc" / "ctdc_global_2020_subset.csv.gz"
    expected_rows = (
        sum(1 for _ in csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode()))) - 1
    )
    first = import_cases(workspace, path)
    assert first.input_format == "ctdc"
    assert first.read == expected_rows == 48_773
    assert first.read == first.loaded + first.quarantined + first.duplicates
    assert first.loaded == expected_rows  # identical k-anonymised rows are different people
    assert any("nacionalidade" in w for w in first.warnings)
    second = import_cases(workspace, path)
    assert (second.read, second.loaded, second.quarantined, second.duplicates) == (
        48_773,
        0,
        0,
        48_773,
    )
    assert workspace.engine.scalar("SELECT count(*) FROM cases") == 48_773


def test_shared_subset_values_match_the_file(workspace: Workspace, shared_data: Path) -> None:
    path = shared_data / "ctdc" / "ctdc_global_2020_subset.csv.gz"
    report = import_cases(workspace, path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    stored = workspace.engine.to_arrow(
        "SELECT row_number, year_of_registration, gender, citizenship, country_of_exploitation,"
        " exploitation_types, exploitation_types_ruled_out FROM cases WHERE import_id = ?"
        " ORDER BY row_number",
        [report.import_id],
    ).to_pandas()
    assert stored["row_number"].tolist() == list(range(2, len(raw) + 2))
    assert stored["year_of_registration"].astype(str).tolist() == raw["yearOfRegistration"].tolist()
    genders = raw["gender"].map({"Female": "Feminine", "Male": "Masculine"})
    assert stored["gender"].tolist() == genders.tolist()
    citizenship = [[] if v in ("", "0") else [v] for v in raw["citizenship"]]
    assert [list(v) for v in stored["citizenship"]] == citizenship
    forced = raw["isForcedLabour"] == "1.0"
    has_forced = stored["exploitation_types"].map(lambda v: "ForcedLabour" in list(v))
    assert has_forced.tolist() == forced.tolist()
    ruled_out = stored["exploitation_types_ruled_out"].map(lambda v: "ForcedLabour" in list(v))
    assert ruled_out.tolist() == (raw["isForcedLabour"] == "0.0").tolist()


def test_victim_perpetrator_file_loads_and_round_trips(
    workspace: Workspace, shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "ctdc" / "CTDC_VPsynthetic_condensed.csv.gz"
    report = import_cases(workspace, path)
    assert report.input_format == "ctdc-vp"
    assert report.loaded == report.read == 21_195
    row = workspace.engine.records(
        "SELECT perpetrator_genders, victim_paid_perpetrator, perpetrator_roles FROM cases"
        " WHERE import_id = ? AND row_number = 2",
        [report.import_id],
    )[0]
    assert row == {
        "perpetrator_genders": ["Feminine", "Masculine"],
        "victim_paid_perpetrator": ["No", "Yes"],
        "perpetrator_roles": [
            "ControlAbuseKidnap",
            "Exploiter",
            "RecruiterBroker",
            "TransactionProcess",
        ],
    }
    out = tmp_path / "vp.csv"
    export_cases(workspace.engine, out, "ctdc-vp", f"c.import_id = '{report.import_id}'")
    again = import_cases(workspace, out)
    assert again.loaded == report.loaded
    pd.testing.assert_frame_equal(
        records(workspace, report.import_id).drop(columns=["extra"]),
        records(workspace, again.import_id).drop(columns=["extra"]),
    )


def test_ctdc_export_then_import_gives_the_same_records(
    workspace: Workspace, tmp_path: Path
) -> None:
    generated = write_ctdc_csv(tmp_path / "gen.csv", 3000, seed=11)
    first = import_cases(workspace, generated.path)
    assert first.loaded == 3000
    out = tmp_path / "export.csv"
    export_cases(workspace.engine, out, "ctdc", f"c.import_id = '{first.import_id}'")
    with out.open() as handle:
        header = next(csv.reader(handle))
    assert header == COLUMNS and len(header) == 63
    second = import_cases(workspace, out)
    assert second.loaded == 3000 and second.duplicates == 0
    pd.testing.assert_frame_equal(
        records(workspace, first.import_id), records(workspace, second.import_id)
    )
    original = pd.read_csv(generated.path, dtype=str, keep_default_na=False)
    exported = pd.read_csv(out, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(original, exported)


def test_broken_rows_are_quarantined_with_the_field_named(
    workspace: Workspace, tmp_path: Path
) -> None:
    generated = write_ctdc_csv(tmp_path / "broken.csv", 5000, seed=3, bad_share=0.04)
    report = import_cases(workspace, generated.path)
    assert report.read == 5000 == report.loaded + report.quarantined
    assert report.quarantined == len(generated.broken) > 100
    entries = workspace.engine.records(
        "SELECT row_number, errors FROM quarantine WHERE import_id = ?", [report.import_id]
    )
    by_row = {e["row_number"]: e["errors"] for e in entries}
    assert set(by_row) == set(generated.broken)
    for row_number, column in generated.broken.items():
        errors = by_row[row_number]
        assert any(column in (e["column"] or "") for e in errors), (row_number, column, errors)
        assert all(e["field"] and e["reason"] for e in errors)


def test_a_file_with_a_subset_of_columns_imports(workspace: Workspace, write_csv) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(
        "few.csv",
        [
            ["gender", "citizenship", "yearOfRegistration", "CountryOfExploitation", "colour"],
            ["Male", "UA", "2015", "RU", "blue"],
            ["Female", "-99", "2016", "", ""],
        ],
    )
    report = import_cases(workspace, path)
    assert report.input_format == "ctdc" and report.loaded == 2
    assert report.warnings == ["columns not in the ctdc mapping (kept in extra): colour"]
    rows = workspace.engine.records(
        "SELECT gender, citizenship, means_of_control, extra FROM cases ORDER BY row_number"
    )
    assert rows[0] == {
        "gender": "Masculine",
        "citizenship": ["UA"],
        "means_of_control": [],
        "extra": '{"colour":"blue"}',
    }
    assert rows[1]["citizenship"] == [] and rows[1]["extra"] is None


def test_identical_rows_all_load(workspace: Workspace, write_csv) -> None:  # type: ignore[no-untyped-def]
    row = ["2016", "Female", "PH", "US"]
    path = write_csv(
        "same.csv",
        [["yearOfRegistration", "gender", "citizenship", "CountryOfExploitation"], *[row] * 25],
    )
    report = import_cases(workspace, path)
    assert report.loaded == 25
    ids = [r[0] for r in workspace.engine.rows("SELECT DISTINCT case_id FROM cases")]
    assert len(ids) == 25


def test_provenance_is_kept_on_every_record(workspace: Workspace, tmp_path: Path) -> None:
    generated = write_ctdc_csv(tmp_path / "p.csv", 50, seed=random.randint(0, 1000))
    report = import_cases(workspace, generated.path, source="NGO Alpha")
    rows = workspace.engine.records(
        f"SELECT {', '.join(PROVENANCE)} FROM cases ORDER BY row_number"
    )
    assert [r["row_number"] for r in rows] == list(range(2, 52))
    assert {r["source"] for r in rows} == {"NGO Alpha"}
    assert {r["import_id"] for r in rows} == {report.import_id}
    assert {r["file_sha256"] for r in rows} == {report.file_sha256}
    assert all(r["imported_at"] is not None for r in rows)
    assert rows[0]["case_id"] == f"{report.file_sha256[:12]}-2"


def test_rows_of_empty_cells_count_as_blank(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(
        "gender,citizenship,yearOfRegistration,CountryOfExploitation\n"
        "Female,PH,2016,US\n,,,\n  ,-99,,\nMale,UA,2017,RU\n"
    )
    report = import_cases(workspace, path)
    assert (report.read, report.loaded, report.blank) == (2, 2, 2)
    rows = [r[0] for r in workspace.engine.rows("SELECT row_number FROM cases ORDER BY 1")]
    assert rows == [2, 5]

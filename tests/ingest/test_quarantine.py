"""The fix loop: export quarantined rows, correct them, import the file, they load with their
original provenance; importing the same fixes again adds nothing."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from ctip.errors import BadInputError, NotFoundError
from ctip.ingest import quarantine
from ctip.ingest.importer import import_cases
from ctip.workspace import Workspace

HEADER = ["yearOfRegistration", "gender", "citizenship", "CountryOfExploitation", "isForcedLabour"]


def test_fix_and_reimport(
    workspace: Workspace, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_csv(
        "cases.csv",
        [
            HEADER,
            ["2016", "Female", "PH", "US", "1"],
            ["2O16", "Female", "PH", "US", "1"],
            ["2017", "Mael", "UA", "RU", "0"],
            ["2018", "Male", "MD", "RU", "yes please"],
        ],
    )
    report = import_cases(workspace, path)
    assert (report.loaded, report.quarantined) == (1, 3)
    listed = quarantine.list_entries(workspace.engine)
    assert [e["row_number"] for e in listed] == [3, 4, 5]
    assert listed[1]["errors"] == [
        "gender: not a gender code (Feminine, Masculine, TransgenderFeminine, TransgenderMasculine,"
        " NonConforming, NonSpecifiedUnknown, Transgender)"
    ]
    shown = quarantine.show_entry(workspace.engine, listed[0]["quarantine_id"])
    assert shown["raw"]["yearOfRegistration"] == "2O16"

    fixes = tmp_path / "fixes.csv"
    assert quarantine.export_entries(workspace.engine, fixes) == 3
    with fixes.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["_ctip_quarantine_id", "_ctip_errors", *HEADER]
    rows[1][2] = "2016"  # fix the year
    rows[2][3] = "Male"  # fix the gender; leave row 5 broken
    with fixes.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)

    fixed = import_cases(workspace, fixes)
    assert fixed.fixes_import_id == report.import_id
    assert (fixed.read, fixed.loaded, fixed.quarantined, fixed.duplicates) == (3, 2, 1, 0)
    stored = workspace.engine.records(
        "SELECT row_number, file_sha256, source, year_of_registration, gender FROM cases"
        " ORDER BY row_number"
    )
    assert [(r["row_number"], r["year_of_registration"], r["gender"]) for r in stored] == [
        (2, 2016, "Feminine"),
        (3, 2016, "Feminine"),
        (4, 2017, "Masculine"),
    ]
    assert {r["file_sha256"] for r in stored} == {report.file_sha256}
    assert {r["source"] for r in stored} == {"cases"}
    still_open = quarantine.list_entries(workspace.engine)
    assert [e["row_number"] for e in still_open] == [5]

    again = import_cases(workspace, fixes)
    assert (again.loaded, again.duplicates) == (0, 2)
    assert workspace.engine.scalar("SELECT count(*) FROM cases") == 3


def test_ragged_rows_reach_quarantine(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "gender,citizenship,yearOfRegistration,CountryOfExploitation\nFemale,PH,2016,US\nMale,UA\n"
    )
    report = import_cases(workspace, path)
    assert (report.read, report.loaded, report.quarantined) == (2, 1, 1)
    entry = quarantine.list_entries(workspace.engine)[0]
    assert entry["row_number"] == 3 and entry["errors"] == ["row has 2 fields, the header has 4"]


def test_export_needs_an_import_when_several_are_open(
    workspace: Workspace, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    for name in ("a.csv", "b.csv"):
        import_cases(
            workspace,
            write_csv(
                name, [HEADER, ["1800", "Female", "PH", "US", "1"], [name, "Male", "UA", "RU", "0"]]
            ),
        )
    with pytest.raises(BadInputError, match="choose one with --import"):
        quarantine.export_entries(workspace.engine, tmp_path / "x.csv")
    with pytest.raises(NotFoundError):
        quarantine.show_entry(workspace.engine, "q-nope")

"""Incident import: checks, quarantine, provenance, re-imports and the fix loop."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ctip.spatial.incidents import IncidentColumns, import_incidents
from ctip.workspace import Workspace
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
COLUMNS = IncidentColumns("lat", "lon", "when", category="kind", id="ref")
HEADER = ["ref", "when", "lat", "lon", "kind", "note"]
GOOD = [
    ["A1", "2021-03-01 10:15", "52.5", "13.4", "theft", "n1"],
    ["A2", "2021-03-02", "52.51", "13.41", "assault", ""],
    ["A3", "2021/03/04 22:00", "52.49", "13.39", "theft", "x"],
]
BAD = [
    ["B1", "2021-03-05", "95.0", "13.4", "theft", ""],  # latitude out of range
    ["B2", "2021-03-05", "north", "13.4", "theft", ""],  # not a number
    ["B3", "", "52.5", "13.4", "theft", ""],  # missing time
    ["B4", "05/03/2021", "52.5", "13.4", "theft", ""],  # ambiguous day/month order
    ["B5", "2999-01-01", "52.5", "13.4", "theft", ""],  # future
    ["B6", "2021-03-05", "0", "0", "theft", ""],  # null island
    ["A1", "2021-03-06", "52.5", "13.4", "theft", ""],  # repeated id
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def test_good_rows_load_with_provenance_and_bad_rows_are_quarantined(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _write(tmp_path / "inc.csv", GOOD + BAD)
    report = import_incidents(workspace, path, COLUMNS)
    assert (report.read, report.loaded, report.quarantined, report.duplicates) == (10, 3, 7, 0)
    stored = workspace.engine.records("SELECT * FROM incidents ORDER BY row_number")
    first = stored[0]
    assert first["external_id"] == "A1" and first["category"] == "theft"
    assert first["occurred_at"] == datetime(2021, 3, 1, 10, 15)
    assert first["time_precision"] == "second" and stored[1]["time_precision"] == "day"
    assert first["row_number"] == 2 and first["file_sha256"] == report.file_sha256
    assert first["import_id"] == report.import_id and first["source"] == "inc"
    assert json.loads(first["extra"]) == {"note": "n1"}
    reasons = {
        row["row_number"]: row["reasons"]
        for row in workspace.engine.records(
            "SELECT row_number, list_transform(errors, lambda e: e.field || ': ' || e.reason)"
            " AS reasons FROM quarantine WHERE kind = 'incidents'"
        )
    }
    assert reasons[5] == ["latitude: outside -90..90"]
    assert reasons[6] == ["latitude: not a number"]
    assert reasons[7] == ["time: missing"]
    assert "time-format" in reasons[8][0]
    assert reasons[9] == ["time: in the future"]
    assert "placeholder" in reasons[10][0]
    assert reasons[11] == ["external_id: incident id repeats row 2 of this file"]
    again = import_incidents(workspace, path, COLUMNS)
    assert (again.loaded, again.quarantined, again.duplicates) == (0, 0, 10)


def test_ids_already_stored_and_separate_hours(workspace: Workspace, tmp_path: Path) -> None:
    import_incidents(workspace, _write(tmp_path / "a.csv", GOOD), COLUMNS)
    second = _write(tmp_path / "b.csv", [["A2", "2021-04-01", "52.5", "13.4", "theft", "n"]])
    report = import_incidents(workspace, second, COLUMNS)
    assert report.quarantined == 1
    hours = tmp_path / "h.csv"
    hours.write_text("d,h,y,x\n2021-01-02,7,10.5,20.5\n2021-01-02,24,10.5,20.5\n")
    report = import_incidents(workspace, hours, IncidentColumns("y", "x", "d", hour="h"))
    assert (report.loaded, report.quarantined) == (1, 1)
    row = workspace.engine.records("SELECT * FROM incidents WHERE source = 'h'")[0]
    assert row["occurred_at"] == datetime(2021, 1, 2, 7) and row["time_precision"] == "hour"


def test_parquet_and_jsonl_read_like_csv(workspace: Workspace, tmp_path: Path) -> None:
    table = pa.table({name: [r[i] for r in GOOD] for i, name in enumerate(HEADER)})
    pq.write_table(table, tmp_path / "inc.parquet")
    lines = [json.dumps(dict(zip(HEADER, r, strict=True))) for r in GOOD]
    (tmp_path / "inc.jsonl").write_text("\n".join(lines) + "\n")
    columns = IncidentColumns("lat", "lon", "when", category="kind")
    for name in ("inc.parquet", "inc.jsonl"):
        report = import_incidents(workspace, tmp_path / name, columns)
        assert report.loaded == 3, name


def test_cli_import_errors_and_the_fix_loop(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path / "inc.csv", GOOD + BAD)
    args = ["import", "incidents", path, "--lat", "lat", "--lon", "lon", "--time", "when"]
    missing = cli(*args[:3], "--lat", "latitude", "--lon", "lon", "--time", "when")
    assert missing.code == 2 and "no column 'latitude'" in missing.err
    assert "Traceback" not in missing.err
    result = cli(*args, "--id", "ref", "--category", "kind", "--format", "json")
    assert result.code == 0, result.err
    report = result.last_json()
    assert isinstance(report, dict) and report["quarantined"] == 7
    fix = tmp_path / "fix.csv"
    assert cli("quarantine", "export", "--out", fix, "--import", report["import_id"]).code == 0
    with fix.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["lat"], row["lon"], row["when"] = "52.5", "13.4", "2021-03-05"
        if row["ref"] == "A1":
            row["ref"] = "A1-second"
    with fix.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    fixed = cli(
        "import", "incidents", fix, "--lat", "x", "--lon", "y", "--time", "z", "--format", "json"
    )
    assert fixed.code == 0, fixed.err
    outcome = fixed.last_json()
    assert isinstance(outcome, dict) and outcome["loaded"] == 7 and outcome["quarantined"] == 0
    assert outcome["fixes_import_id"] == report["import_id"]
    listed = cli("quarantine", "list", "--format", "json").json()
    assert listed == []

"""The ads commands end to end on a generated file and on the workspace."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from ctip.ads.generate import generate_ads
from ctip.capabilities import ReportContext
from ctip.settings import Settings
from ctip.workspace import Workspace
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def jsonl(result: CliResult) -> list[dict[str, Any]]:
    rows = result.jsonl()
    assert all(isinstance(r, dict) for r in rows), result.err
    return [cast(dict[str, Any], r) for r in rows]


def last(result: CliResult) -> dict[str, Any]:
    found = result.last_json()
    assert isinstance(found, dict), result.err
    return found


@pytest.fixture
def ads_file(tmp_path: Path) -> Path:
    return generate_ads(400, seed=4).write(tmp_path / "ads.jsonl")


def test_import_quarantines_bad_rows_and_is_idempotent(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "ads.csv"
    path.write_text(
        "id,title,body,posted_at,age\n"
        "a1,Hi,Call 702-555-0123,2025-03-01T10:00,22\n"
        "a2,,,2025-03-01,\n"
        "a3,Hello,text,not a date,\n"
        "a4,Hey,text,2025-03-02,abc\n"
        "a1,Again,same id,2025-03-03,\n"
        "a5,Fine,fine,03/04/2025 10:30,30\n",
        encoding="utf-8",
    )
    report = last(cli("import", "ads", path, "--format", "json"))
    assert (report["read"], report["loaded"], report["quarantined"]) == (6, 2, 4)
    reasons = {r["field"] for r in report["quarantine_reasons"]}
    assert reasons == {"body", "posted_at", "age", "id"}
    again = last(cli("import", "ads", path, "--format", "json"))
    assert again["duplicates"] == 6 and again["loaded"] == 0
    listed = jsonl(cli("quarantine", "list", "--format", "jsonl"))
    assert len(listed) == 4


def test_bad_files_exit_2(cli: Cli, tmp_path: Path) -> None:
    missing = cli("import", "ads", tmp_path / "nope.jsonl")
    assert missing.code == 2 and "no such file" in missing.err and "Traceback" not in missing.err
    odd = tmp_path / "odd.csv"
    odd.write_text("colour,shape\nred,round\n")
    result = cli("import", "ads", odd)
    assert result.code == 2 and "no ad text column" in result.err
    assert cli("ads", "extract").code == 2  # no workspace yet


def test_extract_from_a_file_without_a_workspace(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "x1", "title": "Amy 7O2", "body": "555 O123 $150/hr"}) + "\n")
    rows = jsonl(cli("ads", "extract", path, "--format", "jsonl"))
    assert rows[0]["id"] == "x1"
    phone = rows[0]["phones"][0]
    assert phone["value"] == "+17025550123" and len(phone["evidence"]) == 2
    assert cli("ads", "extract", path, "--format", "csv").out.startswith("id,phones,emails")


def test_workspace_pipeline_and_decisions(cli: Cli, ads_file: Path, tmp_path: Path) -> None:
    assert cli("import", "ads", ads_file, "--format", "json").code == 0
    extracted = jsonl(cli("ads", "extract", "--format", "jsonl"))
    assert len(extracted) == 400 and all(set(r) >= {"id", "phones", "crypto"} for r in extracted)
    screened = jsonl(cli("ads", "screen", "--format", "jsonl"))
    flagged = next(r for r in screened if r["indicators"])
    code = flagged["indicators"][0]["code"]
    clusters = jsonl(cli("ads", "cluster", "--format", "jsonl"))
    assert len(clusters) == 400 and {"id", "cluster"} == set(clusters[0])
    summary = jsonl(cli("ads", "cluster", "--summary", "--format", "jsonl"))
    assert summary and "template" in summary[0] and "slots" in summary[0]
    networks = jsonl(cli("ads", "networks", "--format", "jsonl"))
    keys = {"network", "ids", "phones", "emails", "handles", "sites", "first_seen", "last_seen"}
    assert networks and keys <= set(networks[0])

    # a rejected flag disappears from later screening of that ad
    target = f"{flagged['id']}:{code}"
    assert cli("ads", "decide", "flag", target, "--reject", "--by", "tester").code == 0
    again = {r["id"]: r for r in jsonl(cli("ads", "screen", "--format", "jsonl"))}
    assert code not in {i["code"] for i in again[flagged["id"]]["indicators"]}

    # a rejected link no longer joins ads into networks
    biggest = max(networks, key=lambda n: n["size"])
    phone = biggest["phones"][0]
    cli("ads", "decide", "link", f"phone:{phone}", "--reject", "--note", "test")
    after = jsonl(cli("ads", "networks", "--links", "phone", "--format", "jsonl"))
    assert all(phone not in n["phones"] for n in after)

    # a rejected cluster is not grouped again
    cluster = summary[0]["cluster"]
    cli("ads", "decide", "cluster", cluster, "--reject")
    regrouped = jsonl(cli("ads", "cluster", "--format", "jsonl"))
    sizes: dict[str, int] = {}
    for row in regrouped:
        sizes[row["cluster"]] = sizes.get(row["cluster"], 0) + 1
    assert sizes.get(cluster, 0) < summary[0]["size"]

    decisions = jsonl(cli("ads", "decisions", "--format", "jsonl"))
    assert [d["target_kind"] for d in decisions] == ["flag", "link", "cluster"]
    assert decisions[0]["analyst"] == "tester"
    assert cli("ads", "decide", "flag", "nope:SX-YOUTH", "--reject").code == 2

    out = tmp_path / "ads.ftm.jsonl"
    assert cli("export", "ads", "--out", out).code == 0
    schemas = {json.loads(line)["schema"] for line in out.read_text().splitlines()}
    assert {"Document", "UnknownLink"} <= schemas


def test_screen_messages(cli: Cli, tmp_path: Path) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text(
        "3/1/25, 9:41 PM - A: see you tomorrow\n"
        "3/1/25, 9:42 PM - B: he took my passport, I cant leave\n"
        "please help\n"
        "3/1/25, 9:43 PM - A: ok\n",
        encoding="utf-8",
    )
    rows = jsonl(cli("screen", "messages", chat, "--format", "jsonl"))
    assert len(rows) == 1 and rows[0]["sender"] == "B"
    codes = {i["code"] for i in rows[0]["indicators"]}
    assert {"MS-DOCUMENTS-HELD", "MS-CANNOT-LEAVE", "MS-ASKING-FOR-HELP"} <= codes
    table = tmp_path / "messages.csv"
    table.write_text("id,sender,message\nm1,X,you owe me for the ticket\nm2,Y,hello\n")
    rows = jsonl(cli("screen", "messages", table, "--all", "--format", "jsonl"))
    assert [r["id"] for r in rows] == ["m1", "m2"]


def test_report_sections(ads_file: Path, settings: Settings) -> None:
    from ctip.ads.capability import report_sections
    from ctip.ads.importer import import_ads
    from ctip.ads.network_service import run_networks
    from ctip.ads.service import run_screen

    with Workspace.open(settings, create=True) as workspace:
        import_ads(workspace, ads_file)
        run_screen(workspace)
        run_networks(workspace)
        found = report_sections(ReportContext(workspace, settings, 10, False))
    assert [s.id for s in found] == ["ad-networks", "ad-flags"]
    html = "".join(s.html for s in found)
    assert "<svg" in html and "<mark" in html and "human triage" in html
    assert "src=" not in html and "<script" not in html and "http" not in html

"""The command line: exit codes, one-line errors, machine-readable output, help and docs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import typer

from ctip.cli.main import app
from ctip.synth.ctdc import write_ctdc_csv
from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parents[2]
Cli = Callable[..., CliResult]


def test_import_json_report_is_the_last_stdout_line(cli: Cli, tmp_path: Path) -> None:
    generated = write_ctdc_csv(tmp_path / "c.csv", 200, seed=5, bad_share=0.1)
    result = cli("import", "cases", generated.path, "--format", "json")
    assert result.code == 0, result.err
    report = result.last_json()
    assert isinstance(report, dict)
    assert {"import_id", "read", "loaded", "quarantined", "duplicates"} <= set(report)
    assert report["read"] == report["loaded"] + report["quarantined"] + report["duplicates"] == 200
    assert report["quarantined"] == len(generated.broken)
    assert "quarantine" in result.err
    again = cli("import", "cases", generated.path, "--format", "json").last_json()
    assert again["duplicates"] == 200 and again["loaded"] == 0  # type: ignore[index]


def test_bad_input_exits_2_with_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = cli("import", "cases", tmp_path / "nope.csv")
    assert missing.code == 2
    assert missing.err.strip().count("\n") == 0 and "nope.csv: no such file" in missing.err
    assert "Traceback" not in missing.err
    unknown = tmp_path / "odd.csv"
    unknown.write_text("colour,shape\nred,round\n")
    result = cli("import", "cases", unknown)
    assert (
        result.code == 2
        and "cannot tell the format" in result.err
        and "mapping suggest" in result.err
    )
    result = cli("import", "cases", unknown, "--input-format", "nonsense")
    assert result.code == 2 and "unknown input format" in result.err
    result = cli("import", "cases", unknown, "--input-format", "mapped")
    assert result.code == 2 and "needs --mapping" in result.err
    bad_mapping = tmp_path / "m.yaml"
    bad_mapping.write_text("name: m\ncolumns:\n  colour: favourite_colour\n")
    result = cli("import", "cases", unknown, "--mapping", bad_mapping)
    assert result.code == 2 and "unknown field 'favourite_colour'" in result.err


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("import", "cases").code == 2
    assert cli("no-such-command").code == 2
    assert cli("export", "cases", "--format", "pdf").code == 2


def test_status_before_init_says_what_to_do(cli: Cli) -> None:
    result = cli("status")
    assert result.code == 2 and "ctip init" in result.err


def test_init_status_export_and_quarantine_commands(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    generated = write_ctdc_csv(tmp_path / "c.csv", 100, seed=9, bad_share=0.1)
    cli("import", "cases", generated.path, "--format", "json")
    status = cli("status", "--format", "json")
    assert status.code == 0
    data = status.json()
    assert isinstance(data, dict) and data["tables"]["cases"] == 100 - len(generated.broken)
    listed = cli("quarantine", "list", "--format", "jsonl").jsonl()
    assert len(listed) == len(generated.broken)
    first = listed[0]
    assert isinstance(first, dict)
    shown = cli("quarantine", "show", first["quarantine_id"], "--format", "json")
    assert shown.code == 0 and json.loads(shown.out)["row_number"] == first["row_number"]
    out = tmp_path / "fix.csv"
    assert cli("quarantine", "export", "--out", out).code == 0 and out.exists()
    for fmt in ("csv", "parquet", "jsonl", "ctdc", "htcds-xlsx"):
        target = tmp_path / f"cases.{fmt}"
        result = cli("export", "cases", "--format", fmt, "--out", target)
        assert result.code == 0 and target.stat().st_size > 0, result.err
    as_csv = cli("quarantine", "list", "--format", "csv")
    assert as_csv.out.splitlines()[0].startswith("quarantine_id,import_id")


def test_schema_commands(cli: Cli) -> None:
    result = cli("schema", "htcds", "--format", "json-schema")
    assert result.code == 0
    schema = result.json()
    assert isinstance(schema, dict) and "prs_Gender" in schema["properties"]
    assert cli("schema", "case", "--format", "json").code == 0
    codes = cli("schema", "codes", "gender", "--format", "jsonl").jsonl()
    assert {
        "list": "gender",
        "code": "Transgender",
        "label": "Transgender",
        "source": "CTDC",
        "extension": True,
    } in codes
    assert cli("schema", "codes", "nope").code == 2


def test_mapping_commands(cli: Cli, tmp_path: Path) -> None:
    shown = cli("mapping", "show", "ctdc")
    assert shown.code == 0 and "meansOfControlDebtBondage" in shown.out
    data = tmp_path / "intake.csv"
    data.write_text("Sex,Nationality\nF,PH\nM,UA\n")
    draft = tmp_path / "draft.yaml"
    assert cli("mapping", "suggest", data, "--out", draft).code == 0
    checked = cli("mapping", "check", draft, data)
    assert checked.code == 0 and "2 columns map to fields" in checked.err
    imported = cli("import", "cases", data, "--mapping", draft, "--format", "json").last_json()
    assert imported["loaded"] == 2  # type: ignore[index]


def _commands(group: typer.Typer, prefix: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for command in group.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        found.append(
            (f"{prefix} {name}".strip(), command.callback.__doc__ if command.callback else None)
        )
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        found.extend(_commands(sub.typer_instance, f"{prefix} {sub.name}"))
    return found


def test_every_command_has_help_and_a_docs_section() -> None:
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    headings = set(re.findall(r"^#+ `ctip ([a-z -]+)`", docs, flags=re.MULTILINE))
    commands = _commands(app, "")
    assert len(commands) >= 14
    for name, doc in commands:
        assert doc and doc.strip(), f"'ctip {name}' has no help text"
        assert name in headings, f"'ctip {name}' has no section in docs/"


def test_every_capability_loads() -> None:
    from ctip.capabilities import load_failures

    assert load_failures() == {}

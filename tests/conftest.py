"""Shared fixtures: a fresh workspace, the CLI, the shared reference data, fake CTDC files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from ctip.cli.main import main
from ctip.settings import Settings
from ctip.shared_data import find_shared_data
from ctip.workspace import Workspace

# Property tests draw the same examples on every run, so CI cannot turn red by chance; explore
# new examples locally with HYPOTHESIS_PROFILE=explore.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = find_shared_data(Path(__file__).parent)
    if path is None:
        pytest.fail("shared data not found: set CTIP_SHARED_DATA to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's, through Playwright) for the whole test run.

    Playwright's sync API runs an event loop for as long as it is open, so a second
    ``sync_playwright()`` in the same process fails while the first is alive: every test that
    needs a browser shares this one.
    """
    from playwright.sync_api import sync_playwright

    from ctip.report.capability import chromium_path

    executable = chromium_path()
    assert executable, "Chromium is needed: make test installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[object]:
    """One local Spark session for the whole test run, started on first use."""
    from ctip.engine.spark import SparkEngine

    engine = SparkEngine("local[2]", config={"spark.sql.shuffle.partitions": "2"})
    yield engine
    engine.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(workspace=tmp_path / "workspace")


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    with Workspace.open(settings, create=True) as opened:
        yield opened


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)

    def last_json(self) -> object:
        return json.loads(self.out.strip().splitlines()[-1])

    def jsonl(self) -> list[object]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run ``ctip`` in-process with a workspace under tmp_path; returns code, stdout, stderr."""
    monkeypatch.setenv("CTIP_WORKSPACE", str(tmp_path / "cli-workspace"))
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (a header list then value lists) to a CSV file under tmp_path."""

    def write(name: str, rows: list[list[str]], *, delimiter: str = ",") -> Path:
        import csv

        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter=delimiter).writerows(rows)
        return path

    return write

"""The demo step: a demo hub beside the workspace, records pushed, workspace attached, and
sign-in instructions with credentials generated at demo time (different on every run)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ctip.capabilities import DemoContext
from ctip.hub.api.app import served_app
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings
from ctip.ingest.importer import import_cases
from ctip.settings import Settings
from ctip.web.demo import POLICE, run_demo
from ctip.workspace import Workspace
from tests.web.conftest import sign_in

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def demo_folder() -> Iterator[Path]:
    # Outside pytest's private tmp tree: as root, the embedded server runs as its own user.
    folder = Path(tempfile.mkdtemp(prefix="ctip-web-demo-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_demo_prints_how_to_open_the_dashboard(demo_folder: Path) -> None:
    settings = Settings(workspace=demo_folder / "ws")
    said: list[str] = []
    with Workspace.open(settings, create=True) as workspace:
        cases = demo_folder / "cases.csv"
        cases.write_text(
            "yearOfRegistration,gender,citizenship,CountryOfExploitation\n"
            + "".join(f"{2015 + i % 5},Female,PH,US\n" for i in range(120)),
            encoding="utf-8",
        )
        import_cases(workspace, cases)
        runs = []
        for _ in range(2):
            context = DemoContext(workspace, settings, None, said.append)
            run_demo(context)
            runs.append(context.results["next_steps"])
    first, second = ("\n".join(steps) for steps in runs)
    assert "ctip serve --data-dir" in first and "http://127.0.0.1:8000/" in first
    passwords = [re.findall(r"password (\S+)", text) for text in (first, second)]
    assert len(passwords[0]) == 2 and set(passwords[0]).isdisjoint(passwords[1])
    assert sum("password" in line for line in said) == 0  # credentials only in the final lines
    assert "120 case records pushed" in said[0] and "0 case records pushed" in said[1]
    email = re.search(r"sign in as (\S+)", second)
    assert email
    hub_settings = HubSettings(data_dir=demo_folder / "ws" / "hub", cookie_secure=False)
    with Hub.open(hub_settings) as hub, TestClient(served_app(hub_settings, hub=hub)) as client:
        sign_in(client, email.group(1), passwords[1][0])
        overview = client.get("/overview").text
        assert POLICE in overview and "120" in overview
        assert "score" in client.get("/ads").text or "holds no ads" in client.get("/ads").text

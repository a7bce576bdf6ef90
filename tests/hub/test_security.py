"""The security suite: cross-agency access, IDOR, SQL injection, bad tokens, CSRF, lockout,
oversized bodies, row-level security under a deliberately unscoped query."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ctip.hub import admin
from ctip.hub.api.app import create_app
from ctip.hub.database import tenant
from ctip.hub.runtime import Hub
from tests.hub.conftest import PASSWORD, World, person

pytestmark = pytest.mark.postgres
LATER = (datetime.now(UTC) + timedelta(days=30)).isoformat()
INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE cases; --",
    '" OR ""="',
    "1) OR (1=1",
    "%' OR '%'='",
    "\\'; SELECT pg_sleep(0); --",
    "' UNION SELECT id, agency_id FROM cases --",
    "00000000-0000-0000-0000-000000000000' OR 'a'='a",
]


@pytest.fixture(scope="module")
def seeded(client: TestClient, world: World) -> dict[str, Any]:
    """A's case, shared with C (not B); A's token id; a share request from C to A."""
    a = world.a["admin"]
    body = {
        "source": "seed",
        "records": [
            person(identity_number="SEED-A-1"),
            {"gender": "NotAGender", "legal_basis": "Consent"},
        ],
    }
    created = client.post("/api/v1/cases", headers=a.headers, json=body).json()
    case_id = created["case_ids"][0]
    share = client.post(
        "/api/v1/shares",
        headers=a.headers,
        json={
            "recipient": world.c.name,
            "purpose": "seed",
            "legal_basis": "PublicTask",
            "expires_at": LATER,
            "case_ids": [case_id],
            "fields": ["names"],
        },
    ).json()
    request = client.post(
        "/api/v1/share-requests",
        headers=world.c["admin"].headers,
        json={
            "owner": world.a.name,
            "purpose": "seed request",
            "legal_basis": "PublicTask",
            "expires_at": LATER,
            "case_ids": [case_id],
        },
    ).json()
    return {
        "case_id": case_id,
        "share_id": share["id"],
        "request_id": request["id"],
        "token_id": world.a["admin"].token_id,
    }


# Every operation of the API, with how agency B (admin, so permissions never mask the test)
# tries to reach agency A's data through it, and what must come back.
def cross_agency_attempts(seeded: dict[str, Any], world: World) -> dict[str, tuple[str, str, Any]]:
    case, share, token = seeded["case_id"], seeded["share_id"], seeded["token_id"]
    return {
        "get_case": ("GET", f"/api/v1/cases/{case}", None),
        "erase_case": ("DELETE", f"/api/v1/cases/{case}?reason=x", None),
        "get_share": ("GET", f"/api/v1/shares/{share}", None),
        "approve_share": ("POST", f"/api/v1/shares/{seeded['request_id']}/approve", {}),
        "reject_share": ("POST", f"/api/v1/shares/{seeded['request_id']}/reject", None),
        "revoke_share": ("POST", f"/api/v1/shares/{share}/revoke", None),
        "revoke_token": ("DELETE", f"/api/v1/tokens/{token}", None),
        "offer_share": (
            "POST",
            "/api/v1/shares",
            {
                "recipient": world.c.name,
                "purpose": "steal",
                "legal_basis": "PublicTask",
                "expires_at": LATER,
                "case_ids": [case],
                "fields": ["names", "identity"],
            },
        ),
    }


LISTINGS = {
    "list_cases": "/api/v1/cases?limit=1000",
    "list_cases_shared": "/api/v1/cases?scope=shared&limit=1000",
    "list_quarantine": "/api/v1/quarantine",
    "list_shares": "/api/v1/shares",
    "list_users": "/api/v1/users",
    "list_tokens": "/api/v1/tokens",
    "list_audit_entries": "/api/v1/audit?limit=5000",
    "list_pprl_deposits": "/api/v1/pprl/encodings",
    "list_pprl_queries": "/api/v1/pprl/queries",
}
# Operations that do not touch other agencies' data at all, or are covered by a listing.
NOT_CROSS_AGENCY = {
    "health",
    "login",
    "logout",
    "get_me",
    "start_totp",
    "confirm_totp",
    "create_token",
    "list_agencies",
    "create_cases",
    "request_share",
    "subject_access",
    "subject_erase",
    "breach_report",
    # linkage: deposits and contacts are the caller's own; questions are checked in test_pprl
    "replace_pprl_encodings",
    "add_pprl_encodings",
    "withdraw_pprl_encodings",
    "set_pprl_contact",
    "ask_pprl",
}


def test_every_operation_is_covered_by_a_cross_agency_check(
    client: TestClient, seeded: dict[str, Any], world: World
) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    covered = set(cross_agency_attempts(seeded, world)) | set(LISTINGS) | NOT_CROSS_AGENCY
    assert operations <= covered, f"no cross-agency check for {operations - covered}"


def test_other_agency_cannot_reach_records_through_any_endpoint(
    client: TestClient, seeded: dict[str, Any], world: World
) -> None:
    b = world.b["admin"]
    for operation, (method, url, body) in cross_agency_attempts(seeded, world).items():
        response = client.request(method, url, headers=b.headers, json=body)
        assert response.status_code == 404, (operation, response.status_code, response.text)
    # A's record is untouched and still shared with C, not with B
    assert (
        client.get(
            f"/api/v1/cases/{seeded['case_id']}", headers=world.a["admin"].headers
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/cases/{seeded['case_id']}", headers=world.c["admin"].headers
        ).status_code
        == 200
    )


def test_listings_show_nothing_of_another_agency(
    client: TestClient, seeded: dict[str, Any], world: World, hub: Hub
) -> None:
    a_ids = {world.a.id, *(m.user_id for m in world.a.members.values())}
    for name, url in LISTINGS.items():
        response = client.get(url, headers=world.b["admin"].headers)
        assert response.status_code == 200, (name, response.text)
        text = response.text
        assert seeded["case_id"] not in text, name
        assert not any(i in text for i in a_ids), name
        assert "SEED-A-1" not in text and "Amara" not in text, name
    # B's auditor sees no entry of A's; the subject-access search finds nothing of A's
    audit = client.get("/api/v1/audit", headers=world.b["auditor"].headers).json()
    assert all(e["agency_id"] == world.b.id or e["subject_agency_id"] == world.b.id for e in audit)
    found = client.post(
        "/api/v1/subjects/access",
        headers=world.b["admin"].headers,
        json={"identity_number": "SEED-A-1"},
    ).json()
    assert found["records"] == []
    report = client.get(
        "/api/v1/audit/breach-report",
        headers=world.b["auditor"].headers,
        params={"since": "2000-01-01T00:00:00Z", "until": LATER},
    ).json()
    assert all(r["case_id"] != seeded["case_id"] for r in report)


def test_id_guessing_gets_the_same_404_as_a_real_id_of_another_agency(
    client: TestClient, seeded: dict[str, Any], world: World
) -> None:
    b = world.b["admin"].headers
    real = client.get(f"/api/v1/cases/{seeded['case_id']}", headers=b)
    guesses = [
        str(uuid.uuid4()),
        "00000000-0000-0000-0000-000000000001",
        "1",
        "..",
        "%2e%2e",
        "abc",
        seeded["case_id"].upper(),
        seeded["case_id"][:-1] + "0",
    ]
    for guess in guesses:
        response = client.get(f"/api/v1/cases/{guess}", headers=b)
        assert response.status_code == 404, guess
        if len(guess) > 2:  # '..' is resolved by the client to another path
            assert response.json()["detail"] == real.json()["detail"]
    for guess in guesses[:3]:
        assert client.get(f"/api/v1/shares/{guess}", headers=b).status_code == 404


def test_sql_injection_payloads_in_every_string_parameter(
    client: TestClient, seeded: dict[str, Any], world: World, hub: Hub
) -> None:
    headers = world.b["admin"].headers
    spec = client.get("/api/v1/openapi.json").json()
    query_strings = [
        p["name"]
        for p in spec["paths"]["/api/v1/cases"]["get"]["parameters"]
        if p["schema"].get("type") == "string"
        or any(s.get("type") == "string" for s in p["schema"].get("anyOf", []))
    ]
    assert {"external_id", "identity_number", "cursor", "gender"} <= set(query_strings)
    for payload in INJECTIONS:
        for name in query_strings:
            response = client.get("/api/v1/cases", params={name: payload}, headers=headers)
            assert response.status_code in (200, 422), (name, payload, response.text)
            if response.status_code == 200:
                assert response.json()["items"] == [], (name, payload)
        for url in ("/api/v1/cases/{}", "/api/v1/shares/{}"):
            assert client.get(url.format(payload), headers=headers).status_code == 404
        for method, url in (("POST", "/api/v1/shares/{}/revoke"), ("DELETE", "/api/v1/tokens/{}")):
            assert client.request(method, url.format(payload), headers=headers).status_code == 404
        bodies = [
            ("/api/v1/auth/login", {"email": payload, "password": payload}),
            (
                "/api/v1/subjects/access",
                {
                    "identity_number": payload,
                    "email": payload,
                    "phone": payload,
                    "first_name": payload,
                    "last_name": payload,
                },
            ),
            (
                "/api/v1/share-requests",
                {
                    "owner": payload,
                    "purpose": payload,
                    "legal_basis": payload,
                    "expires_at": LATER,
                    "collection": payload,
                    "fields": [payload],
                },
            ),
            (
                "/api/v1/cases",
                {
                    "source": payload,
                    "collection": payload,
                    "legal_basis": "Consent",
                    "records": [{"external_id": payload, "first_name": payload}],
                },
            ),
        ]
        for url, body in bodies:
            response = client.post(url, json=body, headers=headers)
            assert response.status_code < 500, (url, payload, response.text)
        response = client.get(
            "/api/v1/audit", params={"action": payload}, headers=world.b["auditor"].headers
        )
        assert response.status_code == 200 and response.json() == []
    with hub.owner.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM cases")).scalar_one() > 0
        stored = (
            connection.execute(
                sa.text("SELECT record->>'external_id' FROM cases WHERE source = :s"),
                {"s": INJECTIONS[0]},
            )
            .scalars()
            .all()
        )
    assert stored == [INJECTIONS[0]]  # stored as data, verbatim


def test_tampered_expired_revoked_and_foreign_tokens_are_refused(
    client: TestClient, world: World, hub: Hub, hub_cli: Callable[..., Any]
) -> None:
    member = world.a["viewer"]
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200
    token = member.token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, token + "x", token[5:], "ctip_", "", "null"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/me", headers={"Authorization": f"Basic {token}"}).status_code == 401
    secret, record = admin.token_for(hub, member.email, None, timedelta(hours=1), "expiring")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with hub.owner.begin() as connection:
        connection.execute(
            sa.text("UPDATE api_tokens SET expires_at = now() - interval '1s' WHERE id = :i"),
            {"i": record["id"]},
        )
    expired = client.get("/api/v1/me", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    secret, record = admin.token_for(hub, member.email, None, timedelta(hours=1), "revoking")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert hub_cli("hub", "token", "revoke", record["id"]).code == 0
    revoked = client.get("/api/v1/me", headers=headers)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_token_scopes_limit_what_a_token_can_do(client: TestClient, world: World, hub: Hub) -> None:
    member = world.a["investigator"]
    secret, _ = admin.token_for(hub, member.email, ["cases:read"], timedelta(hours=1), "ro")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    denied = client.post(
        "/api/v1/cases", headers=headers, json={"source": "x", "records": [person()]}
    )
    assert denied.status_code == 403
    with pytest.raises(Exception, match="cannot hold"):
        admin.token_for(hub, world.a["viewer"].email, ["cases:write"], timedelta(hours=1), "x")


def login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_cookie_sessions_need_csrf_tokens_on_changes(hub: Hub, world: World) -> None:
    with TestClient(create_app(hub=hub), base_url="https://testserver") as browser:
        response = login(browser, world.a["analyst"].email)
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
        csrf = response.json()["csrf_token"]
        assert browser.get("/api/v1/me").json()["via"] == "session"
        body = {"source": "web form", "records": [person()]}
        assert browser.post("/api/v1/cases", json=body).status_code == 403
        assert (
            browser.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": "forged"}).status_code
            == 403
        )
        other = login(
            TestClient(create_app(hub=hub), base_url="https://testserver"), world.b["analyst"].email
        ).json()["csrf_token"]
        assert (
            browser.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": other}).status_code
            == 403
        )
        assert (
            browser.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": csrf}).status_code
            == 201
        )
        assert (
            browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        )
        browser.cookies.clear()
        assert browser.get("/api/v1/me").status_code == 401


def test_logged_out_session_cookie_stops_working(hub: Hub, world: World) -> None:
    with TestClient(create_app(hub=hub), base_url="https://testserver") as browser:
        response = login(browser, world.a["viewer"].email)
        session = browser.cookies.get("ctip_session")
        csrf = response.json()["csrf_token"]
        browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        browser.cookies.set("ctip_session", session or "", domain="testserver")
        assert browser.get("/api/v1/me").status_code == 401


def test_brute_force_locks_the_account(hub: Hub, world: World, hub_cli: Callable[..., Any]) -> None:
    email = world.c["viewer"].email
    with TestClient(create_app(hub=hub), base_url="https://testserver") as browser:
        for _ in range(hub.settings.login_max_failures):
            assert login(browser, email, "wrong password guess").status_code == 401
        locked = login(browser, email)  # the right password no longer helps
        assert locked.status_code == 401
        assert locked.json()["detail"] == login(browser, "nobody@nowhere.test").json()["detail"]
        assert hub_cli("hub", "user", "unlock", email).code == 0
        assert login(browser, email).status_code == 200
    with hub.owner.connect() as connection:
        actions = (
            connection.execute(
                sa.text("SELECT action FROM audit_log WHERE actor = :e AND action LIKE 'login.%'"),
                {"e": email},
            )
            .scalars()
            .all()
        )
    assert actions.count("login.failure") >= hub.settings.login_max_failures + 1
    assert "login.success" in actions


def test_login_attempts_are_rate_limited_per_address(hub: Hub) -> None:
    app = create_app(hub.settings.model_copy(update={"login_attempts_per_minute": 3}), hub=hub)
    with TestClient(app, base_url="https://testserver") as browser:
        codes = [login(browser, f"x{i}@y.test", "nope").status_code for i in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_oversized_bodies_are_refused(client: TestClient, world: World, hub: Hub) -> None:
    limit = hub.settings.max_body_bytes
    big = {"source": "x", "records": [{"case_comment": "x" * (limit + 10)}]}
    response = client.post("/api/v1/cases", json=big, headers=world.a["admin"].headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"

    def chunks() -> Any:  # no Content-Length: the limit holds while streaming too
        yield b'{"source": "x", "records": [{"case_comment": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}]}'

    streamed = client.post(
        "/api/v1/cases",
        content=chunks(),
        headers={**world.a["admin"].headers, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_row_level_security_holds_against_an_unscoped_query(
    hub: Hub, seeded: dict[str, Any], world: World
) -> None:
    with hub.app.connect() as connection:
        role = connection.execute(
            sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert tuple(role) == (False, False)
    tables = (
        "cases",
        "users",
        "api_tokens",
        "sessions",
        "imports",
        "quarantine",
        "agency_keys",
        "audit_log",
        "shares",
        "shared_cases",
        "pprl_encodings",
        "pprl_contacts",
        "pprl_queries",
    )
    with tenant(hub.app, world.b.id) as connection:
        for table in tables:  # deliberately no WHERE agency_id = ...
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
            for row in rows:
                agencies = {
                    str(row.get(k))
                    for k in (
                        "agency_id",
                        "owner_agency_id",
                        "recipient_agency_id",
                        "subject_agency_id",
                    )
                    if row.get(k) is not None
                }
                assert world.b.id in agencies, (table, dict(row))
        leaked = connection.execute(
            sa.text("SELECT count(*) FROM cases WHERE id = :i"), {"i": seeded["case_id"]}
        ).scalar_one()
        assert leaked == 0
    with tenant(hub.app, None) as connection:  # no agency named: no tenant rows at all
        for table in tables:
            assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
    with (
        tenant(hub.app, world.b.id) as connection,
        pytest.raises(sa.exc.DBAPIError, match="row-level security"),
    ):
        connection.execute(
            sa.text(
                "INSERT INTO imports (agency_id, kind, source, file_sha256)"
                " VALUES (:a, 'cases', 'x', 'y')"
            ),
            {"a": world.a.id},
        )
    for statement in (
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "UPDATE agency_keys SET active = false",
        "SELECT * FROM system_keys",
    ):
        with (
            tenant(hub.app, world.b.id) as connection,
            pytest.raises(sa.exc.DBAPIError, match="permission denied"),
        ):
            connection.execute(sa.text(statement))


def test_errors_are_problem_details_and_responses_carry_security_headers(
    client: TestClient,
) -> None:
    response = client.get("/api/v1/cases")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == 401
    for name in (
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "referrer-policy",
        "cache-control",
    ):
        assert name in response.headers
    assert client.get("/api/v1/nothing-here").headers["content-type"] == "application/problem+json"
    assert (
        "access-control-allow-origin"
        not in client.get("/api/v1/health", headers={"Origin": "https://evil.example"}).headers
    )


def test_logs_carry_no_personal_data(
    client: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ctip.hub")
    secret_name = "Quetzalcoatl-Unlikely"
    client.post(
        "/api/v1/cases",
        headers=world.a["admin"].headers,
        json={"source": "x", "records": [person(first_name=secret_name)]},
    )
    client.get(
        "/api/v1/cases",
        params={"identity_number": "ID-IN-QUERY-77"},
        headers=world.a["admin"].headers,
    )
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert '"route": "/api/v1/cases"' in text
    assert secret_name not in text and "ID-IN-QUERY-77" not in text

"""Isolation until shared, then only the granted fields, until revoked or expired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ctip.hub.runtime import Hub
from tests.hub.conftest import PASSWORD, World, person

pytestmark = pytest.mark.postgres
LATER = (datetime.now(UTC) + timedelta(days=30)).isoformat()


def visible(client: TestClient, member: object, case_id: str) -> dict[str, object] | None:
    response = client.get(f"/api/v1/cases/{case_id}", headers=member.headers)  # type: ignore[attr-defined]
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_agencies_from_the_cli_are_isolated_until_a_share_then_see_only_granted_fields(
    hub_cli: Callable[..., object], client: TestClient, tmp_path: object, hub: Hub
) -> None:
    password_file = tmp_path / "pw"  # type: ignore[operator]
    password_file.write_text(PASSWORD + "\n")
    for name in ("Police North", "Shelter South"):
        result = hub_cli("hub", "agency", "add", name, "--format", "json")
        assert result.code == 0, result.err  # type: ignore[attr-defined]
    for email, agency in (("ivy@north.test", "Police North"), ("sam@south.test", "Shelter South")):
        result = hub_cli(
            "hub",
            "user",
            "add",
            email,
            "--agency",
            agency,
            "--role",
            "investigator",
            "--password-file",
            password_file,
        )
        assert result.code == 0, result.err  # type: ignore[attr-defined]
    tokens = {}
    for email in ("ivy@north.test", "sam@south.test"):
        result = hub_cli("hub", "token", "create", email, "--expires", "1d", "--format", "json")
        tokens[email] = {"Authorization": f"Bearer {result.json()['token']}"}  # type: ignore[attr-defined]
    north, south = tokens["ivy@north.test"], tokens["sam@south.test"]

    created = client.post(
        "/api/v1/cases",
        headers=north,
        json={
            "source": "north intake",
            "collection": "operation-x",
            "records": [person(first_name="Zainab", identity_number="X1234567")],
        },
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["case_ids"][0]

    own = client.get(f"/api/v1/cases/{case_id}", headers=north).json()
    assert own["record"]["first_name"] == "Zainab" and own["redacted"] == []
    # not shared: it does not exist for the other agency, through any read
    assert client.get(f"/api/v1/cases/{case_id}", headers=south).status_code == 404
    assert client.get("/api/v1/cases", headers=south).json()["items"] == []
    assert client.get("/api/v1/cases?scope=shared", headers=south).json()["items"] == []
    assert client.get("/api/v1/cases?identity_number=X1234567", headers=south).json()["items"] == []

    share = client.post(
        "/api/v1/shares",
        headers=north,
        json={
            "recipient": "Shelter South",
            "purpose": "victim referral",
            "legal_basis": "VitalInterests",
            "expires_at": LATER,
            "case_ids": [case_id],
            "fields": ["names"],
        },
    )
    assert share.status_code == 201, share.text
    assert share.json()["status"] == "active" and share.json()["records"] == 1

    seen = client.get(f"/api/v1/cases/{case_id}", headers=south)
    assert seen.status_code == 200
    body = seen.json()
    assert body["record"]["first_name"] == "Zainab"  # granted
    for withheld in ("identity_number", "email", "phone", "birth_date"):
        assert withheld not in body["record"] and withheld in body["redacted"]
    assert "street" not in body["record"]["events"]["recruitment"]
    assert body["record"]["country_of_exploitation"] == "IT"  # non-personal: always shared
    assert body["share"]["purpose"] == "victim referral" and body["provenance"] is None
    listed = client.get("/api/v1/cases?scope=shared", headers=south).json()["items"]
    assert [c["id"] for c in listed] == [case_id]

    revoked = client.post(f"/api/v1/shares/{share.json()['id']}/revoke", headers=north)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.get(f"/api/v1/cases/{case_id}", headers=south).status_code == 404
    assert client.get("/api/v1/cases?scope=shared", headers=south).json()["items"] == []


def test_request_approve_with_narrower_fields_and_expiry(
    client: TestClient, world: World, add_cases: Callable[..., list[str]], hub: Hub
) -> None:
    a, b = world.a["investigator"], world.b["investigator"]
    ids = add_cases(a, [person(), person()], collection="op-request")
    request = client.post(
        "/api/v1/share-requests",
        headers=b.headers,
        json={
            "owner": world.a.name,
            "purpose": "joint investigation",
            "legal_basis": "PublicTask",
            "expires_at": LATER,
            "collection": "op-request",
            "fields": ["names", "identity"],
        },
    )
    assert request.status_code == 201, request.text
    share_id = request.json()["id"]
    assert request.json()["status"] == "requested"
    assert all(client.get(f"/api/v1/cases/{i}", headers=b.headers).status_code == 404 for i in ids)
    # the requester cannot approve its own request; a third agency cannot even see it
    assert (
        client.post(f"/api/v1/shares/{share_id}/approve", headers=b.headers, json={}).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/v1/shares/{share_id}", headers=world.c["investigator"].headers
        ).status_code
        == 404
    )
    wider = client.post(
        f"/api/v1/shares/{share_id}/approve", headers=a.headers, json={"fields": ["contacts"]}
    )
    assert wider.status_code == 422
    approved = client.post(
        f"/api/v1/shares/{share_id}/approve", headers=a.headers, json={"fields": ["names"]}
    )
    assert approved.status_code == 200 and approved.json()["records"] == 2
    view = client.get(f"/api/v1/cases/{ids[0]}", headers=b.headers).json()
    assert "first_name" in view["record"] and "identity_number" not in view["record"]
    # a viewer of the recipient agency sees the shared record without any personal field
    viewer = client.get(f"/api/v1/cases/{ids[0]}", headers=world.b["viewer"].headers).json()
    assert "first_name" not in viewer["record"]
    # expiry takes effect with the clock, before any sweep runs
    with hub.owner.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE shared_cases SET expires_at = now() - interval '1s' WHERE share_id = :s"
            ),
            {"s": share_id},
        )
        connection.execute(
            sa.text("UPDATE shares SET expires_at = now() - interval '1s' WHERE id = :s"),
            {"s": share_id},
        )
    assert client.get(f"/api/v1/cases/{ids[0]}", headers=b.headers).status_code == 404
    assert client.get(f"/api/v1/shares/{share_id}", headers=a.headers).json()["status"] == "expired"


def test_rejected_request_shares_nothing(
    client: TestClient, world: World, add_cases: Callable[..., list[str]]
) -> None:
    a, b = world.a["admin"], world.b["admin"]
    ids = add_cases(a, [person()])
    request = client.post(
        "/api/v1/share-requests",
        headers=b.headers,
        json={
            "owner": world.a.id,
            "purpose": "check",
            "legal_basis": "PublicTask",
            "expires_at": LATER,
            "case_ids": ids,
        },
    )
    share_id = request.json()["id"]
    rejected = client.post(f"/api/v1/shares/{share_id}/reject", headers=a.headers)
    assert rejected.json()["status"] == "rejected"
    assert client.get(f"/api/v1/cases/{ids[0]}", headers=b.headers).status_code == 404
    again = client.post(f"/api/v1/shares/{share_id}/approve", headers=a.headers, json={})
    assert again.status_code == 409


def test_erasure_removes_shared_copies(
    client: TestClient, world: World, add_cases: Callable[..., list[str]]
) -> None:
    a, b = world.a["admin"], world.b["investigator"]
    ids = add_cases(a, [person(identity_number="ERASE-ME-1")])
    client.post(
        "/api/v1/shares",
        headers=a.headers,
        json={
            "recipient": world.b.name,
            "purpose": "referral",
            "legal_basis": "VitalInterests",
            "expires_at": LATER,
            "case_ids": ids,
            "fields": ["names"],
        },
    )
    assert client.get(f"/api/v1/cases/{ids[0]}", headers=b.headers).status_code == 200
    erased = client.post(
        "/api/v1/subjects/erase",
        headers=a.headers,
        json={"identity_number": "erase-me-1", "reason": "subject request"},
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] == 1 and erased.json()["shared_copies_removed"] == 1
    assert client.get(f"/api/v1/cases/{ids[0]}", headers=a.headers).status_code == 404
    assert client.get(f"/api/v1/cases/{ids[0]}", headers=b.headers).status_code == 404

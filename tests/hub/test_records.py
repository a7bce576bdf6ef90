"""Case records in the hub: checks and quarantine like the CLI, encryption at rest, blind
indexes, pagination, key rotation, TOTP, retention and subject access."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ctip.hub.api.app import create_app
from ctip.hub.crypto import DecryptionError, load_or_create_master_key
from ctip.hub.runtime import Hub
from ctip.hub.validate import check_records
from ctip.ingest.importer import import_cases
from ctip.settings import Settings
from ctip.workspace import Workspace
from tests.hub.conftest import PASSWORD, World, person

pytestmark = pytest.mark.postgres


def test_bad_records_are_quarantined_with_the_importers_reasons(
    client: TestClient, world: World, tmp_path: Any, hub: Hub
) -> None:
    records = [
        person(),
        {"gender": "Martian", "legal_basis": "Consent"},
        {"age_when_trafficked": 300, "legal_basis": "Consent"},
        {"majority_status": "Minor", "age_broad": "30--38", "legal_basis": "Consent"},
        {"favourite_colour": "red", "legal_basis": "Consent"},
        {"gender": "Feminine"},  # no legal basis
    ]
    body = {"source": "intake", "records": records}
    headers = world.a["analyst"].headers
    report = client.post("/api/v1/cases", json=body, headers=headers).json()
    assert (report["read"], report["loaded"], report["quarantined"], report["duplicates"]) == (
        6,
        1,
        5,
        0,
    )
    reasons = {q["position"]: q["errors"] for q in report["quarantine"]}
    assert reasons[4][0]["field"] == "favourite_colour"
    assert reasons[5][0]["field"] == "legal_basis"
    # the same reasons as `ctip import cases` gives for the same values in a JSON file
    path = tmp_path / "same.json"
    path.write_text(json.dumps(records[1:4]))
    mapping = tmp_path / "same.yaml"
    names = ("gender", "age_when_trafficked", "majority_status", "age_broad", "legal_basis")
    mapping.write_text("name: same\ncolumns:\n" + "".join(f"  {n}: {n}\n" for n in names))
    with Workspace.open(Settings(workspace=tmp_path / "ws"), create=True) as workspace:
        import_cases(workspace, path, mapping_path=mapping)
        cli_reasons = {
            r["reason"]
            for r in workspace.engine.records(
                "SELECT unnest(errors).reason AS reason FROM quarantine"
            )
        }
    hub_reasons = {e["reason"] for p in (1, 2, 3) for e in reasons[p]}
    assert hub_reasons == cli_reasons
    assert check_records(records[1:2])[1][0].errors == reasons[1]
    again = client.post("/api/v1/cases", json=body, headers=headers).json()
    assert (again["loaded"], again["quarantined"], again["duplicates"]) == (0, 0, 6)
    listed = client.get("/api/v1/quarantine", headers=world.a["admin"].headers).json()
    assert len([q for q in listed if q["import_id"] == report["import_id"]]) == 5
    assert "Martian" not in json.dumps(listed)  # raw values stay encrypted


def test_personal_fields_are_encrypted_at_rest_and_found_by_blind_index(
    client: TestClient, world: World, add_cases: Callable[..., list[str]], hub: Hub
) -> None:
    member = world.b["investigator"]
    [case_id] = add_cases(
        member,
        [
            person(
                first_name="Nkechi", identity_number="AB-123 456", email="Nkechi.Test@Example.org"
            )
        ],
    )
    with hub.owner.connect() as connection:
        row = connection.execute(
            sa.text("SELECT record::text, personal, bi_identity_number FROM cases WHERE id = :i"),
            {"i": case_id},
        ).one()
        dump = connection.execute(sa.text("SELECT string_agg(t::text, '') FROM cases t")).scalar()
    assert "Nkechi" not in row[0] and b"Nkechi" not in bytes(row[1])
    assert (
        "Nkechi" not in dump and "AB-123" not in dump and "+1 555 0100" not in dump
    )  # (hex of ciphertexts may hold digits)
    assert row[2] is not None and len(bytes(row[2])) == 16
    for lookup in ({"identity_number": "ab123456"}, {"email": "nkechi.test@example.org"}):
        found = client.get("/api/v1/cases", params=lookup, headers=member.headers).json()
        assert [c["id"] for c in found["items"]] == [case_id]
    # analysts and viewers see the record without personal fields
    analyst = client.get(f"/api/v1/cases/{case_id}", headers=world.b["analyst"].headers).json()
    assert "first_name" not in analyst["record"] and "first_name" in analyst["redacted"]
    # a ciphertext moved to another record does not decrypt
    with hub.app.begin() as connection:
        key = hub.keys.data_key(connection, world.b.id, 1)
        with pytest.raises(DecryptionError):
            key.decrypt(bytes(row[1]), "cases:00000000-0000-0000-0000-000000000000:personal")


def test_listing_pages_and_filters(
    client: TestClient, world: World, add_cases: Callable[..., list[str]]
) -> None:
    member = world.c["analyst"]
    ids = add_cases(
        member, [person(year_of_registration=2000 + i % 3) for i in range(7)], collection="paging"
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "collection": "paging"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/cases", params=params, headers=member.headers).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    filtered = client.get(
        "/api/v1/cases",
        params={
            "collection": "paging",
            "year_of_registration": 2001,
            "exploitation_type": "SexualExploitation",
        },
        headers=member.headers,
    ).json()
    assert len(filtered["items"]) == 2
    bad = client.get("/api/v1/cases", params={"cursor": "not-a-cursor"}, headers=member.headers)
    assert bad.status_code == 422
    denied = client.get("/api/v1/cases", params={"include_personal": True}, headers=member.headers)
    assert denied.status_code == 403


def test_data_key_rotation_reencrypts_and_master_rotation_rewraps(
    client: TestClient,
    world: World,
    add_cases: Callable[..., list[str]],
    hub: Hub,
    hub_cli: Callable[..., Any],
) -> None:
    member = world.a["investigator"]
    [case_id] = add_cases(member, [person(first_name="Rotated")])
    result = hub_cli("hub", "rotate-keys", "--format", "json")
    assert result.code == 0, result.err
    with hub.owner.connect() as connection:
        versions = (
            connection.execute(
                sa.text("SELECT DISTINCT key_version FROM cases WHERE agency_id = :a"),
                {"a": world.a.id},
            )
            .scalars()
            .all()
        )
        keys = (
            connection.execute(
                sa.text(
                    "SELECT version FROM agency_keys WHERE agency_id = :a AND purpose = 'data'"
                ),
                {"a": world.a.id},
            )
            .scalars()
            .all()
        )
    assert versions == [2] and keys == [2]
    assert (
        client.get(f"/api/v1/cases/{case_id}", headers=member.headers).json()["record"][
            "first_name"
        ]
        == "Rotated"
    )
    key_file = hub.settings.resolved_master_key_file
    old_key = key_file.read_text()
    hub.app.dispose()  # like stopping the server: master rotation refuses while it runs
    result = hub_cli("hub", "rotate-keys", "--master", "--format", "json")
    assert result.code == 0, result.err
    assert key_file.read_text() != old_key and (key_file.stat().st_mode & 0o077) == 0
    # a fresh process reads the new key file
    with (
        Hub.open(hub.settings) as reopened,
        TestClient(create_app(hub=reopened), base_url="https://testserver") as fresh,
    ):
        view = fresh.get(f"/api/v1/cases/{case_id}", headers=member.headers).json()
    assert view["record"]["first_name"] == "Rotated"
    old_file = key_file.with_name("old.key")
    old_file.write_text(old_key)
    old_file.chmod(0o600)
    stale, _ = load_or_create_master_key(old_file)
    with hub.owner.connect() as connection:
        wrapped = connection.execute(
            sa.text("SELECT wrapped FROM system_keys WHERE name = 'audit-chain'")
        ).scalar_one()
    with pytest.raises(Exception, match="master key"):
        stale.unwrap(bytes(wrapped), "system:audit-chain")
    hub.keys = reopened.keys  # this module's hub keeps working with the new key


def test_totp_is_required_once_enabled(hub: Hub, world: World) -> None:
    email = world.c["investigator"].email
    with TestClient(create_app(hub=hub), base_url="https://testserver") as browser:
        login = browser.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        secret = browser.post("/api/v1/me/totp", headers=csrf).json()["secret"]
        assert (
            browser.post(
                "/api/v1/me/totp/confirm", json={"code": "000000"}, headers=csrf
            ).status_code
            == 422
        )
        code = pyotp.TOTP(secret).now()
        assert (
            browser.post("/api/v1/me/totp/confirm", json={"code": code}, headers=csrf).status_code
            == 204
        )
    with TestClient(create_app(hub=hub), base_url="https://testserver") as browser:
        body = {"email": email, "password": PASSWORD}
        assert browser.post("/api/v1/auth/login", json=body).status_code == 401
        body["totp"] = pyotp.TOTP(secret).now()
        assert browser.post("/api/v1/auth/login", json=body).status_code == 200


def test_retention_sweep_erases_old_records_with_their_shared_copies(
    client: TestClient,
    world: World,
    add_cases: Callable[..., list[str]],
    hub: Hub,
    hub_cli: Callable[..., Any],
) -> None:
    member = world.b["admin"]
    old, new = add_cases(member, [person(), person()])
    client.post(
        "/api/v1/shares",
        headers=member.headers,
        json={
            "recipient": world.c.name,
            "purpose": "retention test",
            "legal_basis": "PublicTask",
            "expires_at": "2099-01-01T00:00:00Z",
            "case_ids": [old, new],
        },
    )
    with hub.owner.begin() as connection:
        connection.execute(
            sa.text("UPDATE cases SET imported_at = now() - interval '40 days' WHERE id = :i"),
            {"i": old},
        )
    assert hub_cli("hub", "retention", "set", "--agency", world.b.name, "--days", "30").code == 0
    dry = hub_cli("hub", "retention", "sweep", "--dry-run", "--format", "jsonl").jsonl()
    assert any(r["agency"] == world.b.name and r["erased"] == 1 for r in dry)
    assert client.get(f"/api/v1/cases/{old}", headers=member.headers).status_code == 200
    swept = hub_cli("hub", "retention", "sweep", "--format", "jsonl").jsonl()
    assert any(r["agency"] == world.b.name and r["erased"] == 1 for r in swept)
    assert client.get(f"/api/v1/cases/{old}", headers=member.headers).status_code == 404
    assert client.get(f"/api/v1/cases/{old}", headers=world.c["admin"].headers).status_code == 404
    assert client.get(f"/api/v1/cases/{new}", headers=world.c["admin"].headers).status_code == 200


def test_subject_access_export(
    client: TestClient, world: World, add_cases: Callable[..., list[str]]
) -> None:
    member = world.c["admin"]
    ids = add_cases(
        member,
        [
            person(
                first_name="Ife", last_name="Subject", birth_date="1985-02-03", phone="+1 555 0199"
            )
        ],
    )
    client.get(f"/api/v1/cases/{ids[0]}", headers=member.headers)
    found = client.post(
        "/api/v1/subjects/access",
        headers=member.headers,
        json={"first_name": "IFE", "last_name": "subject", "birth_date": "1985-02-03"},
    ).json()
    assert [r["id"] for r in found["records"]] == ids
    assert found["records"][0]["record"]["phone"] == "+1 555 0199"
    assert any(a["action"] == "cases.read-personal" for a in found["accesses"])
    empty = client.post("/api/v1/subjects/access", headers=member.headers, json={})
    assert empty.status_code == 422
    assert (
        client.post(
            "/api/v1/subjects/access",
            headers=world.c["analyst"].headers,
            json={"phone": "555 0199"},
        ).status_code
        == 403
    )


def test_hub_cli_commands(hub_cli: Callable[..., Any], tmp_path: Any, world: World) -> None:
    password = tmp_path / "pw"
    password.write_text(PASSWORD + "\n")
    refused = hub_cli(
        "hub", "init", "--agency", "X", "--email", "x@x.test", "--password-file", password
    )
    assert refused.code == 1 and "already has users" in refused.err
    short = tmp_path / "short"
    short.write_text("short\n")
    weak = hub_cli(
        "hub",
        "user",
        "add",
        "w@x.test",
        "--agency",
        world.a.name,
        "--role",
        "viewer",
        "--password-file",
        short,
    )
    assert weak.code == 2 and "12 characters" in weak.err
    bad_role = hub_cli(
        "hub",
        "user",
        "add",
        "w@x.test",
        "--agency",
        world.a.name,
        "--role",
        "king",
        "--password-file",
        password,
    )
    assert bad_role.code == 2 and "unknown role" in bad_role.err
    missing = hub_cli(
        "hub",
        "user",
        "add",
        "w@x.test",
        "--agency",
        "Nope",
        "--role",
        "viewer",
        "--password-file",
        password,
    )
    assert missing.code == 2 and "no agency" in missing.err
    assert hub_cli("hub", "token", "create", world.a["viewer"].email, "--expires", "soon").code == 2
    agencies = hub_cli("hub", "agency", "list", "--format", "jsonl").jsonl()
    assert {world.a.name, world.b.name} <= {a["name"] for a in agencies}
    users = hub_cli("hub", "user", "list", "--agency", world.a.name, "--format", "json").json()
    assert {u["role"] for u in users} >= {"admin", "viewer"}
    assert hub_cli("hub", "user", "disable", world.a["viewer"].email).code == 0
    assert hub_cli("hub", "user", "enable", world.a["viewer"].email).code == 0
    status = hub_cli("hub", "status", "--format", "json").json()
    assert status["schema_revision"] == "0002" and status["agencies"] >= 3
    tokens = hub_cli(
        "hub", "token", "list", "--user", world.a["viewer"].email, "--format", "json"
    ).json()
    assert tokens and "token_hash" not in tokens[0]
    assert hub_cli("hub", "retention", "list", "--format", "json").code == 0


def test_token_created_through_the_api_is_no_broader_than_its_creator(
    client: TestClient, world: World
) -> None:
    member = world.a["analyst"]
    made = client.post(
        "/api/v1/tokens",
        headers=member.headers,
        json={"name": "script", "scopes": ["cases:read"], "expires": "1d"},
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()[
        "permissions"
    ] == ["cases:read"]
    wider = client.post("/api/v1/tokens", headers=member.headers, json={"scopes": ["cases:erase"]})
    assert wider.status_code == 422
    listed = client.get("/api/v1/tokens", headers=member.headers).json()
    assert any(t["id"] == made.json()["id"] for t in listed)
    assert (
        client.delete(f"/api/v1/tokens/{made.json()['id']}", headers=member.headers).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

"""The hash-chained audit log: what is recorded, and that any edit, deletion or reordering
makes ``ctip audit verify`` fail and name the entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ctip.hub.audit import AuditEntry, verify
from ctip.hub.runtime import Hub
from tests.hub.conftest import World, person

pytestmark = pytest.mark.postgres
LATER = (datetime.now(UTC) + timedelta(days=30)).isoformat()


@pytest.fixture
def activity(
    client: TestClient, world: World, add_cases: Callable[..., list[str]]
) -> dict[str, Any]:
    a, c = world.a["investigator"], world.c["investigator"]
    ids = add_cases(a, [person(), person()])
    client.get(f"/api/v1/cases/{ids[0]}", headers=a.headers)
    share = client.post(
        "/api/v1/shares",
        headers=a.headers,
        json={
            "recipient": world.c.name,
            "purpose": "audit test",
            "legal_basis": "PublicTask",
            "expires_at": LATER,
            "case_ids": ids[:1],
            "fields": ["names"],
        },
    ).json()
    client.get(f"/api/v1/cases/{ids[0]}", headers=c.headers)
    return {"ids": ids, "share_id": share["id"]}


def actions(hub: Hub) -> list[tuple[Any, ...]]:
    with hub.owner.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                sa.text(
                    "SELECT seq, action, actor, agency_id::text, subject_agency_id::text, target_id,"
                    " details FROM audit_log ORDER BY seq"
                )
            )
        ]


def test_logins_reads_writes_shares_and_admin_actions_are_recorded(
    hub: Hub, world: World, activity: dict[str, Any], client: TestClient
) -> None:
    client.post(
        "/api/v1/auth/login", json={"email": world.a["viewer"].email, "password": "wrong password!"}
    )
    entries = actions(hub)
    names = [e[1] for e in entries]
    for expected in (
        "agency.add",
        "user.add",
        "token.create",
        "cases.create",
        "cases.read-personal",
        "share.offer",
        "login.failure",
    ):
        assert expected in names, expected
    reads = [e for e in entries if e[1] == "cases.read-personal" and e[5] == activity["ids"][0]]
    by_agency = {e[3] for e in reads}
    assert {world.a.id, world.c.id} <= by_agency
    recipient_read = next(e for e in reads if e[3] == world.c.id)
    assert recipient_read[4] == world.a.id  # the owner's auditors see it
    for entry in entries:  # no personal value ever enters the log
        assert "Amara" not in entry[6] and "Testperson" not in entry[6]
    assert verify(hub.owner, hub.audit.key).ok


def test_owner_auditor_sees_recipient_reads_in_the_breach_report(
    hub: Hub, world: World, activity: dict[str, Any], client: TestClient
) -> None:
    report = client.get(
        "/api/v1/audit/breach-report",
        headers=world.a["auditor"].headers,
        params={"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "until": LATER},
    )
    assert report.status_code == 200, report.text
    rows = [r for r in report.json() if r["case_id"] == activity["ids"][0]]
    actors = {r["actor"] for r in rows}
    assert world.a["investigator"].email in actors and world.c["investigator"].email in actors
    assert (
        client.get(
            "/api/v1/audit/breach-report",
            headers=world.a["viewer"].headers,
            params={"since": "2020-01-01T00:00:00Z", "until": LATER},
        ).status_code
        == 403
    )


def test_group_commit_keeps_the_chain_under_concurrency(hub: Hub) -> None:
    from concurrent.futures import ThreadPoolExecutor

    before = verify(hub.owner, hub.audit.key).entries
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: hub.batcher.append(AuditEntry("test.concurrent", f"t{i}")), range(200)
            )
        )
    result = verify(hub.owner, hub.audit.key)
    assert result.ok and result.entries == before + 200


def tamper(hub: Hub, statement: str, **params: Any) -> None:
    with hub.owner.begin() as connection:
        connection.execute(sa.text(statement), params)


@pytest.fixture
def restore(hub: Hub) -> Any:
    """Put the audit log back as it was after a tampering test."""
    with hub.owner.connect() as connection:
        saved = connection.execute(sa.text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
        head = connection.execute(sa.text("SELECT seq, hash FROM audit_head")).one()
    yield
    with hub.owner.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_log"))
        connection.execute(
            sa.insert(sa.table("audit_log", *[sa.column(k) for k in saved[0]])),
            [dict(r) for r in saved],
        )
        connection.execute(
            sa.text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": head[0], "h": head[1]}
        )


def verify_cli(hub_cli: Callable[..., Any]) -> tuple[int, dict[str, Any], str]:
    result = hub_cli("audit", "verify", "--format", "json")
    return result.code, json.loads(result.out), result.err


def test_editing_one_row_makes_verify_fail_and_name_it(
    hub: Hub, activity: dict[str, Any], hub_cli: Callable[..., Any], restore: Any
) -> None:
    code, report, _ = verify_cli(hub_cli)
    assert code == 0 and report["ok"]
    tamper(hub, "UPDATE audit_log SET actor = 'someone-else@x.test' WHERE seq = 5")
    code, report, err = verify_cli(hub_cli)
    assert code == 1 and not report["ok"]
    assert report["problems"][0]["seq"] == 5 and "edited" in report["problems"][0]["problem"]
    assert "entry 5" in err


def test_recomputing_the_edited_hash_without_the_key_is_caught_at_the_next_entry(
    hub: Hub, activity: dict[str, Any], hub_cli: Callable[..., Any], restore: Any
) -> None:
    # an attacker who edits a row and recomputes a plain SHA-256 for it
    tamper(
        hub, "UPDATE audit_log SET details = '{}', hash = sha256(prev_hash || 'x') WHERE seq = 4"
    )
    code, report, _ = verify_cli(hub_cli)
    problems = {p["seq"]: p["problem"] for p in report["problems"]}
    assert code == 1 and 4 in problems and 5 in problems


def test_deleting_a_row_is_named(
    hub: Hub, activity: dict[str, Any], hub_cli: Callable[..., Any], restore: Any
) -> None:
    tamper(hub, "DELETE FROM audit_log WHERE seq = 7")
    code, report, _ = verify_cli(hub_cli)
    assert code == 1
    assert report["problems"][0] == {"seq": 7, "problem": "entries 7 are missing (deleted)"}


def test_reordering_rows_is_named(
    hub: Hub, activity: dict[str, Any], hub_cli: Callable[..., Any], restore: Any
) -> None:
    tamper(hub, "UPDATE audit_log SET seq = -seq WHERE seq IN (8, 9)")
    tamper(hub, "UPDATE audit_log SET seq = 9 WHERE seq = -8")
    tamper(hub, "UPDATE audit_log SET seq = 8 WHERE seq = -9")
    code, report, _ = verify_cli(hub_cli)
    assert code == 1 and {p["seq"] for p in report["problems"]} >= {8, 9}


def test_deleting_the_newest_entries_is_caught_by_the_head(
    hub: Hub, activity: dict[str, Any], hub_cli: Callable[..., Any], restore: Any
) -> None:
    tamper(hub, "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    code, report, _ = verify_cli(hub_cli)
    assert code == 1 and "head" in report["problems"][0]["problem"]


def test_audit_export_and_breach_report_commands(
    hub_cli: Callable[..., Any], activity: dict[str, Any], world: World, tmp_path: Any
) -> None:
    out = tmp_path / "audit.jsonl"
    result = hub_cli("audit", "export", "--agency", world.a.name, "--out", out)
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and all(world.a.id in (e["agency_id"], e["subject_agency_id"]) for e in lines)
    assert all(len(e["hash"]) == 64 for e in lines) and "chain head" in result.err
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    report = hub_cli(
        "audit", "breach-report", "--since", since, "--agency", world.a.name, "--format", "jsonl"
    )
    assert report.code == 0, report.err
    rows = report.jsonl()
    assert any(
        r["case_id"] == activity["ids"][0] and r["actor_agency_id"] == world.c.id for r in rows
    )

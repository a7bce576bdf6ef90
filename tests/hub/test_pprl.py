"""Privacy-preserving record linkage through the hub: two agencies that never see each other's
records learn which people they have in common, and whom to call about them.

Agencies A and B encode overlapping generated people (Faker names, 555 phone numbers) with the
same linkage schema and secret, deposit the encodings through the API, and A asks. The answer
names B, B's contact route and the similarity for the people B also holds, and nothing else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ctip.hub.database import tenant
from ctip.hub.permissions import Principal
from ctip.hub.runtime import Hub
from ctip.link import hub as pprl_hub
from ctip.link.people import generate_linkage_pair
from ctip.link.pprl import read_encodings
from ctip.link.pprl_encode import encode_file
from ctip.link.pprl_schema import draft_schema
from ctip.link.roles import assign_roles
from tests.hub.conftest import Member, World

pytestmark = pytest.mark.postgres

COLUMNS = ["first_name", "last_name", "birth_date", "city", "postcode"]
THRESHOLD = 0.85  # generated duplicates are hard on purpose; 0.85 keeps namesakes out
B_CONTACT = "pprl-desk@south-shelter.example, +1 555 0199"
A_CONTACT = "linkage@north-police.example"


@dataclass
class Encoded:
    a: Path
    b: Path
    b_other_secret: Path
    a_truth: dict[str, str]  # A's record id -> person
    b_people: set[str]
    b_ids: list[str]
    b_names: set[str]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    folder = tmp_path_factory.mktemp("pprl")
    a, b = generate_linkage_pair(160, overlap=0.4, seed=21, typo_rate=0.3)
    for name, table in (("a", a), ("b", b)):
        table.drop_columns(["entity_id"]).to_pandas().to_csv(folder / f"{name}.csv", index=False)
    schema = draft_schema(
        assign_roles(COLUMNS, id_column="record_id"),
        id_column="record_id",
        samples={c: a.column(c).to_pylist() for c in COLUMNS},
        salt=b"hub-test-salt-".ljust(32, b"x"),
    )
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / "shared.key").write_text("0123456789abcdef0123456789abcdef\n")
    (folder / "other.key").write_text("a different secret, long enough\n")
    for name, key in (("a", "shared"), ("b", "shared"), ("b", "other")):
        out = folder / (f"{name}.jsonl" if key == "shared" else f"{name}-{key}.jsonl")
        encode_file(
            folder / f"{name}.csv",
            folder / "schema.json",
            folder / f"{key}.key",
            out,
            id_column="record_id",
            workers=1,
        )
    return Encoded(
        a=folder / "a.jsonl",
        b=folder / "b.jsonl",
        b_other_secret=folder / "b-other.jsonl",
        a_truth=dict(
            zip(a.column("record_id").to_pylist(), a.column("entity_id").to_pylist(), strict=True)
        ),
        b_people=set(b.column("entity_id").to_pylist()),
        b_ids=b.column("record_id").to_pylist(),
        b_names={str(v) for v in b.column("last_name").to_pylist() if v and len(str(v)) > 4},
    )


def body(path: Path, **extra: Any) -> dict[str, Any]:
    """The API's JSON for an encoded file (what ``ctip pprl deposit`` sends)."""
    found = read_encodings(path)
    lines = path.read_text().splitlines()[1:]
    return {
        "schema_sha256": found.meta["schema_sha256"],
        "key_id": found.meta["key_id"],
        "bits": found.meta["bits"],
        "encodings": [
            {"ref": item["id"], "clk": item["clk"]} for item in (json.loads(x) for x in lines)
        ],
        **extra,
    }


def principal_of(member: Member, agency_id: str, permissions: frozenset[str]) -> Principal:
    return Principal(member.user_id, agency_id, member.email, member.role, permissions, "token")


@pytest.fixture(scope="module")
def deposited(client: TestClient, world: World, encoded: Encoded) -> dict[str, Any]:
    """B and A deposit (contacts set by their admins); C deposits nothing."""
    for agency, contact in ((world.b, B_CONTACT), (world.a, A_CONTACT)):
        response = client.put(
            "/api/v1/pprl/contact", json={"contact": contact}, headers=agency["admin"].headers
        )
        assert response.status_code == 200, response.text
    b = client.put(
        "/api/v1/pprl/encodings", json=body(encoded.b), headers=world.b["analyst"].headers
    )
    assert b.status_code == 200, b.text
    a = client.put(
        "/api/v1/pprl/encodings", json=body(encoded.a), headers=world.a["investigator"].headers
    )
    assert a.status_code == 200, a.text
    return {"a": a.json(), "b": b.json()}


@pytest.fixture(scope="module")
def asked(
    client: TestClient, world: World, encoded: Encoded, deposited: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/pprl/query",
        json=body(encoded.a, threshold=THRESHOLD),
        headers=world.a["investigator"].headers,
    )
    assert response.status_code == 200, response.text
    return {
        "answers": response.json(),
        "text": response.text,
        "compared": response.headers["x-ctip-agencies-compared"],
        "id": response.headers["x-ctip-pprl-question"],
    }


def test_deposit_replaces_the_agencys_set_and_reports_counts(
    client: TestClient, world: World, encoded: Encoded, deposited: dict[str, Any]
) -> None:
    assert deposited["b"]["records"] == len(encoded.b_ids) and deposited["b"]["bits"] == 1024
    headers = world.b["analyst"].headers
    again = client.put("/api/v1/pprl/encodings", json=body(encoded.b), headers=headers).json()
    assert again["replaced"] == again["records"] == len(encoded.b_ids)
    listing = client.get("/api/v1/pprl/encodings", headers=headers).json()
    assert listing["contact"] == B_CONTACT
    assert [(d["records"], d["bits"]) for d in listing["deposits"]] == [(len(encoded.b_ids), 1024)]
    # a larger deposit arrives in parts: the rest is added, and must have the same length
    part = body(encoded.b)
    part["encodings"] = part["encodings"][:3]
    added = client.post("/api/v1/pprl/encodings", json=part, headers=headers).json()
    assert added["replaced"] == 0 and added["records"] == len(encoded.b_ids)
    short = {**part, "bits": 512}
    short["encodings"] = [
        {"ref": "x", "clk": base64.b64encode(b"\x01" * 64).decode()},
    ]
    refused = client.post("/api/v1/pprl/encodings", json=short, headers=headers)
    assert refused.status_code == 422 and "replace the deposit" in refused.json()["detail"]


def test_a_learns_which_agency_holds_its_people_and_nothing_of_their_records(
    world: World, encoded: Encoded, asked: dict[str, Any]
) -> None:
    answers = asked["answers"]
    assert answers and all(set(a) == {"query", "agency", "contact", "score"} for a in answers)
    assert {a["agency"] for a in answers} == {world.b.name}  # never A itself; C holds nothing
    assert {a["contact"] for a in answers} == {B_CONTACT}
    assert asked["compared"] == "1"
    assert all(THRESHOLD <= a["score"] <= 1.0 for a in answers)
    answered = {a["query"] for a in answers}
    assert len(answered) == len(answers)  # one answer per agency per queried record
    overlap = {r for r, person in encoded.a_truth.items() if person in encoded.b_people}
    assert answered <= overlap  # nothing for the people B does not hold
    assert len(answered) >= 0.75 * len(overlap)  # most of those it does hold
    # none of B's references or fields reach A
    assert not any(ref in asked["text"] for ref in encoded.b_ids)
    assert not any(name in asked["text"] for name in encoded.b_names)


def test_the_question_log_belongs_to_the_asker(
    client: TestClient, world: World, hub: Hub, asked: dict[str, Any]
) -> None:
    mine = client.get("/api/v1/pprl/queries", headers=world.a["investigator"].headers).json()
    assert mine[0]["id"] == asked["id"] and mine[0]["answers"] == asked["answers"]
    assert mine[0]["queried"] == 160 and mine[0]["agencies_compared"] == 1
    assert client.get("/api/v1/pprl/queries", headers=world.b["admin"].headers).json() == []
    everything = frozenset({"pprl:query", "pprl:deposit", "cases:read"})
    a_rows = pprl_hub.list_requests(
        hub, principal_of(world.a["investigator"], world.a.id, everything)
    )
    assert {r["query"] for r in a_rows} == {a["query"] for a in asked["answers"]}
    assert set(a_rows[0]) == {"asked_at", "query", "agency", "contact", "score"}
    b_rows = pprl_hub.list_requests(hub, principal_of(world.b["admin"], world.b.id, everything))
    assert b_rows == []
    viewer = principal_of(world.a["viewer"], world.a.id, frozenset({"cases:read"}))
    assert pprl_hub.list_requests(hub, viewer) == []


def test_questions_made_with_another_secret_or_schema_are_refused(
    client: TestClient, world: World, encoded: Encoded, deposited: dict[str, Any]
) -> None:
    headers = world.c["investigator"].headers
    other_key = client.post(
        "/api/v1/pprl/query", json=body(encoded.b_other_secret), headers=headers
    )
    assert other_key.status_code == 409, other_key.text
    problem = other_key.json()
    assert problem["type"] == "urn:ctip:problem:pprl-not-comparable"
    assert "secret" in problem["detail"] and deposited["b"]["key_id"] in problem["detail"]
    other_schema = {**body(encoded.a), "schema_sha256": "0" * 64}
    refused = client.post("/api/v1/pprl/query", json=other_schema, headers=headers)
    assert refused.status_code == 409 and "linkage schema" in refused.json()["detail"]
    bad = body(encoded.a)
    bad["encodings"][1]["clk"] = "not base64!!"
    assert client.post("/api/v1/pprl/query", json=bad, headers=headers).status_code == 422
    twice = body(encoded.a)
    twice["encodings"][1]["ref"] = twice["encodings"][0]["ref"]
    assert client.post("/api/v1/pprl/query", json=twice, headers=headers).status_code == 422
    low = client.post("/api/v1/pprl/query", json=body(encoded.a, threshold=0.2), headers=headers)
    assert low.status_code == 422


def test_roles_and_the_contact_route_gate_the_exchange(
    client: TestClient, world: World, encoded: Encoded, deposited: dict[str, Any]
) -> None:
    c = world.c
    assert (
        client.put(
            "/api/v1/pprl/encodings", json=body(encoded.a), headers=c["viewer"].headers
        ).status_code
        == 403
    )
    first = client.put("/api/v1/pprl/encodings", json=body(encoded.a), headers=c["analyst"].headers)
    assert first.status_code == 409 and "contact route" in first.json()["detail"]
    contact = {"contact": "desk@east.example"}
    assert (
        client.put(
            "/api/v1/pprl/contact", json=contact, headers=c["investigator"].headers
        ).status_code
        == 403
    )
    assert (
        client.put(
            "/api/v1/pprl/contact", json={"contact": "a\nb c"}, headers=c["admin"].headers
        ).status_code
        == 422
    )
    for role in ("analyst", "auditor", "viewer"):
        response = client.post("/api/v1/pprl/query", json=body(encoded.a), headers=c[role].headers)
        assert response.status_code == 403, role
    assert client.get("/api/v1/pprl/queries", headers=c["analyst"].headers).status_code == 403


def test_row_level_security_hides_other_agencies_encodings(
    hub: Hub, world: World, encoded: Encoded, deposited: dict[str, Any]
) -> None:
    with tenant(hub.app, world.a.id) as connection:  # deliberately no WHERE agency_id = ...
        for table in ("pprl_encodings", "pprl_contacts", "pprl_queries"):
            rows = connection.execute(sa.text(f"SELECT agency_id::text FROM {table}")).scalars()
            assert set(rows) <= {world.a.id}, table
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM pprl_encodings WHERE ref = ANY(:r)"),
                {"r": encoded.b_ids},
            ).scalar_one()
            == 0
        )
        # the comparison's function gives other agencies' sealed encodings, never references
        found = connection.execute(
            sa.text("SELECT * FROM ctip_pprl_candidates(:s, :k)"),
            {"s": deposited["b"]["schema_sha256"], "k": deposited["b"]["key_id"]},
        )
        assert list(found.keys()) == ["agency_id", "clk"]
        assert {str(r.agency_id) for r in found} == {world.b.id}
    with tenant(hub.app, None) as connection:  # no agency named: nothing, not everything
        for table in ("pprl_encodings", "pprl_contacts", "pprl_queries"):
            assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM ctip_pprl_candidates(:s, :k)"),
                {"s": deposited["b"]["schema_sha256"], "k": deposited["b"]["key_id"]},
            ).scalar_one()
            == 0
        )
    with (
        tenant(hub.app, world.a.id) as connection,
        pytest.raises(sa.exc.DBAPIError, match="row-level security"),
    ):
        connection.execute(
            sa.text(
                "INSERT INTO pprl_encodings (agency_id, schema_sha256, key_id, ref, clk)"
                " VALUES (:b, :s, 'abcdef0123456789', 'planted', '\\x00112233445566778899')"
            ),
            {"b": world.b.id, "s": "0" * 64},
        )
    with hub.app.connect() as connection:  # an unscoped DELETE removes only A's own rows
        connection.execute(
            sa.text("SELECT set_config('ctip.agency_id', :a, true)"), {"a": world.a.id}
        )
        removed = connection.execute(sa.text("DELETE FROM pprl_encodings")).rowcount
        connection.rollback()
    assert removed == deposited["a"]["records"]
    with hub.owner.connect() as connection:  # sealed at rest: the database holds no CLK
        stored = connection.execute(
            sa.text("SELECT clk FROM pprl_encodings WHERE agency_id = :b LIMIT 1"),
            {"b": world.b.id},
        ).scalar_one()
    plain = {base64.b64decode(e["clk"]) for e in body(encoded.b)["encodings"]}
    assert bytes(stored) not in plain and not any(p in bytes(stored) for p in list(plain)[:20])


def test_audit_records_counts_and_tells_the_named_agency(
    hub: Hub, world: World, encoded: Encoded, asked: dict[str, Any]
) -> None:
    with hub.owner.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT action, agency_id::text AS agency, subject_agency_id::text AS subject,"
                " target_id, details FROM audit_log WHERE action LIKE 'pprl.%' ORDER BY seq"
            )
        ).mappings()
        entries = [dict(r) for r in rows]
    actions = {(e["action"], e["agency"], e["subject"]) for e in entries}
    assert ("pprl.contact", world.b.id, None) in actions
    assert ("pprl.deposit", world.b.id, None) in actions
    assert ("pprl.query", world.a.id, None) in actions
    assert ("pprl.answered", world.a.id, world.b.id) in actions  # B's auditors see it
    query = next(
        e for e in entries if e["action"] == "pprl.query" and e["target_id"] == asked["id"]
    )
    details = json.loads(query["details"])
    assert details["queried"] == 160 and details["answers"] == len(asked["answers"])
    text = json.dumps(entries, default=str)
    clk = body(encoded.a)["encodings"][0]["clk"]
    assert clk[:40] not in text and B_CONTACT not in text
    assert not any(ref in text for ref in encoded.b_ids)
    assert not any(a["query"] in text for a in asked["answers"])


def test_cli_deposits_and_asks_through_a_running_hub(
    cli: Callable[..., Any],
    server_url: str,
    world: World,
    encoded: Encoded,
    deposited: dict[str, Any],
    tmp_path: Path,
) -> None:
    tokens = {}
    for agency, member in (("a", world.a["investigator"]), ("b", world.b["admin"])):
        tokens[agency] = tmp_path / f"{agency}.token"
        tokens[agency].write_text(member.token + "\n")
    done = cli(
        "pprl",
        "deposit",
        encoded.b,
        "--hub",
        server_url,
        "--token-file",
        tokens["b"],
        "--contact",
        B_CONTACT,
        "--format",
        "json",
    )
    assert done.code == 0, done.err
    assert done.json()["deposited"] == len(encoded.b_ids)
    result = cli(
        "pprl",
        "ask",
        encoded.a,
        "--hub",
        server_url,
        "--token-file",
        tokens["a"],
        "--threshold",
        str(THRESHOLD),
        "--format",
        "jsonl",
    )
    assert result.code == 0, result.err
    rows = result.jsonl()
    assert rows and {r["agency"] for r in rows} == {world.b.name}
    assert "records are held by another agency" in result.err
    # bad input: one line, exit 2
    no_header = tmp_path / "plain.jsonl"
    no_header.write_text("\n".join(encoded.a.read_text().splitlines()[1:]) + "\n")
    for args in (
        (tmp_path / "missing.jsonl", "--token-file", tokens["a"]),
        (no_header, "--token-file", tokens["a"]),
        (encoded.b_other_secret, "--token-file", tokens["a"]),
        (encoded.a, "--token-file", tmp_path / "no.token"),
    ):
        refused = cli("pprl", "ask", args[0], "--hub", server_url, *args[1:])
        assert refused.code == 2, (args, refused.err)
        assert len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    assert (
        "secret"
        in cli(
            "pprl", "ask", encoded.b_other_secret, "--hub", server_url, "--token-file", tokens["a"]
        ).err
    )
    withdrawn = cli("pprl", "withdraw", "--hub", server_url, "--token-file", tokens["b"])
    assert withdrawn.code == 0 and f"withdrew {len(encoded.b_ids):,}" in withdrawn.err
    gone = cli("pprl", "ask", encoded.a, "--hub", server_url, "--token-file", tokens["a"])
    assert gone.code == 2 and "no other agency" in gone.err
    again = cli("pprl", "deposit", encoded.b, "--hub", server_url, "--token-file", tokens["b"])
    assert again.code == 0, again.err  # leave the module's deposits as they were

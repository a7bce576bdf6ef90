"""Privacy-preserving linkage: clkhash encodings, anonlink matching, LSH blocking, the hub query."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ctip.errors import BadInputError
from ctip.link import pprl
from ctip.link.pprl import match_encodings, match_query, read_encodings
from ctip.link.pprl_encode import encode_file
from ctip.link.pprl_schema import draft_schema
from ctip.link.roles import assign_roles
from tests.conftest import CliResult
from tests.link.conftest import febrl_truth

Cli = Callable[..., CliResult]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    return path


def _febrl_files(
    febrl4: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> tuple[Path, Path, Path]:
    a, b = febrl4
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    columns = [c for c in a.columns if c != "rec_id"]
    samples = {c: a[c].where(a[c].notna(), None).tolist() for c in columns}
    schema = draft_schema(
        assign_roles(columns, id_column="rec_id"),
        id_column="rec_id",
        samples=samples,
        salt=b"s" * 32,
    )
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    return tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "schema.json"


@pytest.mark.slow
def test_febrl4_pprl_f1_at_least_099(
    febrl4: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, secret: Path
) -> None:
    file_a, file_b, schema = _febrl_files(febrl4, tmp_path)
    encode_file(file_a, schema, secret, tmp_path / "a.jsonl", id_column="rec_id")
    encode_file(file_b, schema, secret, tmp_path / "b.jsonl", id_column="rec_id")
    a, b = read_encodings(tmp_path / "a.jsonl"), read_encodings(tmp_path / "b.jsonl")
    matches, _ = match_encodings(a.clks, b.clks, 0.8)
    hits = sum(febrl_truth(a.ids[i]) == febrl_truth(b.ids[j]) for i, j, _ in matches)
    precision, recall = hits / len(matches), hits / 5000
    assert 2 * precision * recall / (precision + recall) >= 0.99
    # LSH blocking finds the same matches as comparing every pair
    blocked = _forced_blocking(a.clks, b.clks)
    assert len(set(blocked) & {(i, j) for i, j, _ in matches}) >= 0.95 * len(matches)


def _forced_blocking(a: list, b: list) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    previous = pprl.BLOCK_ABOVE
    pprl.BLOCK_ABOVE = 0
    try:
        matches, stats = match_encodings(a, b, 0.8)
    finally:
        pprl.BLOCK_ABOVE = previous
    assert "Hamming LSH" in stats["blocking"]
    return [(i, j) for i, j, _ in matches]


def test_cli_keygen_schema_encode_match(cli: Cli, tmp_path: Path) -> None:
    from ctip.link.people import generate_linkage_pair

    a, b = generate_linkage_pair(300, overlap=0.5, seed=4, typo_rate=0.3)
    for name, table in (("a", a), ("b", b)):
        table.drop_columns(["entity_id"]).to_pandas().to_csv(tmp_path / f"{name}.csv", index=False)
    key = tmp_path / "keys" / "shared.key"
    assert cli("pprl", "keygen", "--out", key).code == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert cli("pprl", "keygen", "--out", key).code == 2  # never overwritten
    schema = tmp_path / "schema.json"
    made = cli(
        "pprl",
        "schema",
        tmp_path / "a.csv",
        "--out",
        schema,
        "--id-column",
        "record_id",
        "--columns",
        "first_name,last_name,birth_date,city,postcode",
    )
    assert made.code == 0, made.err
    assert json.loads(schema.read_text())["version"] == 3
    for name in ("a", "b"):
        done = cli(
            "pprl",
            "encode",
            tmp_path / f"{name}.csv",
            "--schema",
            schema,
            "--secret-file",
            key,
            "--out",
            tmp_path / f"{name}.jsonl",
            "--id-column",
            "record_id",
        )
        assert done.code == 0, done.err
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert "ctip_pprl" in json.loads(lines[0]) and set(json.loads(lines[1])) == {"id", "clk"}
    assert "Maria" not in (tmp_path / "a.jsonl").read_text()
    result = cli(
        "pprl",
        "match",
        tmp_path / "a.jsonl",
        tmp_path / "b.jsonl",
        "--threshold",
        "0.8",
        "--format",
        "jsonl",
    )
    assert result.code == 0, result.err
    rows = result.jsonl()
    truth = dict(
        zip(a.column("record_id").to_pylist(), a.column("entity_id").to_pylist(), strict=True)
    )
    truth.update(
        zip(b.column("record_id").to_pylist(), b.column("entity_id").to_pylist(), strict=True)
    )
    assert rows and all(isinstance(r, dict) and set(r) == {"a", "b", "score"} for r in rows)
    correct = sum(truth[r["a"]] == truth[r["b"]] for r in rows)  # type: ignore[index]
    assert correct / len(rows) >= 0.8 and correct >= 100  # salt and secret are random per run
    # a file made with another secret is refused
    other = tmp_path / "other.key"
    other.write_text("another secret that is long enough\n")
    cli(
        "pprl",
        "encode",
        tmp_path / "b.csv",
        "--schema",
        schema,
        "--secret-file",
        other,
        "--out",
        tmp_path / "b2.jsonl",
        "--id-column",
        "record_id",
    )
    refused = cli("pprl", "match", tmp_path / "a.jsonl", tmp_path / "b2.jsonl")
    assert refused.code == 2 and "different secrets" in refused.err


def test_bad_secret_schema_and_rows(tmp_path: Path, secret: Path) -> None:
    short = tmp_path / "short.key"
    short.write_text("abc")
    with pytest.raises(BadInputError, match="at least 16"):
        pprl.read_secret(short)
    bad_schema = tmp_path / "bad.json"
    bad_schema.write_text('{"version": 2}')
    with pytest.raises(BadInputError, match="version 3"):
        pprl.load_schema(bad_schema)
    data = tmp_path / "d.csv"
    data.write_text("id,first_name\n1,Ana\n1,Ana\n")
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(draft_schema(assign_roles(["first_name"]), id_column="id")))
    with pytest.raises(BadInputError, match="row 3: id: id '1' repeats"):
        encode_file(data, schema, secret, tmp_path / "o.jsonl", id_column="id")
    summary = encode_file(
        data, schema, secret, tmp_path / "o.jsonl", id_column="id", skip_invalid=True
    )
    assert summary.encoded == 1 and summary.skipped[0]["row"] == 3


def test_match_query_answers_agency_and_contact_only(tmp_path: Path, secret: Path) -> None:
    from clkhash import clk
    from clkhash import schema as clk_schema

    roles = assign_roles(["first_name", "last_name", "birth_date"])
    schema = clk_schema.from_json_dict(draft_schema(roles, salt=b"q" * 32))
    key = pprl.read_secret(secret)

    def encode(rows: list[list[str]]) -> list:  # type: ignore[type-arg]
        encoded: list = clk.generate_clks(rows, schema, key, max_workers=1)  # type: ignore[type-arg]
        return encoded

    query = encode([["maria", "lopez", "1990-03-07"], ["nobody", "known", "2001-01-01"]])
    agency_a = encode([["maria", "lopes", "1990-03-07"], ["john", "smith", "1970-05-05"]])
    agency_b = encode([["pedro", "cruz", "1980-02-02"]])
    answers = match_query(
        {"my-case-1": query[0], "my-case-2": query[1]},
        {"agency-a": ("desk@agency-a.example", agency_a), "agency-b": ("b@example.org", agency_b)},
        threshold=0.8,
    )
    assert [(m.query, m.agency, m.contact) for m in answers] == [
        ("my-case-1", "agency-a", "desk@agency-a.example")
    ]
    assert 0.8 <= answers[0].score <= 1.0
    assert not hasattr(answers[0], "record")

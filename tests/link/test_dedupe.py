"""Entity resolution end to end: FEBRL 4, generated people, the CLI, judgements, workspace cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ctip.engine import DuckDBEngine
from ctip.link.demo import pairwise_scores
from ctip.link.prepare import SOURCE, clean_records
from ctip.link.resolve import DedupeOptions
from ctip.link.roles import assign_roles
from ctip.link.service import run_dedupe
from tests.conftest import CliResult
from tests.link.conftest import febrl_truth

Cli = Callable[..., CliResult]


@pytest.mark.slow
def test_febrl4_plaintext_resolution_f1_at_least_099(
    febrl4: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    both = pd.concat(febrl4, ignore_index=True)
    table = pa.Table.from_pandas(both, preserve_index=False)
    table = table.append_column(SOURCE, pa.array(["febrl"] * table.num_rows))
    columns = [c for c in both.columns if c != "rec_id"]
    engine = DuckDBEngine()
    records = clean_records(
        engine, table, "rec_id", assign_roles(columns, id_column="rec_id"), inputs=[]
    )
    outcome = run_dedupe(engine, records, DedupeOptions(), store_results=False, input_kind="t")
    ids = outcome.rows.column("id").to_pylist()
    scores = pairwise_scores(
        ids, outcome.rows.column("cluster").to_pylist(), {i: febrl_truth(i) for i in ids}
    )
    assert scores["f1"] >= 0.99, scores


def test_generated_people_resolve_well(people: pa.Table) -> None:
    table = people.append_column(SOURCE, pa.array(["gen"] * people.num_rows))
    columns = [c for c in people.column_names if c not in ("record_id", "entity_id")]
    engine = DuckDBEngine()
    records = clean_records(
        engine, table, "record_id", assign_roles(columns, id_column="record_id"), inputs=[]
    )
    outcome = run_dedupe(engine, records, DedupeOptions(), store_results=False, input_kind="t")
    truth = dict(
        zip(
            people.column("record_id").to_pylist(),
            people.column("entity_id").to_pylist(),
            strict=True,
        )
    )
    scores = pairwise_scores(
        outcome.rows.column("id").to_pylist(), outcome.rows.column("cluster").to_pylist(), truth
    )
    assert scores["precision"] >= 0.9 and scores["recall"] >= 0.85, scores


def _jsonl(result: CliResult) -> list[dict[str, object]]:
    rows = result.jsonl()
    assert all(isinstance(r, dict) for r in rows)
    return rows  # type: ignore[return-value]


def test_cli_dedupe_judgements_and_review(cli: Cli, people_csv: Path, people: pa.Table) -> None:
    assert cli("init").code == 0
    first = cli("link", "dedupe", people_csv, "--format", "jsonl")
    assert first.code == 0, first.err
    rows = _jsonl(first)
    assert len(rows) == people.num_rows
    assert set(rows[0]) == {"id", "cluster", "match_probability"}
    by_cluster: dict[object, list[str]] = {}
    for row in rows:
        by_cluster.setdefault(row["cluster"], []).append(str(row["id"]))
    pair = next(sorted(m) for m in by_cluster.values() if len(m) == 2)
    singles = sorted(str(r["id"]) for r in rows if len(by_cluster[r["cluster"]]) == 1)[:2]
    # a rerun gives the same canonical ids
    again = {
        r["id"]: r["cluster"]
        for r in _jsonl(cli("link", "dedupe", people_csv, "--format", "jsonl"))
    }
    assert again == {r["id"]: r["cluster"] for r in rows}
    # judgements: split the pair, join two singletons
    judged = cli(
        "link",
        "judge",
        pair[0],
        pair[1],
        "not-same",
        "--note",
        "different mothers",
        "--format",
        "json",
    )
    assert judged.code == 0 and json.loads(judged.out)["verdict"] == "not-same"
    assert cli("link", "judge", singles[0], singles[1], "same").code == 0
    third = {
        r["id"]: r["cluster"]
        for r in _jsonl(cli("link", "dedupe", people_csv, "--format", "jsonl"))
    }
    assert third[pair[0]] != third[pair[1]]
    assert third[singles[0]] == third[singles[1]]
    kept = [p for p in (pair[0], pair[1]) if third[p] == again[p]]
    assert kept, "one side of the split keeps the old canonical id"
    review = _jsonl(cli("link", "review", "--limit", "5", "--format", "jsonl"))
    assert review and {"id_l", "id_r", "match_probability", "match_weight", "explanation"} <= set(
        review[0]
    )
    explanation = review[0]["explanation"]
    assert isinstance(explanation, list) and {"comparison", "level", "match_weight"} <= set(
        explanation[0]
    )
    runs = _jsonl(cli("link", "runs", "--format", "jsonl"))
    assert len(runs) == 3 and runs[0]["judgements_applied"] == 2


def test_cli_dedupe_without_a_workspace_and_bad_input(
    cli: Cli, people_csv: Path, tmp_path: Path
) -> None:
    result = cli("link", "dedupe", people_csv, "--format", "csv")
    assert result.code == 0 and "no workspace" in result.err
    assert result.out.splitlines()[0] == "id,cluster,match_probability"
    assert cli("link", "dedupe", tmp_path / "missing.csv").code == 2
    bad = cli("link", "dedupe", people_csv, "--columns", "first_name:shoe")
    assert bad.code == 2 and "unknown role" in bad.err and "Traceback" not in bad.err
    demographics = tmp_path / "demo.csv"
    demographics.write_text("id,gender,citizenship\n1,F,PH\n2,F,PH\n")
    refused = cli("link", "dedupe", demographics)
    assert refused.code == 2 and "demographics alone" in refused.err
    assert cli("init").code == 0
    unknown = cli("link", "judge", "nobody", "nobody-else", "same")
    assert unknown.code == 2 and "no record 'nobody'" in unknown.err


def test_cli_dedupe_parquet_input_and_output(cli: Cli, people: pa.Table, tmp_path: Path) -> None:
    """The scale-out form: --input PATH.parquet --output DIR writes the entities as Parquet."""
    import pyarrow.parquet as pq

    source = tmp_path / "people.parquet"
    pq.write_table(people.drop_columns(["entity_id"]), source)
    result = cli(
        "link", "dedupe", "--input", source, "--output", tmp_path / "out", "--format", "jsonl"
    )
    assert result.code == 0, result.err
    written = pq.read_table(tmp_path / "out" / "entities")
    assert written.column_names == ["id", "cluster", "match_probability"]
    assert sorted(written.column("id").to_pylist()) == sorted(r["id"] for r in _jsonl(result))


def test_workspace_cases_without_identifiers_are_never_linked(cli: Cli, tmp_path: Path) -> None:
    from ctip.synth.ctdc import write_ctdc_csv

    generated = write_ctdc_csv(tmp_path / "ctdc.csv", 300, seed=3)
    assert cli("import", "cases", generated.path).code == 0
    result = cli("link", "dedupe", "--format", "jsonl")
    assert result.code == 1
    assert "nothing to link" in result.err and result.out == ""


def test_workspace_cases_with_names_take_part_and_the_rest_are_counted(
    cli: Cli, tmp_path: Path
) -> None:
    intake = tmp_path / "intake.csv"
    intake.write_text(
        "Case,First,Last,Born,Sex,Nationality\n"
        "c1,Maria,Lopez,1990-03-07,F,PH\n"
        "c2,María,López,07/03/1990,F,PH\n"
        "c3,Ana,Cruz,1985-01-02,F,PH\n"
        "c4,,,,F,PH\n"
        "c5,,,,F,PH\n"
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "name: intake\ndate_formats: ['%Y-%m-%d', '%d/%m/%Y']\ncolumns:\n  Case: external_id\n"
        "  First: first_name\n  Last: last_name\n  Born: birth_date\n"
        "  Sex: {field: gender, values: {F: Feminine}}\n  Nationality: citizenship\n"
    )
    assert cli("import", "cases", intake, "--mapping", mapping).code == 0
    result = cli("link", "dedupe", "--format", "jsonl")
    assert result.code == 0, result.err
    rows = _jsonl(result)
    assert len(rows) == 3  # the two records without identifying fields are left out
    assert "2 of 5 records have no identifying field" in result.err.replace("\n", " ")

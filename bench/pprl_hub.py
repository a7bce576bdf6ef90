"""Benchmark: a PPRL question through the hub, against the bare comparison in the same run.

Two agencies each deposit ``--deposit`` encodings (default 10,000) through the API; a third
asks about ``--query`` encodings (default 1,000: half copies of people the others hold, half
people nobody holds). All are generated people (``ctip.link.people``) encoded with clkhash
under one schema and secret. Measured:

- deposit: ``PUT /api/v1/pprl/encodings`` of one agency's encodings (10,000 per request:
  checks, AES-GCM sealing, insert, audit);
- question: ``POST /api/v1/pprl/query`` (candidate fetch through the SECURITY DEFINER function,
  unsealing, Dice comparison, log and audit), median of ``--repeat`` runs;
- baseline: ``ctip.link.pprl.match_query`` on the same encodings in process (the comparison
  alone), median of the same number of runs.

Everything runs in one process against an embedded PostgreSQL in a temporary folder, through
FastAPI's in-process test client (no network). The machine is shared: wall times include
other people's load; compare the ratio with the baseline.

Results: ``bench/results/pprl_hub.json`` and a line in ``bench/results/pprl_hub.md``.
Usage: python bench/pprl_hub.py [--deposit 10000] [--query 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi.testclient import TestClient

from ctip.hub import admin
from ctip.hub.api.app import create_app
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings
from ctip.link.people import generate_people
from ctip.link.pprl import match_query, read_encodings
from ctip.link.pprl_encode import encode_file
from ctip.link.pprl_schema import draft_schema
from ctip.link.roles import assign_roles

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
COLUMNS = ["first_name", "last_name", "birth_date", "city", "postcode"]
PASSWORD = "bench password not secret"


def encode_sets(folder: Path, deposit: int, query: int) -> dict[str, Path]:
    """Encoded files: agencies B and C (``deposit`` each), and A's question (``query``)."""
    people = generate_people(2 * deposit + query // 2, duplicate_share=0.0, seed=5)
    people = people.drop_columns(["entity_id"])
    held = query - query // 2
    parts = {
        "b": people.slice(0, deposit),
        "c": people.slice(deposit, deposit),
        "a": pa.concat_tables(
            [
                people.slice(0, held // 2),
                people.slice(deposit, held - held // 2),
                people.slice(2 * deposit, query // 2),
            ]
        ),
    }
    schema = draft_schema(
        assign_roles(COLUMNS, id_column="record_id"),
        id_column="record_id",
        samples={c: parts["b"].column(c).to_pylist() for c in COLUMNS},
    )
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / "secret.key").write_text(os.urandom(32).hex() + "\n")
    files = {}
    for name, table in parts.items():
        renamed = table.set_column(
            table.column_names.index("record_id"),
            "record_id",
            pa.array([f"{name.upper()}-{i}" for i in range(table.num_rows)]),
        )
        pacsv.write_csv(renamed, folder / f"{name}.csv")
        files[name] = folder / f"{name}.jsonl"
        encode_file(
            folder / f"{name}.csv",
            folder / "schema.json",
            folder / "secret.key",
            files[name],
            id_column="record_id",
        )
    return files


def body(path: Path, **extra: Any) -> dict[str, Any]:
    encoded = read_encodings(path)
    lines = [json.loads(x) for x in path.read_text().splitlines()[1:]]
    return {
        "schema_sha256": encoded.meta["schema_sha256"],
        "key_id": encoded.meta["key_id"],
        "bits": encoded.meta["bits"],
        "encodings": [{"ref": x["id"], "clk": x["clk"]} for x in lines],
        **extra,
    }


def run(deposit: int, query: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ctip-bench-pprl-") as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        files = encode_sets(folder, deposit, query)
        encode_seconds = time.perf_counter() - started
        settings = HubSettings(data_dir=folder / "hub", api_requests_per_second=0)
        with Hub.open(settings) as hub:
            tokens = {}
            for name in ("a", "b", "c"):
                agency = f"Bench {name.upper()}"
                admin.add_agency(hub, agency)
                email = f"admin@{name}.bench.test"
                admin.add_user(hub, email, agency, "admin", PASSWORD)
                tokens[name], _ = admin.token_for(hub, email, None, timedelta(days=1), "bench")
            with TestClient(create_app(hub=hub), base_url="https://bench") as client:

                def headers(name: str) -> dict[str, str]:
                    return {"Authorization": f"Bearer {tokens[name]}"}

                deposits = []
                for name in ("b", "c"):
                    client.put(
                        "/api/v1/pprl/contact",
                        json={"contact": f"desk@{name}.example"},
                        headers=headers(name),
                    )
                    payload = body(files[name])
                    t0 = time.perf_counter()
                    response = client.put(
                        "/api/v1/pprl/encodings", json=payload, headers=headers(name)
                    )
                    deposits.append(time.perf_counter() - t0)
                    assert response.status_code == 200, response.text
                question = body(files["a"], threshold=0.8)
                asked, answers = [], 0
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    response = client.post(
                        "/api/v1/pprl/query", json=question, headers=headers("a")
                    )
                    asked.append(time.perf_counter() - t0)
                    assert response.status_code == 200, response.text
                    answers = len(response.json())
        encoded = {name: read_encodings(path) for name, path in files.items()}
        bare = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            direct = match_query(
                dict(zip(encoded["a"].ids, encoded["a"].clks, strict=True)),
                {
                    "Bench B": ("desk@b.example", encoded["b"].clks),
                    "Bench C": ("desk@c.example", encoded["c"].clks),
                },
                0.8,
            )
            bare.append(time.perf_counter() - t0)
        held = query - query // 2
        by_threshold = {}
        for threshold in (0.8, 0.85, 0.9):
            answered = {
                m.query
                for m in match_query(
                    dict(zip(encoded["a"].ids, encoded["a"].clks, strict=True)),
                    {"B": ("", encoded["b"].clks), "C": ("", encoded["c"].clks)},
                    threshold,
                )
            }
            # A-0 ... A-(held - 1) are copies of people B or C holds; the rest nobody holds
            not_held = {r for r in answered if int(r.split("-")[1]) >= held}
            by_threshold[str(threshold)] = {
                "held_answered": len(answered) - len(not_held),
                "not_held_answered": len(not_held),
            }
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "deposited_per_agency": deposit,
        "queried": query,
        "encode_s": round(encode_seconds, 1),
        "deposit_s": round(statistics.median(deposits), 2),
        "question_s": round(statistics.median(asked), 2),
        "bare_match_query_s": round(statistics.median(bare), 2),
        "ratio_to_baseline": round(statistics.median(asked) / statistics.median(bare), 2),
        "answers": answers,
        "answers_bare": len(direct),
        "records_answered": len({m.query for m in direct}),
        "records_answered_not_held": by_threshold["0.8"]["not_held_answered"],
        "by_threshold": by_threshold,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--deposit", type=int, default=10_000)
    parser.add_argument("--query", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    result = run(arguments.deposit, arguments.query, arguments.repeat)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pprl_hub.json").write_text(json.dumps(result, indent=2) + "\n")
    table = RESULTS / "pprl_hub.md"
    if not table.exists():
        table.write_text(
            "# PPRL through the hub (bench/pprl_hub.py)\n\n"
            "A question of Q encodings against two agencies with D deposited encodings each\n"
            "(1,024-bit CLKs of generated people: first and last name, date of birth, city,\n"
            "postcode; threshold 0.8), through the API in process, against `match_query` on\n"
            "the same encodings (the comparison alone). Wall seconds, medians; the machine is\n"
            "shared with other people's runs. Half the queried people are copies of people B or\n"
            "C holds (exact copies: all found at every threshold); the other half nobody holds:\n"
            '"not held but answered" counts those that still got an answer at Dice 0.8 / 0.85 / 0.9.\n'
            "Each agency answers with its best match among all its deposits, so the chance of a\n"
            "namesake above the threshold grows with the deposits' size.\n\n"
            "| date | D per agency | Q | deposit s | question s | bare match_query s"
            " | ratio | answers | not held but answered (0.8 / 0.85 / 0.9) | machine |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n"
        )
    spurious = " / ".join(
        f"{result['by_threshold'][t]['not_held_answered']:,}" for t in ("0.8", "0.85", "0.9")
    )
    with table.open("a") as handle:
        handle.write(
            f"| {result['date']} | {result['deposited_per_agency']:,} | {result['queried']:,}"
            f" | {result['deposit_s']} | {result['question_s']} | {result['bare_match_query_s']}"
            f" | {result['ratio_to_baseline']} | {result['answers']:,} | {spurious} of"
            f" {result['queried'] // 2:,} | {result['machine']} |\n"
        )


if __name__ == "__main__":
    main()

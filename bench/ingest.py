"""Benchmark: validated import of 1,000,000 CTDC-format rows against DuckDB's plain read_csv.

Generates a CTDC global-dataset CSV (all 63 columns, values drawn from the distributions of the
shared CTDC subset, 2% deliberately broken rows), then in the same run:

- baseline: DuckDB ``CREATE TABLE AS SELECT * FROM read_csv(file)`` (type detection, no checks);
- ctip: ``ctip import cases FILE --format json`` with full validation, quarantine and provenance.

Each runs in its own process so peak memory (max RSS) is measured per step. Results go to
``bench/results/ingest.json`` and a line is appended to ``bench/results/ingest.md``.

Usage: python bench/ingest.py [--rows 1000000] [--bad-share 0.02] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ctip.shared_data import find_shared_data
from ctip.synth.ctdc import COLUMNS, Distribution, distribution_from_csv, write_ctdc_csv

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"

BASELINE = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false").fetchall()
con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{sys.argv[1]}')").fetchall()
print(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
"""


def run_measured(command: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stdout) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: run each step once per
    # process tree and report the running max only when it grew.
    return elapsed, max(peak_kib, before) * 1024, done.stdout


def generate(rows: int, bad_share: float) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"ctdc_{rows}_{bad_share}.csv"
    if path.exists():
        return path
    shared = find_shared_data(ROOT)
    dist = (
        distribution_from_csv(shared / "ctdc" / "ctdc_global_2020_subset.csv.gz", COLUMNS)
        if shared
        else Distribution()
    )
    started = time.perf_counter()
    generated = write_ctdc_csv(path, rows, seed=2026, bad_share=bad_share, dist=dist)
    print(
        f"generated {rows:,} rows ({len(generated.broken):,} broken) in"
        f" {time.perf_counter() - started:.1f}s: {path}",
        file=sys.stderr,
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad-share", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = generate(args.rows, args.bad_share)
    python = sys.executable
    ctip = [python, "-m", "ctip.cli"]
    baseline_times, ctip_times = [], []
    baseline_peak = ctip_peak = 0
    report: dict[str, object] = {}
    for attempt in range(args.repeat):
        seconds, _, out = run_measured([python, "-c", BASELINE, str(data)])
        baseline_times.append(seconds)
        assert int(out.strip()) == args.rows
        workspace = WORK / f"workspace-{attempt}"
        shutil.rmtree(workspace, ignore_errors=True)
        seconds, _, out = run_measured(
            [*ctip, "--workspace", str(workspace), "import", "cases", str(data), "--format", "json"]
        )
        ctip_times.append(seconds)
        report = json.loads(out.strip().splitlines()[-1])
        shutil.rmtree(workspace, ignore_errors=True)
    # Peak memory, each in a fresh measuring process so the children's maximum is its own.
    baseline_peak = _peak([python, "-c", BASELINE, str(data)])
    workspace = WORK / "workspace-peak"
    shutil.rmtree(workspace, ignore_errors=True)
    ctip_peak = _peak(
        [*ctip, "--workspace", str(workspace), "import", "cases", str(data), "--format", "json"]
    )
    shutil.rmtree(workspace, ignore_errors=True)
    best_baseline, best_ctip = min(baseline_times), min(ctip_times)
    result = {
        "benchmark": "ingest",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "rows": args.rows,
        "columns": len(COLUMNS),
        "file_mib": round(data.stat().st_size / 2**20, 1),
        "bad_share": args.bad_share,
        "repeat": args.repeat,
        "duckdb_read_csv_s": round(best_baseline, 3),
        "ctip_import_s": round(best_ctip, 3),
        "ctip_rows_per_s": round(args.rows / best_ctip),
        "ratio_ctip_to_duckdb": round(best_ctip / best_baseline, 2),
        "duckdb_peak_mib": round(baseline_peak / 2**20),
        "ctip_peak_mib": round(ctip_peak / 2**20),
        "import_report": {
            k: report.get(k) for k in ("read", "loaded", "quarantined", "duplicates")
        },
        "goal": ">= 500,000 rows/s validated, <= 2x DuckDB's raw read, peak <= 1.5 GB",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    with (RESULTS / "ingest.md").open("a") as handle:
        handle.write(
            f"| {result['date']} | {args.rows:,} | {best_baseline:.2f} s | {best_ctip:.2f} s |"
            f" {result['ctip_rows_per_s']:,} | {result['ratio_ctip_to_duckdb']} |"
            f" {result['duckdb_peak_mib']} MiB | {result['ctip_peak_mib']} MiB |\n"
        )
    print(json.dumps(result, indent=2))
    return 0


def _peak(command: list[str]) -> int:
    """Peak RSS of one command, measured by a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip()) * 1024


if __name__ == "__main__":
    raise SystemExit(main())

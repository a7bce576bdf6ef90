"""Benchmark: the scale-out jobs on DuckDB and on Spark ``local[2]`` at growing sizes.

Each job is run the way a user runs it — the CLI, ``--input PATH.parquet --output DIR`` — in its
own process, so the figures include start-up (a JVM for Spark) and Parquet I/O. For every run we
record wall time and the peak resident memory of the whole process tree (the Spark JVM is a
child of the CLI), then derive:

- the Spark/DuckDB time ratio at each size (the baseline is DuckDB in the same run);
- the growth exponent between consecutive sizes, log(t2/t1) / log(n2/n1): 1.0 is linear;
- per-row cost in core-seconds, which grounds the written projection for a 10-node cluster.

Inputs are generated once per size and kept under ``--workdir`` (generated data only: fake
people, 555 numbers, synthetic chains and ads). Sizes that would not fit the disk or the time
are skipped with a note rather than guessed.

Usage: python bench/scale.py [--sizes 1000000,10000000] [--engines duckdb,spark]
       [--jobs crypto-cluster,...] [--workdir bench/work/scale] [--timeout 3600]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CTIP = [sys.executable, "-m", "ctip.cli"]


@dataclass(frozen=True)
class Job:
    """One scale-out job: how to make its input at a size, and the command that runs it."""

    name: str
    unit: str
    generate: Callable[[int, Path], None]
    command: Callable[[Path, Path, str], list[str]]
    sizes: tuple[int, ...]  # what fits the time budget on two cores; --sizes overrides
    spark_max_rows: int | None = None  # Spark runs above this are skipped, said in the notes


def _generate_people(rows: int, path: Path) -> None:
    import pyarrow.parquet as pq

    from ctip.link.people import generate_people

    people = generate_people(rows, seed=7, typo_rate=0.2)
    pq.write_table(people.drop_columns(["entity_id"]), path)


def _generate_ads(rows: int, path: Path) -> None:
    from ctip.ads.generate import write_parquet

    write_parquet(path, rows, seed=1)


def _job_command(*words: str) -> Callable[[Path, Path, str], list[str]]:
    def command(source: Path, output: Path, engine: str) -> list[str]:
        return [
            *CTIP,
            *words,
            "--input",
            str(source),
            "--output",
            str(output),
            "--engine",
            engine,
            "--spark-master",
            "local[2]",
        ]

    return command


def _generate_txio(rows: int, path: Path) -> None:
    from ctip.crypto.generate_parquet import generate_txio

    generate_txio(path, rows)


def _generate_incidents(rows: int, path: Path) -> None:
    from ctip.spatial.synth import write_incidents_parquet

    write_incidents_parquet(path, rows)


MILLION = 1_000_000
JOBS: dict[str, Job] = {
    # extract -> screen is one Arrow batch function each; networks runs extract, MinHash/LSH
    # clustering, links and components: the whole ads pipeline.
    "ads-networks": Job(
        "ads-networks",
        "ads",
        _generate_ads,
        _job_command("ads", "networks", "--format", "json"),
        sizes=(100_000, MILLION),
    ),
    # co-spend edges with CoinJoin exclusion, then large-star/small-star rounds in SQL
    "crypto-cluster": Job(
        "crypto-cluster",
        "input/output rows",
        _generate_txio,
        _job_command("crypto", "cluster", "--format", "json"),
        sizes=(MILLION, 10 * MILLION),
    ),
    # projection and boundary test in Arrow batches, cell and period counts in SQL; Gi* with
    # 999 permutations, KDE and emerging trends on the driver from the counts
    "hotspots": Job(
        "hotspots",
        "incidents",
        _generate_incidents,
        _job_command("hotspots", "--format", "json"),
        sizes=(MILLION, 10 * MILLION),
    ),
    # counts per cell and rolling window in SQL, naive model scored per window
    "backtest": Job(
        "backtest",
        "incidents",
        _generate_incidents,
        _job_command("forecast", "backtest", "--format", "json"),
        sizes=(MILLION, 10 * MILLION),
    ),
    "link-dedupe": Job(
        "link-dedupe",
        "person records",
        _generate_people,
        _job_command("link", "dedupe", "--format", "json"),
        sizes=(100_000, MILLION),
        spark_max_rows=100_000,
    ),
}


def _measure(command: list[str], timeout: float, log: Path) -> dict[str, Any]:
    """Wall time and peak RSS of the process tree, sampled every 0.2 s; stdout kept in ``log``."""
    started = time.perf_counter()
    with log.open("w") as stdout:
        process = subprocess.Popen(
            command, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        return _watch(process, started, timeout, log)


def _watch(
    process: subprocess.Popen[str], started: float, timeout: float, log: Path
) -> dict[str, Any]:
    peak = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        if time.perf_counter() - started > timeout:
            for child in watched.children(recursive=True):
                child.kill()
            process.kill()
            return {"status": "timeout", "seconds": round(time.perf_counter() - started, 1)}
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        return {
            "status": f"failed (exit {process.returncode})",
            "seconds": round(seconds, 1),
            "error": stderr.strip().splitlines()[-1:] if stderr.strip() else [],
        }
    measured: dict[str, Any] = {
        "status": "ok",
        "seconds": round(seconds, 2),
        "peak_rss_mib": peak // 2**20,
    }
    stages = _stages(log)
    if stages:
        measured["stages"] = stages
    return measured


def _stages(log: Path) -> list[dict[str, Any]]:
    """The job's own per-stage summary, when its JSON output carries one."""
    try:
        summary = json.loads(log.read_text())
    except (OSError, ValueError):
        return []
    if isinstance(summary, dict) and isinstance(summary.get("stages"), list):
        return [s for s in summary["stages"] if isinstance(s, dict)]
    return []


def _growth(runs: list[dict[str, Any]]) -> None:
    """Add the growth exponent from the previous size of the same job and engine."""
    previous: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        key = (run["job"], run["engine"])
        before = previous.get(key)
        if run["status"] == "ok" and before is not None and before["status"] == "ok":
            run["growth_exponent"] = round(
                math.log(run["seconds"] / before["seconds"])
                / math.log(run["rows"] / before["rows"]),
                2,
            )
        if run["status"] == "ok":
            run["core_us_per_row"] = round(run["seconds"] * run["cores"] * 1e6 / run["rows"], 2)
            previous[key] = run


def _ratios(runs: list[dict[str, Any]]) -> None:
    duck = {
        (r["job"], r["rows"]): r for r in runs if r["engine"] == "duckdb" and r["status"] == "ok"
    }
    for run in runs:
        base = duck.get((run["job"], run["rows"]))
        if run["engine"] == "spark" and run["status"] == "ok" and base is not None:
            run["ratio_to_duckdb"] = round(run["seconds"] / base["seconds"], 2)


def _projection(runs: list[dict[str, Any]]) -> list[str]:
    """Core-hours for 1 billion rows on a 10-node cluster, from the Spark runs of each job.

    With two sizes the per-row cost is the marginal one, (t2 - t1) / (n2 - n1), so JVM start-up
    and other fixed costs do not inflate it; with one size it is t / n (an upper bound).
    """
    by_job: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        if run["engine"] == "spark" and run["status"] == "ok":
            by_job.setdefault(run["job"], []).append(run)
    lines = []
    for job, done in sorted(by_job.items()):
        done.sort(key=lambda r: r["rows"])
        last = done[-1]
        if len(done) >= 2 and last["seconds"] > done[-2]["seconds"]:
            before = done[-2]
            per_row = (last["seconds"] - before["seconds"]) / (last["rows"] - before["rows"])
            basis = f"marginal cost between {before['rows']:,} and {last['rows']:,} rows"
        else:
            per_row = last["seconds"] / last["rows"]
            basis = f"average cost at {last['rows']:,} rows (includes start-up)"
        core_seconds = per_row * last["cores"] * 1e9
        exponent = max(1.0, last.get("growth_exponent", 1.0))
        scaled = core_seconds * (1e9 / last["rows"]) ** (exponent - 1.0)
        cluster_minutes = scaled / (10 * 16) / 60
        lines.append(
            f"- {job}: {per_row * last['cores'] * 1e6:,.1f} core-µs per row ({basis}; growth"
            f" exponent {exponent:.2f}) → {scaled / 3600:,.1f} core-hours for 1e9 rows, about"
            f" {cluster_minutes:,.0f} minutes of work on 10 nodes × 16 cores; one node held"
            f" {last['peak_rss_mib']:,} MiB at {last['rows']:,} rows"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="", help="override every job's sizes, e.g. 1e6,1e7")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--jobs", default=",".join(JOBS))
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "work" / "scale")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", default="scale")
    parser.add_argument(
        "--merge",
        default="",
        help="combine earlier result files (bench/results/NAME.json, comma-separated) into --out"
        " instead of running anything: runs done in separate sessions, derived figures redone",
    )
    args = parser.parse_args()
    if args.merge:
        _write(*_merged(args.merge.split(",")), args.out)
        return
    override = [int(float(s)) for s in args.sizes.split(",") if s]
    engines = args.engines.split(",")
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in args.jobs.split(","):
        job = JOBS[name]
        for rows in override or job.sizes:
            source = args.workdir / f"{name}-{rows}.parquet"
            if not source.exists():
                free = shutil.disk_usage(args.workdir).free
                if free < 20 * 2**30:
                    notes.append(f"{name} at {rows:,} rows skipped: {free / 2**30:.0f} GiB free")
                    continue
                started = time.perf_counter()
                # Written under another name first: a generator that fails half-way must not
                # leave a short file that a later run would take for the real input.
                partial = source.with_name(source.name + ".partial")
                job.generate(rows, partial)
                partial.rename(source)
                print(f"generated {source} in {time.perf_counter() - started:.0f} s", flush=True)
            for engine in engines:
                if engine == "spark" and job.spark_max_rows and rows > job.spark_max_rows:
                    notes.append(
                        f"{name} on Spark at {rows:,} rows skipped: above its time budget on"
                        f" two shared cores (measured up to {job.spark_max_rows:,})"
                    )
                    continue
                output = args.workdir / f"out-{name}-{rows}-{engine}"
                shutil.rmtree(output, ignore_errors=True)
                log = args.workdir / f"log-{name}-{rows}-{engine}.json"
                measured = _measure(job.command(source, output, engine), args.timeout, log)
                cores = 2 if engine == "spark" else (os.cpu_count() or 1)
                run = {
                    "job": name,
                    "unit": job.unit,
                    "rows": rows,
                    "engine": engine,
                    "cores": cores,
                    **measured,
                }
                runs.append(run)
                print(json.dumps(run), flush=True)
                shutil.rmtree(output, ignore_errors=True)
    _write(runs, notes, args.out)


DERIVED = ("growth_exponent", "core_us_per_row", "ratio_to_duckdb")


def _merged(names: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in names:
        earlier = json.loads((RESULTS / f"{name}.json").read_text())
        runs += [{k: v for k, v in run.items() if k not in DERIVED} for run in earlier["runs"]]
        notes += [n for n in earlier["notes"] if n not in notes]
    order = {name: i for i, name in enumerate(JOBS)}
    runs.sort(key=lambda r: (order.get(r["job"], len(order)), r["rows"], r["engine"]))
    return runs, notes


def _write(runs: list[dict[str, Any]], notes: list[str], out: str) -> None:
    """Derive growth, ratios and the projection, then write bench/results/OUT.{json,md}."""
    _growth(runs)
    _ratios(runs)
    result = {
        "benchmark": "scale",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores,"
        f" {psutil.virtual_memory().total / 2**30:.0f} GiB (shared with other work)",
        "runs": runs,
        "notes": notes,
        "projection": _projection(runs),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{out}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{out}.md").write_text(_markdown(result))
    print(_markdown(result))


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# bench/scale.py results",
        "",
        f"`python bench/scale.py` on {result['date']}; {result['machine']}. Spark runs `local[2]`.",
        "Wall time includes process and JVM start-up and Parquet I/O; peak memory is the whole"
        " process tree's resident set.",
        "",
        "| job | rows | engine | status | seconds | peak MiB | core-µs/row | growth exponent | Spark/DuckDB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        lines.append(
            f"| {run['job']} | {run['rows']:,} | {run['engine']} | {run['status']}"
            f" | {run.get('seconds', '')} | {run.get('peak_rss_mib', '')}"
            f" | {run.get('core_us_per_row', '')} | {run.get('growth_exponent', '')}"
            f" | {run.get('ratio_to_duckdb', '')} |"
        )
    staged = [r for r in result["runs"] if r.get("stages")]
    if staged:
        lines += ["", "Seconds per stage (from each job's own summary):", ""]
        for run in staged:
            parts = ", ".join(f"{st['stage']} {st['seconds']}" for st in run["stages"])
            lines.append(f"- {run['job']} {run['rows']:,} {run['engine']}: {parts}")
    if result["notes"]:
        lines += ["", "Notes:", "", *[f"- {n}" for n in result["notes"]]]
    if result["projection"]:
        lines += [
            "",
            "## Projection: 1 billion rows on a 10-node cluster (16 cores per node)",
            "",
            "From the Spark runs of each job: the marginal per-row cost between the two largest"
            " sizes (so JVM start-up is not counted), in core-seconds, scaled by the measured"
            " growth exponent (never below linear), divided over 160 cores. It ignores shuffle"
            " over a network (local mode shuffles through local disk) and per-job start-up"
            " (tens of seconds), so treat it as a lower bound.",
            "",
            *result["projection"],
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

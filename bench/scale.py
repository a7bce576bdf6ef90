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
    max_rows: int  # above this the job is skipped (time budget on two cores), said in the notes


def _generate_people(rows: int, path: Path) -> None:
    import pyarrow.parquet as pq

    from ctip.link.people import generate_people

    people = generate_people(rows, seed=7, typo_rate=0.2)
    pq.write_table(people.drop_columns(["entity_id"]), path)


def _run_generator(arguments: list[str]) -> Callable[[int, Path], None]:
    """A generator that is itself a CTIP command taking the size and the output path."""

    def generate(rows: int, path: Path) -> None:
        filled = [a.replace("{rows}", str(rows)).replace("{path}", str(path)) for a in arguments]
        subprocess.run([*CTIP, *filled], check=True, stdout=subprocess.DEVNULL)

    return generate


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


JOBS: dict[str, Job] = {
    "link-dedupe": Job(
        "link-dedupe",
        "person records",
        _generate_people,
        _job_command("link", "dedupe", "--format", "json"),
        max_rows=1_000_000,
    ),
}


def register_job(job: Job) -> None:
    JOBS[job.name] = job


def _measure(command: list[str], timeout: float) -> dict[str, Any]:
    """Wall time and peak RSS of the process tree, sampled every 0.2 s."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
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
    return {"status": "ok", "seconds": round(seconds, 2), "peak_rss_mib": peak // 2**20}


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
    """Core-hours for 1 billion rows on a 10-node cluster, from the largest Spark run per job."""
    lines = []
    largest: dict[str, dict[str, Any]] = {}
    for run in runs:
        is_larger = run["job"] not in largest or run["rows"] > largest[run["job"]]["rows"]
        if run["engine"] == "spark" and run["status"] == "ok" and is_larger:
            largest[run["job"]] = run
    for job, run in sorted(largest.items()):
        core_seconds = run["core_us_per_row"] * 1e9 / 1e6
        exponent = max(1.0, run.get("growth_exponent", 1.0))
        scaled = core_seconds * (1e9 / run["rows"]) ** (exponent - 1.0)
        hours_on_cluster = scaled / (10 * 16) / 3600
        lines.append(
            f"- {job}: {run['core_us_per_row']:.1f} core-µs per row at {run['rows']:,} rows"
            f" (growth exponent {exponent:.2f}) → {scaled / 3600:,.0f} core-hours for 1e9 rows,"
            f" about {hours_on_cluster:.1f} h on 10 nodes × 16 cores; peak memory"
            f" {run['peak_rss_mib']:,} MiB per {run['rows']:,} rows on one node"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--jobs", default=",".join(JOBS))
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "work" / "scale")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", default="scale")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in args.jobs.split(","):
        job = JOBS[name]
        for rows in sizes:
            if rows > job.max_rows:
                notes.append(f"{name} at {rows:,} rows skipped: above its budget on two cores")
                continue
            source = args.workdir / f"{name}-{rows}.parquet"
            if not source.exists():
                free = shutil.disk_usage(args.workdir).free
                if free < 20 * 2**30:
                    notes.append(f"{name} at {rows:,} rows skipped: {free / 2**30:.0f} GiB free")
                    continue
                started = time.perf_counter()
                job.generate(rows, source)
                print(f"generated {source} in {time.perf_counter() - started:.0f} s", flush=True)
            for engine in engines:
                output = args.workdir / f"out-{name}-{rows}-{engine}"
                shutil.rmtree(output, ignore_errors=True)
                measured = _measure(job.command(source, output, engine), args.timeout)
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
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{args.out}.md").write_text(_markdown(result))
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
    if result["notes"]:
        lines += ["", "Notes:", "", *[f"- {n}" for n in result["notes"]]]
    if result["projection"]:
        lines += [
            "",
            "## Projection: 1 billion rows on a 10-node cluster (16 cores per node)",
            "",
            "From the largest Spark run of each job: its per-row cost in core-seconds, scaled by"
            " the measured growth exponent (never below linear), divided over 160 cores. It"
            " ignores shuffle over a network (local mode shuffles through local disk), so treat"
            " it as a lower bound.",
            "",
            *result["projection"],
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

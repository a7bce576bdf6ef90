"""Benchmark: trends, routes and profile on 1,000,000 CTDC-shaped records, and the report.

Goals (issue 3): each analysis <= 1 s, the report <= 30 s on this 2-core machine. Each is also
given as a ratio to a plain DuckDB ``GROUP BY`` over the same table in the same run, so results
compare across machines.

Usage: python bench/analytics.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ctip.analytics.profile import profile  # noqa: E402
from ctip.analytics.routes import routes  # noqa: E402
from ctip.analytics.trends import trends  # noqa: E402
from ctip.capabilities import ReportContext  # noqa: E402
from ctip.ingest.importer import import_cases  # noqa: E402
from ctip.report.build import write_report  # noqa: E402
from ctip.settings import Settings  # noqa: E402
from ctip.workspace import Workspace  # noqa: E402
from ingest import generate  # noqa: E402

WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"


def best_of(repeat: int, action: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = generate(args.rows, 0.0)
    folder = WORK / "analytics-workspace"
    shutil.rmtree(folder, ignore_errors=True)
    workspace = Workspace.open(Settings(workspace=folder), create=True)
    loaded = import_cases(workspace, data).loaded
    engine = workspace.engine
    baseline = best_of(
        args.repeat,
        lambda: engine.rows(
            "SELECT year_of_registration, gender, count(*) FROM cases GROUP BY ALL"
        ),
    )
    timings = {
        "trends_by_year": best_of(args.repeat, lambda: trends(engine, "year")),
        "trends_by_exploitation": best_of(args.repeat, lambda: trends(engine, "exploitation")),
        "routes_country": best_of(args.repeat, lambda: routes(engine, "country")),
        "routes_region": best_of(args.repeat, lambda: routes(engine, "region")),
        "profile": best_of(args.repeat, lambda: profile(engine)),
    }
    context = ReportContext(workspace, Settings(), 10, False)
    out = WORK / "analytics-report.html"
    timings["report"] = best_of(1, lambda: write_report(context, out))
    workspace.close()
    result = {
        "benchmark": "analytics",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other work)",
        "records": loaded,
        "baseline_duckdb_group_by_s": round(baseline, 4),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "ratio_to_baseline": {k: round(v / baseline, 1) for k, v in timings.items()},
        "report_kib": round(out.stat().st_size / 1024),
        "goal": "each analysis <= 1 s; report <= 30 s",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analytics.json").write_text(json.dumps(result, indent=2) + "\n")
    with (RESULTS / "analytics.md").open("a") as handle:
        handle.write(
            f"| {result['date']} | {loaded:,} | "
            + " | ".join(f"{timings[k]:.2f} s" for k in timings)
            + f" | {baseline:.3f} s |\n"
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

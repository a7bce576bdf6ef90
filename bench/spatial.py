"""Benchmark: hotspots and forecasts on the shared Toronto incidents.

Records, in one run:

1. Gi* with 999 permutations on the 2019 Toronto grid (all categories, 250 m squares inside the
   convex hull of all incidents): CTIP's time against PySAL esda's ``G_Local(star=True)`` on the
   same counts and weights (ratio = esda / ctip), with and without CTIP's refinement draws, and
   the largest z difference.
2. SEPP fit time on one year (2019) of Break and Enter and of Assault.
3. Backtests of every model for Break and Enter and Assault: weekly windows of 2019, 365
   training days, 7-day horizon, coverage 1/5/10%; plus two references that are not models:
   the naive count over the last 28 days, and an "oracle" count over all eight years except the
   test week (it sees the future: a ceiling for any forecast that ranks cells by a long-run
   level).

Results go to bench/results/spatial.json and bench/results/spatial.md.

Usage: python bench/spatial.py [--windows 52] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ctip.settings import Settings
from ctip.shared_data import find_shared_data
from ctip.spatial.backtest import BacktestPlan, run_backtest
from ctip.spatial.capability import TORONTO, TORONTO_COLUMNS
from ctip.spatial.forecast import (
    Forecast,
    Forecaster,
    History,
    NaiveForecaster,
    SEPPForecaster,
    Window,
    make_model,
)
from ctip.spatial.gistar import gi_star
from ctip.spatial.incidents import import_incidents
from ctip.spatial.study import Study, day_number, open_study
from ctip.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODELS = ["naive", "kde", "prospective", "sepp", "gbm"]
CATEGORIES = ["Break and Enter", "Assault"]


class OracleCounts:
    """Counts over all the data except the test window: sees the future, a ceiling only."""

    name = "oracle-all-years"

    def __init__(self, study: Study) -> None:
        self.study = study

    def get_params(self) -> dict[str, Any]:
        return {}

    def fit(self, history: History) -> OracleCounts:
        self.history_ = history
        return self

    def predict(self, window: Window) -> Forecast:
        events = self.study.events
        outside = (events.t < window.start) | (events.t >= window.end)
        counts = self.study.grid.counts(events.cell[outside])
        zeros = np.zeros(len(counts), dtype=np.int64)
        return Forecast(self.name, window, counts, zeros, zeros)


def best_of(repeat: int, run: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_gistar(workspace: Workspace, repeat: int) -> dict[str, Any]:
    import esda
    import libpysal

    study = open_study(workspace, since=date(2019, 1, 1), until=date(2019, 12, 31))
    grid = study.grid
    counts = grid.counts(study.events.cell)
    weights = libpysal.weights.WSP(grid.neighbours).to_W(silence_warnings=True)

    def run_esda() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return esda.G_Local(
                counts, weights, transform="B", star=True, permutations=999, seed=1, n_jobs=1
            )

    ours_plain = best_of(repeat, lambda: gi_star(counts, grid.neighbours, seed=1, refine=0))
    ours_refined = best_of(repeat, lambda: gi_star(counts, grid.neighbours, seed=1))
    esda_seconds = best_of(max(1, repeat - 1), run_esda)
    reference = run_esda()
    ours = gi_star(counts, grid.neighbours, seed=1)
    hot = sum(c.startswith("hot") for c in ours.classes)
    return {
        "cells": grid.size,
        "incidents": len(study.events),
        "permutations": 999,
        "ctip_seconds": round(ours_plain, 3),
        "ctip_refined_seconds": round(ours_refined, 3),
        "esda_seconds": round(esda_seconds, 3),
        "ratio_esda_over_ctip": round(esda_seconds / ours_plain, 2),
        "ratio_esda_over_ctip_refined": round(esda_seconds / ours_refined, 2),
        "max_abs_z_difference": float(np.max(np.abs(ours.z - reference.Zs))),
        "hot_cells_fdr": hot,
        "esda_note": "esda n_jobs=1, numba not installed (esda's pure-Python fallback)",
    }


def bench_sepp(workspace: Workspace) -> list[dict[str, Any]]:
    found = []
    for category in CATEGORIES:
        study = open_study(workspace, category=category)
        start, end = day_number(date(2019, 1, 1)), day_number(date(2020, 1, 1))
        history = History(study.events.between(start, end), study.grid, start, end)
        began = time.perf_counter()
        model = SEPPForecaster().fit(history)
        fitted = time.perf_counter() - began
        began = time.perf_counter()
        model.predict(Window(end, end + 7))
        predicted = time.perf_counter() - began
        found.append(
            {
                "category": category,
                "events": len(history.events),
                "fit_seconds": round(fitted, 2),
                "predict_seconds": round(predicted, 2),
                "iterations": model.n_iter_,
                "theta": round(model.theta_, 3),
                "trigger_days": round(1 / model.omega_, 1),
                "sigma_m": round(model.sigma_, 1),
            }
        )
    return found


def bench_backtests(workspace: Workspace, windows: int) -> list[dict[str, Any]]:
    found = []
    for category in CATEGORIES:
        study = open_study(workspace, category=category)
        plan = BacktestPlan(
            365.0, 7.0, 7.0, windows, (0.01, 0.05, 0.10), start=day_number(date(2019, 1, 1))
        )

        def factory(name: str, study: Study = study) -> Forecaster:
            if name == "naive-28d":
                return NaiveForecaster(lookback_days=28)
            if name == "oracle-all-years":
                return OracleCounts(study)
            return make_model(name, horizon_days=7.0)

        began = time.perf_counter()
        result = run_backtest(
            study.events,
            study.grid,
            [*MODELS, "naive-28d", "oracle-all-years"],
            plan,
            factory=factory,
        )
        found.append(
            {
                "category": category,
                "windows": windows,
                "test_events": sum(result.test_events),
                "seconds": round(time.perf_counter() - began, 1),
                "fit_predict_seconds": {k: round(v, 1) for k, v in result.fit_seconds.items()},
                "rows": result.rows,
            }
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = find_shared_data(ROOT)
    if data is None or not (data / TORONTO).exists():
        raise SystemExit("the shared Toronto incidents are needed (set CTIP_SHARED_DATA)")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(workspace=Path(folder))
        with Workspace.open(settings, create=True) as workspace:
            began = time.perf_counter()
            imported = import_incidents(workspace, data / TORONTO, TORONTO_COLUMNS)
            import_seconds = time.perf_counter() - began
            results = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other"
                " engineers' work while running)",
                "import": {"rows": imported.loaded, "seconds": round(import_seconds, 2)},
                "gistar": bench_gistar(workspace, args.repeat),
                "sepp": bench_sepp(workspace),
                "backtests": bench_backtests(workspace, args.windows),
            }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "spatial.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "spatial.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    gi = results["gistar"]
    lines = [
        "# bench/spatial.py results",
        "",
        f"`python bench/spatial.py` on {results['date']}; {results['machine']}.",
        "Data: Toronto Police Service Major Crime Indicators (Open Government Licence -"
        " Toronto), 240,992 incidents; grid: 250 m squares (EPSG:32617) clipped to the convex"
        " hull of all incidents.",
        "",
        f"Import: {results['import']['rows']:,} incidents in {results['import']['seconds']} s.",
        "",
        "## Gi* (999 permutations, 2019, all categories)",
        "",
        "| cells | incidents | ctip | ctip + refinement | esda G_Local(star=True) | ratio esda/ctip"
        " | ratio with refinement | max z difference | hot cells (FDR) |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {gi['cells']:,} | {gi['incidents']:,} | {gi['ctip_seconds']} s |"
        f" {gi['ctip_refined_seconds']} s | {gi['esda_seconds']} s |"
        f" {gi['ratio_esda_over_ctip']} | {gi['ratio_esda_over_ctip_refined']} |"
        f" {gi['max_abs_z_difference']:.1e} | {gi['hot_cells_fdr']:,} |",
        "",
        f"{gi['esda_note']}. Refinement: cells with p <= 0.01 after 999 draws get 99,999 more.",
        "",
        "## SEPP fit on one year (2019)",
        "",
        "| category | incidents | fit | predict (one week) | EM iterations | theta |"
        " trigger days | sigma |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["sepp"]:
        lines.append(
            f"| {row['category']} | {row['events']:,} | {row['fit_seconds']} s |"
            f" {row['predict_seconds']} s | {row['iterations']} | {row['theta']} |"
            f" {row['trigger_days']} | {row['sigma_m']} m |"
        )
    for block in results["backtests"]:
        lines += [
            "",
            f"## Backtest: {block['category']}, {block['windows']} weekly windows of 2019",
            "",
            f"365 training days, 7-day horizon; {block['test_events']:,} test incidents;"
            f" {block['seconds']} s in all. Mean PAI over windows with its 95% interval.",
            "",
            "| model | hit rate 1% | PAI 1% | PAI 5% | PAI 10% | fit+predict s |",
            "|---|---|---|---|---|---|",
        ]
        by_model: dict[str, dict[float, dict[str, Any]]] = {}
        for row in block["rows"]:
            by_model.setdefault(row["model"], {})[row["coverage"]] = row
        for model, rows in by_model.items():
            cells = [
                f"{rows[c]['pai']:.1f} ({rows[c]['pai_low']:.1f}-{rows[c]['pai_high']:.1f})"
                for c in (0.01, 0.05, 0.10)
            ]
            lines.append(
                f"| {model} | {rows[0.01]['hit_rate']:.1%} | {' | '.join(cells)} |"
                f" {block['fit_predict_seconds'][model]} |"
            )
        models = {m: r[0.01]["pai"] for m, r in by_model.items() if m in MODELS}
        baseline = max(models["naive"], models["kde"])
        best = max(models, key=lambda m: models[m])
        lines.append("")
        lines.append(
            f"Best model at 1%: {best} {models[best]:.1f} = {models[best] / baseline:.2f}x the"
            f" better simple baseline ({baseline:.1f}); goal 1.2x."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

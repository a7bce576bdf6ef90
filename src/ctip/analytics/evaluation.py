"""Monitoring and evaluation: did an initiative change anything?

An analyst declares an initiative (name, start date, place, indicators to watch, optionally
comparison places). ``evaluate`` then estimates, for each indicator:

- an **interrupted time series**: segmented regression of the yearly series on time, a
  post-start step and a post-start slope (y = b0 + b1 t + b2 post + b3 (t - t0) post), by OLS
  with Newey-West (HAC) standard errors, as in Bernal, Cummins & Gasparrini (2017);
- where comparison places are given, a **difference-in-differences**: two-way fixed effects
  (place and year) with the treated-after-start term, standard errors clustered by place.

Every result carries a plain-language caveat. With too few years on either side the answer is
"too little data to say anything", not a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from ctip.analytics.indicators import series
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError, NotFoundError

MIN_POINTS_EACH_SIDE = 3
CASE_INDICATORS = {
    "cases": "country_of_exploitation = ?",
    "cases:destination": "country_of_exploitation = ?",
    "cases:origin": "list_contains(citizenship, ?)",
}


@dataclass
class Initiative:
    name: str
    start_date: date
    place: str
    indicators: list[str]
    comparison_places: list[str] = field(default_factory=list)
    end_date: date | None = None
    description: str = ""


@dataclass
class Estimate:
    value: float
    low: float
    high: float
    p_value: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


@dataclass
class EvaluationResult:
    initiative: str
    indicator: str
    place: str
    method: str
    years_before: int
    years_after: int
    estimates: dict[str, Estimate] = field(default_factory=dict)
    series: dict[int, float] = field(default_factory=dict)
    caveat: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "initiative": self.initiative,
            "indicator": self.indicator,
            "place": self.place,
            "method": self.method,
            "years_before": self.years_before,
            "years_after": self.years_after,
            "estimates": {k: v.as_dict() for k, v in self.estimates.items()},
            "series": self.series,
            "caveat": self.caveat,
        }


def add_initiative(engine: DuckDBEngine, initiative: Initiative) -> None:
    if engine.scalar("SELECT count(*) FROM initiatives WHERE name = ?", [initiative.name]):
        raise BadInputError(
            f"an initiative named '{initiative.name}' exists", hint="choose another name"
        )
    for indicator in initiative.indicators:
        _check_indicator(indicator, initiative.place)
    engine.sql(
        "INSERT INTO initiatives VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            initiative.name,
            initiative.description,
            initiative.start_date,
            initiative.end_date,
            initiative.place,
            initiative.indicators,
            initiative.comparison_places,
            datetime.now(UTC),
        ],
    )


def _check_indicator(indicator: str, place: str) -> None:
    if indicator.startswith("cases") and indicator not in CASE_INDICATORS:
        raise BadInputError(
            f"unknown case indicator '{indicator}'", hint=f"use {', '.join(CASE_INDICATORS)}"
        )
    if indicator.startswith("cases") and place.startswith("US-"):
        raise BadInputError("case records name countries, not US states: use an indicator series")
    if not indicator.startswith("cases") and ":" not in indicator:
        raise BadInputError(
            f"indicator '{indicator}': write SOURCE:INDICATOR, e.g. 'glotip:Detected trafficking victims'"
        )


def list_initiatives(engine: DuckDBEngine) -> list[dict[str, Any]]:
    return engine.records("SELECT * FROM initiatives ORDER BY created_at")


def get_initiative(engine: DuckDBEngine, name: str) -> Initiative:
    rows = engine.records("SELECT * FROM initiatives WHERE name = ?", [name])
    if not rows:
        raise NotFoundError(f"no initiative named '{name}'", hint="see 'ctip initiative list'")
    row = rows[0]
    return Initiative(
        row["name"],
        row["start_date"],
        row["place"],
        list(row["indicators"]),
        list(row["comparison_places"]),
        row["end_date"],
        row["description"] or "",
    )


def outcome_series(engine: DuckDBEngine, indicator: str, place: str) -> dict[int, float]:
    """Yearly values of an indicator in one place."""
    if indicator in CASE_INDICATORS:
        rows = engine.rows(
            "SELECT year_of_registration, count(*) FROM cases WHERE year_of_registration IS NOT NULL"
            f" AND {CASE_INDICATORS[indicator]} GROUP BY 1 ORDER BY 1",
            [place],
        )
        return {int(year): float(count) for year, count in rows}
    source, name = indicator.split(":", 1)
    points = series(engine, place, indicator=name, source=source)
    return {int(p["year"]): float(p["value"]) for p in points if p["value"] is not None}


def _estimate(result: Any, term: str) -> Estimate:
    low, high = result.conf_int().loc[term]
    return Estimate(
        float(result.params[term]), float(low), float(high), float(result.pvalues[term])
    )


def interrupted_time_series(
    values: dict[int, float], start_year: int
) -> tuple[dict[str, Estimate], int, int]:
    frame = pd.DataFrame(sorted(values.items()), columns=["year", "y"])
    frame["time"] = frame["year"] - frame["year"].min()
    frame["post"] = (frame["year"] >= start_year).astype(float)
    frame["time_since"] = np.maximum(frame["year"] - start_year, 0) * frame["post"]
    before, after = int((frame["post"] == 0).sum()), int((frame["post"] == 1).sum())
    if before < MIN_POINTS_EACH_SIDE or after < MIN_POINTS_EACH_SIDE:
        return {}, before, after
    model = sm.OLS(frame["y"], sm.add_constant(frame[["time", "post", "time_since"]]))
    fitted = model.fit(cov_type="HAC", cov_kwds={"maxlags": 1})
    return (
        {
            "level_change": _estimate(fitted, "post"),
            "slope_change": _estimate(fitted, "time_since"),
        },
        before,
        after,
    )


def difference_in_differences(panel: pd.DataFrame, start_year: int) -> Estimate | None:
    """Two-way fixed effects DiD; None when the panel cannot identify the effect."""
    panel = panel.assign(
        treated_post=((panel["treated"] == 1) & (panel["year"] >= start_year)).astype(float)
    )
    if panel["treated_post"].nunique() < 2 or panel["place"].nunique() < 2:
        return None
    fitted = smf.ols("y ~ treated_post + C(place) + C(year)", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["place"])[0]}
    )
    estimate = _estimate(fitted, "treated_post")
    if any(math.isnan(v) for v in (estimate.low, estimate.high)):
        return None
    return estimate


def _caveat(estimates: dict[str, Estimate], before: int, after: int, method: str) -> str:
    if not estimates:
        return (
            f"Too little data to say anything: {before} year(s) before and {after} after the start;"
            f" at least {MIN_POINTS_EACH_SIDE} on each side are needed."
        )
    notes = [
        "Associations, not proof of cause: other changes at the same time (reporting, funding,"
        " law) can produce the same pattern."
    ]
    if all(e.low <= 0 <= e.high for e in estimates.values()):
        notes.insert(0, "No change distinguishable from chance (every 95% interval includes zero).")
    if before + after < 12:
        notes.append(f"Only {before + after} yearly points: intervals are wide and fragile.")
    if method == "difference-in-differences":
        notes.append("Assumes the places would have moved in parallel without the initiative.")
        notes.append(
            "With few places, intervals clustered by place understate the uncertainty;"
            " treat the interval as a lower bound on it."
        )
    return " ".join(notes)


def evaluate(engine: DuckDBEngine, name: str) -> list[EvaluationResult]:
    initiative = get_initiative(engine, name)
    start = initiative.start_date.year
    results: list[EvaluationResult] = []
    for indicator in initiative.indicators:
        values = outcome_series(engine, indicator, initiative.place)
        estimates, before, after = interrupted_time_series(values, start)
        its = EvaluationResult(
            name,
            indicator,
            initiative.place,
            "interrupted time series",
            before,
            after,
            estimates,
            values,
        )
        its.caveat = _caveat(estimates, before, after, its.method)
        results.append(its)
        if not initiative.comparison_places:
            continue
        rows = [(initiative.place, 1, y, v) for y, v in values.items()]
        for other in initiative.comparison_places:
            rows.extend(
                (other, 0, y, v) for y, v in outcome_series(engine, indicator, other).items()
            )
        panel = pd.DataFrame(rows, columns=["place", "treated", "year", "y"])
        did = (
            difference_in_differences(panel, start)
            if before >= MIN_POINTS_EACH_SIDE and after >= MIN_POINTS_EACH_SIDE
            else None
        )
        result = EvaluationResult(
            name,
            indicator,
            initiative.place,
            "difference-in-differences",
            before,
            after,
            {"effect": did} if did else {},
            values,
        )
        result.caveat = _caveat(result.estimates, before, after, result.method)
        if did is None and before >= MIN_POINTS_EACH_SIDE and after >= MIN_POINTS_EACH_SIDE:
            result.caveat = "The comparison places have no data for this indicator in these years."
        results.append(result)
    return results

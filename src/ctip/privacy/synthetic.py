"""Differentially private aggregates and synthetic microdata, the Synthetic Data Showcase way.

Microsoft's Synthetic Data Showcase (SDS), which CTDC used for its synthetic releases, counts
attribute combinations up to a *reporting length*, protects the counts with differential
privacy (Gaussian noise, a share of the budget for selecting combinations, thresholds against
fabricated combinations), and samples synthetic records seeded by those noisy aggregates. The
``pac-synth`` package is SDS's own Rust core; CTIP calls it and adds three things:

- *k-synthetic post-processing*: attributes are blanked in synthetic records until every
  combination (up to the reporting length) in the synthetic data occurs at least
  ``resolution`` times. It reads only the synthetic data, so differential privacy is kept
  (post-processing), and SDS's leakage (combinations rare in the sensitive data that appear
  rarely in the synthetic data) is then zero by construction;
- *SDS evaluation*: by combination length, distinct and rare combinations, leakage,
  fabrication, preservation, mean count error;
- *privacy accounting* in the release's metadata: epsilon, delta, reporting length,
  resolution, and how the budget was split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

DELIMITER = ";"


@dataclass
class SyntheticResult:
    synthetic: pd.DataFrame
    aggregates: dict[str, int]
    accounting: dict[str, Any]
    evaluation: list[dict[str, Any]]
    suppressed_cells: int = 0
    notes: list[str] = field(default_factory=list)


def synthesise(
    frame: pd.DataFrame,
    *,
    epsilon: float,
    reporting_length: int = 3,
    resolution: int = 10,
    delta: float | None = None,
    multi_value: Sequence[str] = (),
    fabrication: str = "balanced",
) -> SyntheticResult:
    import pacsynth

    text = frame.astype(object).where(frame.notna(), "").astype(str)
    multi = {c: DELIMITER for c in multi_value if c in text.columns}
    dataset = pacsynth.Dataset.from_data_frame(
        text,
        multi_value_columns=multi or None,
        sensitive_zeros=[c for c in text.columns if c not in multi],  # "0" is a value here
    )
    builder = (
        pacsynth.DpAggregateSeededParametersBuilder()
        .reporting_length(reporting_length)
        .epsilon(epsilon)
        .fabrication_mode(_fabrication(pacsynth, fabrication))
    )
    if delta is not None:
        builder = builder.delta(delta)
    parameters = builder.build()
    synthesizer = pacsynth.DpAggregateSeededSynthesizer(parameters)
    synthesizer.fit(dataset)
    raw = synthesizer.sample(join_multi_value_columns=bool(multi))
    synthetic = pd.DataFrame(raw[1:], columns=raw[0])[list(text.columns)]
    aggregates = synthesizer.get_dp_aggregates(DELIMITER)
    protected_records = synthesizer.get_dp_number_of_records()
    suppressed = k_synthetic(synthetic, reporting_length, resolution, multi)
    evaluation = evaluate(text, synthetic, reporting_length, resolution, multi)
    accounting = _accounting(
        parameters.to_json_str() if hasattr(parameters, "to_json_str") else builder.to_json_str(),
        epsilon,
        delta,
        reporting_length,
        resolution,
        protected_records,
        fabrication,
    )
    accounting["k_synthetic_suppressed_cells"] = suppressed
    return SyntheticResult(synthetic, aggregates, accounting, evaluation, suppressed)


def _fabrication(pacsynth: Any, name: str) -> Any:
    modes = {
        "balanced": pacsynth.FabricationMode.balanced,
        "minimize": pacsynth.FabricationMode.minimize,
        "progressive": pacsynth.FabricationMode.progressive,
        "uncontrolled": pacsynth.FabricationMode.uncontrolled,
    }
    return modes[name]()


def _accounting(
    parameters_json: str,
    epsilon: float,
    delta: float | None,
    reporting_length: int,
    resolution: int,
    protected_records: int,
    fabrication: str,
) -> dict[str, Any]:
    import json

    parameters = json.loads(parameters_json)
    percentile = float(parameters.get("percentile_epsilon_proportion", 0.01))
    records = float(parameters.get("number_of_records_epsilon_proportion", 0.005))
    n = max(protected_records, 3)
    used_delta = delta if delta is not None else 1 / (math.log(n) * n)
    sigmas = parameters.get("sigma_proportions") or []
    return {
        "mechanism": "pac-synth DP aggregate-seeded synthesis (Gaussian noise on attribute-combination counts)",
        "epsilon": epsilon,
        "delta": used_delta,
        "delta_rule": "given"
        if delta is not None
        else "1 / (ln(n) * n), n = DP number of records (pac-synth default)",
        "reporting_length": reporting_length,
        "resolution": resolution,
        "budget_split": {
            "aggregates": round(1 - percentile - records, 6),
            "percentile_selection": percentile,
            "number_of_records": records,
            "noise_scale_by_length": {str(i + 1): s for i, s in enumerate(sigmas)},
        },
        "percentile_percentage": parameters.get("percentile_percentage"),
        "fabrication_mode": fabrication,
        "protected_number_of_records": protected_records,
        "pac_synth_parameters": parameters,
    }


def _combinations(
    frame: pd.DataFrame, length: int, multi: dict[str, str]
) -> dict[int, dict[tuple[tuple[str, str], ...], int]]:
    """Counts of attribute combinations of each length (SDS counting: blanks are not attributes)."""
    from itertools import combinations

    counts: dict[int, dict[tuple[tuple[str, str], ...], int]] = {
        n: {} for n in range(1, length + 1)
    }
    for record in frame.to_dict("records"):
        attributes = sorted(_attributes({str(k): v for k, v in record.items()}, multi))
        for n in range(1, length + 1):
            table = counts[n]
            for combination in combinations(attributes, n):
                table[combination] = table.get(combination, 0) + 1
    return counts


def k_synthetic(
    synthetic: pd.DataFrame, length: int, resolution: int, multi: dict[str, str]
) -> int:
    """Blank attributes until no synthetic combination occurs fewer than ``resolution`` times.

    Each pass counts every combination, then in each record holding a rare one blanks that
    combination's rarest attribute; blanking only removes combinations, so passes end.
    Changes ``synthetic`` in place; returns the number of attributes blanked.
    """
    from itertools import combinations

    records = synthetic.to_dict("records")
    rows = [
        sorted(_attributes({str(k): v for k, v in record.items()}, multi)) for record in records
    ]
    blanked = 0
    while True:
        counts: dict[tuple[tuple[str, str], ...], int] = {}
        for attributes in rows:
            for n in range(1, length + 1):
                for combination in combinations(attributes, n):
                    counts[combination] = counts.get(combination, 0) + 1
        changed = False
        for attributes in rows:
            rare = next(
                (
                    c
                    for n in range(1, length + 1)
                    for c in combinations(attributes, n)
                    if counts[c] < resolution
                ),
                None,
            )
            if rare is not None:
                attributes.remove(min(rare, key=lambda a: counts[(a,)]))
                blanked += 1
                changed = True
        if not changed:
            break
    for column in synthetic.columns:
        kept: list[str] = []
        for attributes in rows:
            values = [value for name, value in attributes if name == column]
            kept.append(
                multi[column].join(values) if column in multi else (values[0] if values else "")
            )
        synthetic[column] = kept
    return blanked


def _attributes(record: dict[str, Any], multi: dict[str, str]) -> list[tuple[str, str]]:
    """A record's attributes as (column, value); a multi-value cell gives one per value."""
    attributes: list[tuple[str, str]] = []
    for column, value in record.items():
        if not value:
            continue
        if column in multi:
            attributes.extend((str(column), p) for p in str(value).split(multi[str(column)]) if p)
        else:
            attributes.append((str(column), str(value)))
    return attributes


def evaluate(
    sensitive: pd.DataFrame,
    synthetic: pd.DataFrame,
    length: int,
    resolution: int,
    multi: dict[str, str],
) -> list[dict[str, Any]]:
    """SDS's evaluation by combination length (see docs/releases.md for each measure)."""
    real = _combinations(sensitive, length, multi)
    fake = _combinations(synthetic, length, multi)
    rows: list[dict[str, Any]] = []
    for n in range(1, length + 1):
        s, y = real[n], fake[n]
        rare_sensitive = {c for c, v in s.items() if v < resolution}
        leaked = sum(1 for c in rare_sensitive if c in y and y[c] < resolution)
        k_synthetic_leaks = sum(1 for v in y.values() if v < resolution)
        preserved = sum(1 for c in s if c in y)
        errors = [abs(s[c] - y.get(c, 0)) / s[c] for c in s]
        total = sum(s.values())
        weighted = sum(abs(s[c] - y.get(c, 0)) for c in s) / total if total else 0.0
        rows.append(
            {
                "length": n,
                "sensitive_combinations": len(s),
                "sensitive_rare_percentage": round(100 * len(rare_sensitive) / len(s), 2)
                if s
                else 0.0,
                "synthetic_combinations": len(y),
                "leakage_count": leaked,
                "leakage_percentage": round(100 * leaked / len(y), 4) if y else 0.0,
                "k_synthetic_leakage": k_synthetic_leaks,
                "fabricated_count": sum(1 for c in y if c not in s),
                "preservation_percentage": round(100 * preserved / len(s), 2) if s else 0.0,
                "mean_relative_count_error": round(sum(errors) / len(errors), 4) if errors else 0.0,
                "count_weighted_error": round(weighted, 4),
            }
        )
    return rows

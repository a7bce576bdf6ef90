"""Release pages: what was protected and what utility was kept, as self-contained HTML.

The same fragments appear in the workspace report (``report_sections``) and, wrapped in a page
of their own, beside every release, so whoever receives the data also receives its caveats.
"""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left}th{background:#f3f3f3}.num{text-align:right}.note{color:#555}.warn{color:#8a4b00}
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:,.4g}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{escape(str(value))}</td>"


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(_cell(row.get(key, "")) for key, _ in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bars(values: list[tuple[str, float]], *, unit: str = "%", width: int = 480) -> str:
    """A horizontal bar chart in inline SVG (values 0..100)."""
    height = 24 * len(values) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
    ]
    for index, (label, value) in enumerate(values):
        y = 4 + 24 * index
        length = max(0.0, min(100.0, value)) / 100 * (width - 200)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>')
        parts.append(f'<rect x="120" y="{y}" width="{length:.1f}" height="18" fill="#4a7ab0"/>')
        parts.append(
            f'<text x="{125 + length:.1f}" y="{y + 15}" font-size="12">{value:.1f}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def kanon_fragment(summary: dict[str, Any]) -> str:
    suppressed = summary["suppressed_records"]
    lines = [
        f"<p><b>{escape(summary['release_id'])}</b>: {summary['records_out']:,} of"
        f" {summary['records_in']:,} records from {escape(summary['source'])}, k = {summary['k']}."
        f" Every combination of {', '.join(map(escape, summary['quasi_identifiers']))} occurs at"
        f" least {summary['k']} times (smallest group {summary['smallest_class']:,}).</p>",
        "<h4>What was generalised</h4>",
        table(
            summary["generalisation"],
            [
                ("column", "quasi-identifier"),
                ("as", "released as"),
                ("level", "level"),
                ("of", "of"),
                ("distinct_before", "distinct values before"),
                ("distinct_after", "after"),
            ],
        ),
        "<h4>What was lost</h4>",
        table(
            [
                {"measure": "records suppressed (quasi-identifiers set to *)", "value": suppressed},
                {"measure": "records dropped", "value": summary["dropped_records"]},
                {"measure": "cells suppressed", "value": summary["suppressed_cells"]},
                {"measure": "equivalence classes", "value": summary["equivalence_classes"]},
                {"measure": "average class size", "value": float(summary["average_class_size"])},
                {
                    "measure": "precision loss (0 none, 1 all suppressed)",
                    "value": float(summary["precision_loss"]),
                },
                {"measure": "discernibility metric", "value": summary["discernibility"]},
            ],
            [("measure", "measure"), ("value", "value")],
        ),
    ]
    if summary.get("l_diversity"):
        lines += [
            '<h4 class="warn">What k-anonymity does not protect</h4>',
            "<p>Records in one group share their quasi-identifiers; if they also share a sensitive"
            " value, anyone who knows a person is in the group learns it (attribute disclosure)."
            " Groups where every record has the same value:</p>",
            table(
                summary["l_diversity"],
                [
                    ("column", "column"),
                    ("homogeneous_classes", "homogeneous groups"),
                    ("records_in_homogeneous_classes", "records in them"),
                    ("min_distinct_values_in_a_class", "fewest distinct values in a group (l)"),
                ],
            ),
        ]
    return "\n".join(lines)


def synthetic_fragment(metadata: dict[str, Any]) -> str:
    privacy = metadata["privacy"]
    split = privacy["budget_split"]
    evaluation = metadata["evaluation"]
    return "\n".join(
        [
            f"<p><b>{escape(metadata['release_id'])}</b>: {metadata['records_out']:,} synthetic"
            f" records and differentially private aggregates from {escape(metadata['source'])}"
            f" (columns: {', '.join(map(escape, metadata['columns']))}).</p>",
            "<h4>Privacy accounting</h4>",
            table(
                [
                    {"item": "epsilon", "value": float(privacy["epsilon"])},
                    {"item": "delta", "value": float(privacy["delta"])},
                    {"item": "reporting length", "value": privacy["reporting_length"]},
                    {"item": "resolution (k for k-synthetic data)", "value": privacy["resolution"]},
                    {"item": "budget: aggregates", "value": float(split["aggregates"])},
                    {
                        "item": "budget: combination selection (percentile)",
                        "value": float(split["percentile_selection"]),
                    },
                    {
                        "item": "budget: number of records",
                        "value": float(split["number_of_records"]),
                    },
                    {"item": "fabrication control", "value": privacy["fabrication_mode"]},
                    {
                        "item": "attributes blanked for k-synthetic data",
                        "value": privacy["k_synthetic_suppressed_cells"],
                    },
                ],
                [("item", "item"), ("value", "value")],
            ),
            "<h4>Utility kept and leakage, by combination length</h4>",
            bars(
                [
                    (f"length {r['length']} preserved", float(r["preservation_percentage"]))
                    for r in evaluation
                ]
            ),
            table(
                evaluation,
                [
                    ("length", "length"),
                    ("sensitive_combinations", "sensitive combinations"),
                    ("synthetic_combinations", "synthetic"),
                    ("preservation_percentage", "preserved %"),
                    ("count_weighted_error", "count error (weighted)"),
                    ("fabricated_count", "fabricated"),
                    ("leakage_count", "leakage"),
                    ("k_synthetic_leakage", "k-synthetic leakage"),
                ],
            ),
            '<p class="note">Leakage: combinations rarer than the resolution in the real data that'
            " also appear rarely in the synthetic data (zero by design). Fabricated: combinations"
            " in the synthetic data that the real data does not have.</p>",
        ]
    )


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}"
        '<p class="note">Made by CTIP. This page is self-contained: it loads nothing.</p>'
        "</body></html>\n"
    )


def kanon_page(summary: dict[str, Any]) -> str:
    return _page("k-anonymous release", kanon_fragment(summary))


def synthetic_page(metadata: dict[str, Any]) -> str:
    return _page("Synthetic data release", synthetic_fragment(metadata))

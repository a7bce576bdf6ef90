"""Report sections for ads: a per-network summary and the flagged ads with their evidence.

Self-contained HTML: inline SVG, no scripts, no external URLs. Every flag is shown with the
words that raised it, highlighted in the ad's own text, and the page says plainly that flags
are for human triage only.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ctip.ads.indicators import load_catalogue
from ctip.ads.network_service import network_summaries
from ctip.capabilities import ReportContext, Section
from ctip.engine.duckdb import DuckDBEngine

TOP_NETWORKS = 20
TOP_ADS = 25
TRIAGE_NOTE = (
    "Indicators are cues from the research literature, for human triage only: they order ads"
    " for an analyst to read and are never grounds for action on their own."
)


def sections(context: ReportContext) -> list[Section]:
    engine = context.workspace.engine
    if not engine.scalar("SELECT count(*) FROM ad_networks"):
        return []
    return [
        Section("ad-networks", "Ad networks", _networks_html(engine), order=60),
        Section("ad-flags", "Flagged ads", _flags_html(engine), order=61),
    ]


def _days(row: dict[str, Any]) -> str:
    if row["first_seen"] is None or row["last_seen"] is None:
        return ""
    days = (row["last_seen"] - row["first_seen"]).days + 1
    return f"{row['first_seen']:%Y-%m-%d} – {row['last_seen']:%Y-%m-%d} ({days} d)"


def _bar_chart(rows: list[dict[str, Any]]) -> str:
    """Horizontal bars of network sizes, as inline SVG."""
    if not rows:
        return ""
    width, bar, gap, label = 560, 14, 4, 170
    largest = max(r["size"] for r in rows)
    height = len(rows) * (bar + gap) + 10
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="Ads per network">']
    for index, row in enumerate(rows):
        y = 5 + index * (bar + gap)
        length = max(1, int((width - label - 60) * row["size"] / largest))
        parts.append(
            f'<text x="{label - 6}" y="{y + bar - 3}" font-size="11" text-anchor="end">'
            f"{escape(row['network'][:26])}</text>"
            f'<rect x="{label}" y="{y}" width="{length}" height="{bar}" fill="#4a6fa5"/>'
            f'<text x="{label + length + 4}" y="{y + bar - 3}" font-size="11">{row["size"]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _networks_html(engine: DuckDBEngine) -> str:
    rows = network_summaries(engine, min_size=2, limit=TOP_NETWORKS)
    total = engine.scalar("SELECT count(DISTINCT network_id) FROM ad_networks")
    linked = engine.scalar(
        "SELECT count(*) FROM ad_networks WHERE network_id IN"
        " (SELECT network_id FROM ad_networks GROUP BY ALL HAVING count(*) > 1)"
    )
    ads = engine.scalar("SELECT count(*) FROM ads")
    head = (
        f"<p>{ads:,} ads form {total:,} networks; {linked:,} ads share a phone, e-mail, handle,"
        " wallet, image or text template with at least one other ad. Largest networks:</p>"
    )
    table = [
        "<table><thead><tr><th>network</th><th>ads</th><th>cities</th><th>time span</th>"
        "<th>phones</th><th>e-mails</th><th>handles</th><th>wallets</th><th>indicators (ads)</th>"
        "</tr></thead><tbody>"
    ]
    for row in rows:
        cities = row["cities"]
        shown = ", ".join(cities[:4]) + (f" +{len(cities) - 4}" if len(cities) > 4 else "")
        indicators = ", ".join(
            f"{escape(code)} {count}"
            for code, count in sorted(row["indicators"].items(), key=lambda i: -i[1])[:4]
        )
        table.append(
            f"<tr><td>{escape(row['network'])}</td><td>{row['size']}</td>"
            f"<td>{len(cities)}: {escape(shown)}</td><td>{escape(_days(row))}</td>"
            f"<td>{len(row['phones'])}</td><td>{len(row['emails'])}</td>"
            f"<td>{len(row['handles'])}</td><td>{len(row['wallets'])}</td><td>{indicators}</td></tr>"
        )
    table.append("</tbody></table>")
    return head + _bar_chart(rows) + "".join(table) + f"<p><em>{escape(TRIAGE_NOTE)}</em></p>"


def highlight(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` as HTML with each (start, end, label) span in <mark>; overlaps are merged."""
    merged: list[list[Any]] = []
    for start, end, label in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] += f", {label}"
        else:
            merged.append([start, end, label])
    out, position = [], 0
    for start, end, label in merged:
        out.append(escape(text[position:start]))
        out.append(f'<mark title="{escape(label)}">{escape(text[start:end])}</mark>')
        position = end
    out.append(escape(text[position:]))
    return "".join(out)


def _flags_html(engine: DuckDBEngine) -> str:
    catalogue = load_catalogue()
    ads = engine.records(
        "SELECT a.ad_key, a.id, a.title, a.body, a.location, a.posted_at, s.score,"
        " n.network_id FROM ad_scores s JOIN ads a USING (ad_key)"
        " LEFT JOIN ad_networks n USING (ad_key) WHERE s.score > 0"
        " ORDER BY s.score DESC, a.ad_key LIMIT ?",
        [TOP_ADS],
    )
    flagged = engine.scalar("SELECT count(*) FROM ad_scores WHERE score >= 0.5")
    parts = [f"<p>{flagged:,} ads score 0.5 or more. {escape(TRIAGE_NOTE)}</p>"]
    for ad in ads:
        flags = engine.records(
            "SELECT code, evidence, decision FROM ad_flags WHERE ad_key = ? ORDER BY weight DESC",
            [ad["ad_key"]],
        )
        spans: dict[str, list[tuple[int, int, str]]] = {"title": [], "body": []}
        items = []
        for flag in flags:
            indicator = catalogue.get(flag["code"])
            description = indicator.description if indicator else ""
            for evidence in json.loads(flag["evidence"]):
                if evidence["field"] in spans:
                    spans[evidence["field"]].append(
                        (evidence["start"], evidence["end"], flag["code"])
                    )
            mark = " (confirmed)" if flag["decision"] == "confirmed" else ""
            items.append(f"<li><b>{escape(flag['code'])}</b>{mark}: {escape(description)}</li>")
        parts.append(
            f"<article><h4>{escape(ad['id'])} · score {ad['score']:.2f} ·"
            f" {escape(ad['location'] or '')} · network {escape(ad['network_id'] or '')}</h4>"
            f"<p><b>{highlight(ad['title'] or '', spans['title'])}</b><br>"
            f"{highlight(ad['body'] or '', spans['body'])}</p><ul>{''.join(items)}</ul></article>"
        )
    return "".join(parts)

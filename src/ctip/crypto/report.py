"""Report sections: workspace overview, the saved traces as a Sankey by hop and a flow graph,
exposed entities, and clusters linked to ads and cases. Inline SVG only, no script, no URL."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

from ctip.capabilities import ReportContext, Section
from ctip.crypto.analyses import latest
from ctip.report.svg import PALETTE

MAX_NODES_PER_HOP = 8


def sankey_by_hop(result: dict[str, Any], *, width: int = 900, height: int = 380) -> str:
    """Columns are hops; boxes are the entities (label, else category) value reached at that hop.

    Forward, value moves left to right from the start; backward, the columns are where it came
    from, one hop further back each. Small entities of a hop are folded into "other".
    """
    flows = result.get("flows") or []
    if not flows:
        return '<p class="empty">No flows.</p>'
    forward = result.get("direction") == "forward"
    near, far, far_category = (
        ("from", "to", "to_category") if forward else ("to", "from", "from_category")
    )
    name = {f[far]: str(f.get("to_label") or f.get(far_category) or "unattributed") for f in flows}
    raw: dict[tuple[int, str, str], float] = defaultdict(float)
    for flow in flows:
        hop = int(flow["hop"])
        if hop <= 0:
            continue
        source = "start" if hop == 1 else name.get(flow[near], "unattributed")
        raw[(hop, source, name[flow[far]])] += float(flow["attributed"])
    totals: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (hop, _, target), value in raw.items():
        totals[hop][target] += value
    keep = {h: set(sorted(v, key=lambda k: -v[k])[:MAX_NODES_PER_HOP]) for h, v in totals.items()}

    def fold(hop: int, entity: str) -> str:
        return entity if hop == 0 or entity in keep.get(hop, {entity}) else "other"

    links: dict[tuple[int, str, str], float] = defaultdict(float)
    for (hop, source, target), value in raw.items():
        links[(hop, fold(hop - 1, source) if hop > 1 else "start", fold(hop, target))] += value
    size: dict[tuple[int, str], float] = defaultdict(float)
    out_size: dict[tuple[int, str], float] = defaultdict(float)
    for (hop, source, target), value in links.items():
        size[(hop, target)] += value
        out_size[(hop - 1, source)] += value
    for key, value in out_size.items():
        size[key] = max(size[key], value)
    hops = sorted({h for h, _ in size})
    largest = max(sum(v for (h, _), v in size.items() if h == hop) for hop in hops) or 1.0
    top, bottom, gap = 18, 8, 6
    scale = (height - top - bottom - gap * (MAX_NODES_PER_HOP + 1)) / largest
    step = (width - 170) / max(len(hops) - 1, 1)
    boxes: dict[tuple[int, str], tuple[float, float]] = {}
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%"'
        f' aria-label="Value by hop"><title>Value by hop ({"forward" if forward else "backward"})</title>'
    ]
    nodes: list[str] = []
    for index, hop in enumerate(hops):
        x, y = 20 + index * step, float(top)
        column = sorted(((n, v) for (h, n), v in size.items() if h == hop), key=lambda kv: -kv[1])
        for entity, value in column:
            height_px = max(value * scale, 1.5)
            boxes[(hop, entity)] = (x, y)
            grey = entity in ("unattributed", "other")
            colour = (
                "#9aa0a6"
                if grey
                else ("#c0392b" if entity == "start" else PALETTE[len(entity) % len(PALETTE)])
            )
            nodes.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="10" height="{height_px:.1f}" fill="{colour}">'
                f"<title>{escape(entity)}, hop {hop}: {value:,.8g}</title></rect>"
                f'<text x="{x + 13:.1f}" y="{y + min(height_px, 14) / 2 + 4:.1f}" class="label">{escape(entity[:24])}</text>'
            )
            y += height_px + gap
        label = "start" if hop == 0 else f"hop {hop}" if forward else f"hop -{hop}"
        nodes.append(f'<text x="{x:.1f}" y="{top - 6}" class="tick">{label}</text>')
    left: dict[tuple[int, str], float] = defaultdict(float)
    right: dict[tuple[int, str], float] = defaultdict(float)
    for (hop, source, target), value in sorted(links.items(), key=lambda kv: (kv[0][0], -kv[1])):
        thickness = value * scale
        if thickness < 0.2:
            continue
        (sx, sy), (tx, ty) = boxes[(hop - 1, source)], boxes[(hop, target)]
        y0 = sy + left[(hop - 1, source)] + thickness / 2
        y1 = ty + right[(hop, target)] + thickness / 2
        left[(hop - 1, source)] += thickness
        right[(hop, target)] += thickness
        mid = (sx + 10 + tx) / 2
        parts.append(
            f'<path d="M{sx + 10:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {tx:.1f},{y1:.1f}"'
            f' fill="none" stroke="#1f5a96" stroke-opacity="0.28" stroke-width="{thickness:.1f}">'
            f"<title>{escape(source)} to {escape(target)}: {value:,.8g}</title></path>"
        )
    parts.extend(nodes)
    parts.append("</svg>")
    return "".join(parts)


def flow_graph(
    result: dict[str, Any], *, width: int = 900, height: int = 420, max_edges: int = 60
) -> str:
    """The strongest flows as a layered graph: one column per hop, line width by value."""
    flows = sorted(result.get("flows") or [], key=lambda f: -float(f["attributed"]))[:max_edges]
    if not flows:
        return '<p class="empty">No flows.</p>'
    forward = result.get("direction") == "forward"
    near, far = ("from", "to") if forward else ("to", "from")
    layer: dict[str, int] = {}
    for flow in flows:  # columns by hop from the start (backward: further back to the right)
        hop = int(flow["hop"])
        layer[flow[near]] = min(layer.get(flow[near], hop - 1), hop - 1)
        layer[flow[far]] = min(layer.get(flow[far], hop), hop)
    by_layer: dict[int, list[str]] = defaultdict(list)
    for address, hop in sorted(layer.items(), key=lambda kv: (kv[1], kv[0])):
        by_layer[max(hop, 0)].append(address)
    columns = sorted(by_layer)
    step = (width - 120) / max(len(columns) - 1, 1)
    position: dict[str, tuple[float, float]] = {}
    for index, hop in enumerate(columns):
        nodes = by_layer[hop]
        for rank, address in enumerate(nodes):
            position[address] = (60 + index * step, 20 + (rank + 0.5) * (height - 40) / len(nodes))
    largest = max(float(f["attributed"]) for f in flows) or 1.0
    far_category = "to_category" if forward else "from_category"
    category = {f[far]: f.get("to_label") or f.get(far_category) for f in flows}
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%"'
        f' aria-label="Flow graph"><title>Flow graph (strongest {len(flows)} flows)</title>'
    ]
    for flow in flows:
        (x0, y0), (x1, y1) = position[flow["from"]], position[flow["to"]]
        stroke = 0.6 + 7 * float(flow["attributed"]) / largest
        parts.append(
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#1f5a96"'
            f' stroke-opacity="0.45" stroke-width="{stroke:.1f}"><title>{escape(flow["from"])} to'
            f" {escape(flow['to'])}: {float(flow['attributed']):,.8g} (tx {escape(str(flow['txid'])[:16])}...)</title></line>"
        )
    start = set(result.get("start", {}).get("addresses") or [])
    for address, (x, y) in position.items():
        label = category.get(address)
        colour = "#c0392b" if address in start else (PALETTE[1] if label else "#7f8c8d")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"><title>{escape(address)}'
            f"{' - ' + escape(str(label)) if label else ''}</title></circle>"
        )
        if label:
            parts.append(
                f'<text x="{x + 7:.1f}" y="{y + 4:.1f}" class="label">{escape(str(label)[:20])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return '<p class="empty">None.</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value[:5]) + (" ..." if len(value) > 5 else "")
    return str(value)


def sections(context: ReportContext) -> list[Section]:
    engine = context.workspace.engine
    transactions = int(engine.scalar("SELECT count(*) FROM crypto_txids") or 0)
    if not transactions:
        return []
    overview = engine.records(
        "SELECT a.chain, count(*) AS addresses,"
        " (SELECT count(*) FROM crypto_transactions t WHERE t.chain = a.chain) +"
        " (SELECT count(DISTINCT tx_id) FROM crypto_transfers f WHERE f.chain = a.chain) AS transactions,"
        " count(DISTINCT c.cluster_id) AS clusters FROM crypto_addresses a"
        " LEFT JOIN crypto_clusters c USING (address_id) GROUP BY a.chain ORDER BY a.chain"
    )
    tags = engine.records(
        "SELECT coalesce(category, '(none)') AS category, origin, count(*) AS tags FROM crypto_tags"
        " GROUP BY ALL ORDER BY tags DESC"
    )
    runs = engine.records(
        "SELECT created_at, transactions, coinjoins, addresses, clusters, largest, seconds"
        " FROM crypto_cluster_runs ORDER BY created_at DESC LIMIT 1"
    )
    html = [
        "<p>Transactions imported per chain, address clusters (multi-input heuristic, CoinJoins"
        " excluded) and attribution tags. See docs/crypto.md for the heuristics and limits.</p>",
        _table(overview, ["chain", "transactions", "addresses", "clusters"]),
        _table(
            runs,
            [
                "created_at",
                "transactions",
                "coinjoins",
                "addresses",
                "clusters",
                "largest",
                "seconds",
            ],
        ),
        _table(tags, ["category", "origin", "tags"]),
    ]
    for saved in latest(engine, "trace", limit=2):
        result = saved["result"]
        summary = result["summary"]
        html.append(
            f"<h3>Trace '{escape(saved['name'])}': {escape(result['direction'])} from"
            f" {escape(str(result['start']['query']))} ({escape(result['policy'])}, {result['hops']} hops)</h3>"
        )
        html.append(_table([summary], list(summary)))
        html.append(sankey_by_hop(result))
        html.append(flow_graph(result))
        html.append(
            _table(
                result["categories"],
                ["category", "attributed", "addresses", "entities", "first_hop"],
            )
        )
        if result.get("paths"):
            paths = result["paths"]
            html.append(
                _table(
                    [{"path": k, **(v or {})} for k, v in paths.items() if k != "to"],
                    ["path", "hops", "bottleneck", "addresses"],
                )
            )
    for saved in latest(engine, "exposure", limit=1):
        html.append(
            f"<h3>Exposure '{escape(saved['name'])}' ({saved['result']['seeds']} seeds)</h3>"
        )
        html.append(
            _table(
                saved["result"]["categories"][:15],
                ["category", "label", "addresses", "score", "exposed_received", "exposed_sent"],
            )
        )
        html.append(
            _table(
                saved["result"]["top"][:15],
                ["address", "score", "score_in", "score_out", "cluster"],
            )
        )
    from ctip.crypto.links import linked_clusters

    linked = linked_clusters(engine)
    if linked:
        html.append("<h3>Clusters holding wallets from ads and cases</h3>")
        html.append(
            _table(
                linked[:20], ["cluster", "chain", "cluster_size", "wallets", "ad_networks", "cases"]
            )
        )
    return [Section("crypto", "Cryptocurrency flows", "".join(html), order=60)]

"""The ad network graph for the canvas: ads and the identifiers linking them, laid out here.

Nodes are ads and the link values that tie them together (phones, e-mails, handles, wallets,
images, text-template clusters) exactly as ``ctip ads networks`` used them, rejected links
left out. Positions come from igraph's grid Fruchterman-Reingold layout (fast on thousands of
nodes), normalised to [0, 1], so the browser only draws: pan, zoom, hover and select stay
smooth with 5,000 nodes. The layout is cached per workspace version and selection.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import igraph as ig
import numpy as np

from ctip.ads.network_service import link_rows
from ctip.ads.networks import LINK_KINDS
from ctip.workspace import Workspace

KINDS = ("ad", *LINK_KINDS)
MAX_NODES = 20_000
_CACHE: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_LOCK = threading.Lock()


def _selection(workspace: Workspace, network: str | None) -> list[str]:
    engine = workspace.engine
    if network:
        return [
            str(r[0])
            for r in engine.rows(
                "SELECT ad_key FROM ad_networks WHERE network_id = ? ORDER BY ad_key", [network]
            )
        ]
    rows = engine.rows(
        "SELECT network_id, list(ad_key ORDER BY ad_key) FROM ad_networks GROUP BY 1"
        " HAVING count(*) > 1 ORDER BY count(*) DESC, 1"
    )
    keys: list[str] = []
    for _, members in rows:
        if len(keys) + len(members) > MAX_NODES // 2:
            break
        keys.extend(str(m) for m in members)
    return keys


def graph_payload(
    workspace: Workspace, version: tuple[Any, ...], network: str | None
) -> dict[str, Any]:
    """Nodes (positions, kind, label, network), edges and counts for one selection."""
    cache_key = (str(workspace.path), version, network)
    with _LOCK:
        cached = _CACHE.get(cache_key)
        if cached is not None:
            _CACHE.move_to_end(cache_key)
            return cached
    payload = _build(workspace, network)
    with _LOCK:
        _CACHE[cache_key] = payload
        while len(_CACHE) > 16:
            _CACHE.popitem(last=False)
    return payload


def _build(workspace: Workspace, network: str | None) -> dict[str, Any]:
    engine = workspace.engine
    keys = _selection(workspace, network)
    chosen = set(keys)
    links = link_rows(engine, LINK_KINDS).to_pylist()
    ad_index = {key: i for i, key in enumerate(keys)}
    values: dict[tuple[str, str], int] = {}
    edges: list[tuple[int, int]] = []
    for link in links:
        if link["ad_key"] not in chosen:
            continue
        value_key = (str(link["kind"]), str(link["value"]))
        index = values.setdefault(value_key, len(keys) + len(values))
        edges.append((ad_index[link["ad_key"]], index))
    if len(keys) + len(values) > MAX_NODES:
        keep = {v for v, i in values.items() if i < MAX_NODES}
        values = {v: i for v, i in values.items() if v in keep}
        edges = [(a, b) for a, b in edges if b < MAX_NODES]
    details = {
        str(r["ad_key"]): r
        for r in engine.records(
            "SELECT a.ad_key, a.id, a.title, a.location, n.network_id, s.score FROM ads a"
            " LEFT JOIN ad_networks n USING (ad_key) LEFT JOIN ad_scores s USING (ad_key)"
            " WHERE list_contains(?, a.ad_key)",
            [keys],
        )
    }
    count = len(keys) + len(values)
    graph = ig.Graph(n=count, edges=edges)
    if count > 1:
        layout = np.asarray(graph.layout_fruchterman_reingold(niter=300, grid=count > 300).coords)
        low, high = layout.min(axis=0), layout.max(axis=0)
        span = np.where(high - low > 0, high - low, 1.0)
        positions = (layout - low) / span
    else:
        positions = np.full((count, 2), 0.5)
    kinds = [0] * len(keys) + [KINDS.index(kind) for kind, _ in values]
    labels = [
        f"{details[k]['id']}: {details[k]['title'] or ''}"[:120] if k in details else k
        for k in keys
    ] + [f"{kind}: {value}"[:120] for kind, value in values]
    networks = [str(details[k]["network_id"] or "") if k in details else "" for k in keys] + [
        "" for _ in values
    ]
    scores = [float(details[k]["score"] or 0.0) if k in details else 0.0 for k in keys]
    return {
        "kinds": list(KINDS),
        "x": [round(float(v), 4) for v in positions[:, 0]],
        "y": [round(float(v), 4) for v in positions[:, 1]],
        "kind": kinds,
        "label": labels,
        "network": networks,
        "flagged": [i for i, s in enumerate(scores) if s >= 0.5],
        "edges": [v for edge in edges for v in edge],
        "ads": len(keys),
        "identifiers": len(values),
        "network_id": network,
    }

"""Ads: screening results with the words that raised each flag highlighted, template clusters
with their slots, networks with the identifiers that link them (table and canvas graph), and
the analyst's confirm/reject decisions, which later ``ctip ads`` runs respect.

Ads hold phone numbers, e-mails and handles that can identify people (often the victims
themselves), so these pages need ``cases:read-personal`` and every view is audited.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ctip.ads import decisions
from ctip.ads.indicators import load_catalogue
from ctip.ads.network_service import network_summaries
from ctip.ads.report import TRIAGE_NOTE, highlight
from ctip.hub.cases import entry
from ctip.hub.permissions import Principal
from ctip.web.core import (
    Form,
    FormPrincipal,
    PagePrincipal,
    PageRoute,
    State,
    WebState,
    render,
    require_page,
    safe_next,
)
from ctip.web.forms import text
from ctip.web.graph import graph_payload
from ctip.web.tables import Column, csv_response, page_number, paged, wants_csv
from ctip.web.workspaces import Attachment, attachment_for, has_table, open_attached

router = APIRouter(route_class=PageRoute, include_in_schema=False)
ADS_PER_PAGE = 10
NETWORK_COLUMNS = (
    Column("network", "Network", "link", "/ads/networks?network={network}"),
    Column("size", "Ads", numeric=True),
    Column("cities", "Cities"),
    Column("span", "Active"),
    Column("phones", "Phones"),
    Column("emails", "E-mails"),
    Column("handles", "Handles"),
    Column("wallets", "Wallets"),
    Column("top", "Indicators (ads)"),
)


def _guard(principal: Principal, state: WebState, view: str, **details: Any) -> Attachment | None:
    require_page(principal, "cases:read-personal")
    state.hub.batcher.append(entry(principal, "web.ads.view", "ads", view, **details))
    return attachment_for(state.hub, principal.agency_id)


def _counts(workspace: Any) -> dict[str, int] | None:
    if not has_table(workspace, "ads"):
        return None
    engine = workspace.engine
    row = engine.records(
        "SELECT (SELECT count(*) FROM ads) AS ads,"
        " (SELECT count(*) FROM ad_scores WHERE score >= 0.5) AS flagged,"
        " (SELECT count(*) FROM ad_cluster_summaries) AS clusters,"
        " (SELECT count(*) FROM (SELECT network_id FROM ad_networks GROUP BY 1"
        "   HAVING count(*) > 1)) AS networks"
    )[0]
    return {k: int(v or 0) for k, v in row.items()}


def _page(request: Request, template: str, title: str, **context: Any) -> Response:
    return render(request, template, title=title, triage=TRIAGE_NOTE, **context)


@router.get("/ads")
def screening(
    request: Request,
    principal: PagePrincipal,
    state: State,
    minimum: Annotated[float, Query(ge=0, le=1)] = 0.5,
) -> Response:
    """Flagged ads, highest score first, each flag with its evidence highlighted."""
    page = page_number(request)
    attachment = _guard(principal, state, "screening", page=page)
    counts = None
    items: list[dict[str, Any]] = []
    total = 0
    if attachment is not None:
        catalogue = load_catalogue()
        with open_attached(attachment) as workspace:
            counts = _counts(workspace)
            if counts is not None:
                engine = workspace.engine
                total = int(
                    engine.scalar("SELECT count(*) FROM ad_scores WHERE score >= ?", [minimum]) or 0
                )
                ads = engine.records(
                    "SELECT a.ad_key, a.id, a.title, a.body, a.location, a.site, a.posted_at,"
                    " s.score, n.network_id FROM ad_scores s JOIN ads a USING (ad_key)"
                    " LEFT JOIN ad_networks n USING (ad_key) WHERE s.score >= ?"
                    " ORDER BY s.score DESC, a.ad_key LIMIT ? OFFSET ?",
                    [minimum, ADS_PER_PAGE, (page - 1) * ADS_PER_PAGE],
                )
                decided = decisions.flag_decisions(engine)
                flags = engine.records(
                    "SELECT ad_key, code, weight, evidence, decision FROM ad_flags"
                    " WHERE list_contains(?, ad_key) ORDER BY weight DESC",
                    [[a["ad_key"] for a in ads]],
                )
                for ad in ads:
                    spans: dict[str, list[tuple[int, int, str]]] = {"title": [], "body": []}
                    ad_flags = []
                    for flag in (f for f in flags if f["ad_key"] == ad["ad_key"]):
                        indicator = catalogue.get(flag["code"])
                        evidence = json.loads(flag["evidence"])
                        for item in evidence:
                            if item["field"] in spans:
                                spans[item["field"]].append(
                                    (item["start"], item["end"], flag["code"])
                                )
                        ad_flags.append(
                            {
                                "code": flag["code"],
                                "weight": flag["weight"],
                                "description": indicator.description if indicator else "",
                                "evidence": [e.get("text", "") for e in evidence],
                                "decision": decided.get((ad["ad_key"], flag["code"])),
                            }
                        )
                    items.append(
                        {
                            **ad,
                            "title_html": highlight(ad["title"] or "", spans["title"]),
                            "body_html": highlight(ad["body"] or "", spans["body"]),
                            "flags": ad_flags,
                        }
                    )
    pages = max(1, -(-total // ADS_PER_PAGE))
    return _page(
        request,
        "ads.html",
        "Ads: screening",
        tab="screening",
        attachment=attachment,
        counts=counts,
        items=items,
        page=min(page, pages),
        pages=pages,
        total=total,
        minimum=minimum,
    )


@router.get("/ads/clusters")
def clusters(request: Request, principal: PagePrincipal, state: State) -> Response:
    """Near-duplicate template clusters: the shared text with its varying slots."""
    attachment = _guard(principal, state, "clusters")
    counts = None
    rows: list[dict[str, Any]] = []
    if attachment is not None:
        with open_attached(attachment) as workspace:
            counts = _counts(workspace)
            if counts is not None:
                rows = workspace.engine.records(
                    "SELECT cluster_id, size, template, slots FROM ad_cluster_summaries"
                    " ORDER BY size DESC, cluster_id"
                )
                decided = {
                    d.target: d.decision for d in decisions.active(workspace.engine, "cluster")
                }
                for row in rows:
                    row["slots"] = json.loads(row["slots"]) if row["slots"] else []
                    row["decision"] = decided.get(row["cluster_id"])
    table = paged(
        request,
        "clusters",
        "Template clusters, largest first",
        (),
        rows,
        empty="No clusters yet: run 'ctip ads cluster' in the workspace.",
        per_page=10,
    )
    return _page(
        request,
        "ads_clusters.html",
        "Ads: clusters",
        tab="clusters",
        attachment=attachment,
        counts=counts,
        table=table,
    )


def _span(row: dict[str, Any]) -> str:
    if row["first_seen"] is None or row["last_seen"] is None:
        return ""
    return f"{row['first_seen']:%Y-%m-%d} – {row['last_seen']:%Y-%m-%d}"


@router.get("/ads/networks")
def networks(
    request: Request,
    principal: PagePrincipal,
    state: State,
    network: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Networks of ads linked by shared identifiers and templates, and the graph."""
    attachment = _guard(principal, state, "networks", network=network or "")
    counts = None
    rows: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    if attachment is not None:
        with open_attached(attachment) as workspace:
            counts = _counts(workspace)
            if counts is not None:
                rows = network_summaries(workspace.engine, min_size=2)
                if network:
                    decided = decisions.link_decisions(workspace.engine)
                    links = workspace.engine.records(
                        "SELECT kind, value, ads FROM ad_network_links"
                        " WHERE network_id = ? ORDER BY kind, ads DESC, value",
                        [network],
                    )
                    for link in links:
                        link["decision"] = decided.get(f"{link['kind']}:{link['value']}")
    for row in rows:
        cities = row["cities"]
        row["cities"] = ", ".join(cities[:3]) + (f" +{len(cities) - 3}" if len(cities) > 3 else "")
        row["span"] = _span(row)
        for kind in ("phones", "emails", "handles", "wallets"):
            row[kind] = len(row[kind])
        row["top"] = ", ".join(
            f"{code} {n}" for code, n in sorted(row["indicators"].items(), key=lambda i: -i[1])[:3]
        )
    if wants_csv(request, "networks"):
        return csv_response(NETWORK_COLUMNS, rows, "networks.csv")
    chosen = next((r for r in rows if r["network"] == network), None) if network else None
    return _page(
        request,
        "ads_networks.html",
        "Ads: networks",
        tab="networks",
        attachment=attachment,
        counts=counts,
        table=paged(
            request,
            "networks",
            "Networks of two or more ads, largest first",
            NETWORK_COLUMNS,
            rows,
            empty="No networks yet: run 'ctip ads networks' in the workspace.",
        ),
        network=network,
        chosen=chosen,
        links=links,
    )


@router.get("/ads/graph.json")
def graph(
    principal: PagePrincipal,
    state: State,
    network: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Positions, kinds and labels of the graph's nodes, and its edges (for the canvas)."""
    attachment = _guard(principal, state, "graph", network=network or "")
    if attachment is None:
        return JSONResponse({"error": "no workspace attached"}, status_code=404)
    with open_attached(attachment) as workspace:
        if not has_table(workspace, "ad_networks"):
            return JSONResponse({"error": "no networks"}, status_code=404)
        payload = graph_payload(workspace, attachment.version(), network or None)
    return JSONResponse(payload, headers={"Cache-Control": "no-store"})


@router.post("/ads/decide")
def decide(form: Form, principal: FormPrincipal, state: State) -> Response:
    """Store a confirm/reject decision on a flag, a cluster or a link; audited in the hub."""
    require_page(principal, "cases:read-personal")
    require_page(principal, "cases:write")
    attachment = attachment_for(state.hub, principal.agency_id)
    if attachment is None:
        return RedirectResponse("/ads", status_code=303)
    kind, target, decision = (
        text(form, "kind", 20),
        text(form, "target", 500),
        text(form, "decision", 20),
    )
    with open_attached(attachment, write=True) as workspace:
        stored = decisions.record(
            workspace.engine,
            kind,
            target,
            decision,
            analyst=principal.email,
            note=text(form, "note", 1000) or None,
        )
    state.hub.batcher.append(
        entry(
            principal,
            "ads.decision",
            kind,
            target[:200],
            decision=decision,
            decision_id=stored["decision_id"],
        )
    )
    back = safe_next(text(form, "back", 500) or "/ads")
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}notice=decision-saved", status_code=303)

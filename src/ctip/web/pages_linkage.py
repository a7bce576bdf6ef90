"""Linkage: privacy-preserving record linkage between agencies (requests and answers) and the
agency's own entity-resolution runs and public releases from its workspace.

The linkage questions the agency asked the hub, with their answers (which agency holds a
similar record and how to reach it), come from ``ctip.link.hub.list_requests``: the agency's
own log, shown only to users who may ask. Workspace runs and releases are read with the link
and privacy packages' own functions.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from ctip.hub.cases import entry
from ctip.link.hub import list_requests
from ctip.web.core import PagePrincipal, PageRoute, State, render, require_page
from ctip.web.tables import Column, csv_response, paged, wants_csv
from ctip.web.workspaces import attachment_for, has_table, open_attached

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RUN_COLUMNS = (
    Column("started_at", "Started", "when"),
    Column("input_kind", "Input"),
    Column("engine", "Engine"),
    Column("threshold", "Threshold", numeric=True),
    Column("records_read", "Records", numeric=True),
    Column("records_linked", "Linked", numeric=True),
    Column("clusters", "People found", numeric=True),
    Column("judgements_applied", "Judgements applied", numeric=True),
)
RELEASE_COLUMNS = (
    Column("created_at", "Made", "when"),
    Column("kind", "Kind"),
    Column("records_in", "Records in", numeric=True),
    Column("records_out", "Records out", numeric=True),
    Column("protection", "Protection"),
    Column("created_by", "By"),
)


def _protection(parameters: Any) -> str:
    try:
        values = json.loads(parameters) if isinstance(parameters, str) else dict(parameters or {})
    except (TypeError, ValueError):
        return ""
    return ", ".join(f"{k}={v}" for k, v in values.items() if k in ("k", "epsilon", "quasi"))[:200]


@router.get("/linkage")
def linkage(request: Request, principal: PagePrincipal, state: State) -> Response:
    """PPRL requests and answers, entity-resolution runs, and releases."""
    require_page(principal, "cases:read")
    requests = list_requests(state.hub, principal)
    state.hub.batcher.append(
        entry(principal, "web.linkage.view", "pprl", "", requests=len(requests))
    )
    attachment = attachment_for(state.hub, principal.agency_id)
    runs: list[dict[str, Any]] = []
    releases: list[dict[str, Any]] = []
    review = 0
    if attachment is not None:
        with open_attached(attachment) as workspace:
            if has_table(workspace, "link_runs"):
                from ctip.link.store import list_runs

                runs = list_runs(workspace.engine, limit=200)
                review = int(workspace.engine.scalar("SELECT count(*) FROM link_review") or 0)
            if has_table(workspace, "releases"):
                from ctip.privacy.release import list_releases

                releases = list_releases(workspace.engine)
    for release in releases:
        release["protection"] = _protection(release.get("parameters"))
    if wants_csv(request, "link-runs"):
        return csv_response(RUN_COLUMNS, runs, "link-runs.csv")
    if wants_csv(request, "releases"):
        return csv_response(RELEASE_COLUMNS, releases, "releases.csv")
    return render(
        request,
        "linkage.html",
        title="Linkage",
        requests=requests,
        may_ask=principal.can("pprl:query"),
        attachment=attachment,
        runs=paged(
            request,
            "link-runs",
            "Entity-resolution runs in your workspace",
            RUN_COLUMNS,
            runs,
            empty="No entity-resolution runs yet: run 'ctip link dedupe' in the workspace.",
            param="runs_page",
        ),
        review=review,
        releases=paged(
            request,
            "releases",
            "Public releases made from your workspace",
            RELEASE_COLUMNS,
            releases,
            empty="No releases yet: make one with 'ctip release kanon' or 'ctip release synthetic'.",
            param="releases_page",
        ),
    )

"""Sharing: shares the agency gave and received, requests awaiting its decision, and forms to
offer, request, approve, reject and revoke. Every action is the hub's own sharing function,
audited there; the pages only collect the form and show the result."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ctip.hub import sharing
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
from ctip.web.forms import codes, expiry, field_groups, many, text
from ctip.web.tables import Column, csv_response, paged, wants_csv

router = APIRouter(route_class=PageRoute, include_in_schema=False)
_IDS = re.compile(r"[\s,;]+")
SHARE_COLUMNS = (
    Column("direction", "Direction"),
    Column("other", "Other agency"),
    Column("status", "Status"),
    Column("purpose", "Purpose", "link", "/sharing/{id}"),
    Column("legal_basis", "Legal basis"),
    Column("fields", "Granted personal fields"),
    Column("what", "Records"),
    Column("expires_at", "Until", "when"),
    Column("created_at", "Created", "when"),
)


def _decorate(share: dict[str, Any], agency_id: str, state: WebState) -> dict[str, Any]:
    outgoing = share["owner_agency_id"] == agency_id
    other = share["recipient_agency_id"] if outgoing else share["owner_agency_id"]
    what = (
        f"collection {share['collection']}"
        if share["collection"]
        else f"{len(share['case_ids'])} named record(s)"
    )
    if share.get("records") is not None and share["status"] == "active":
        what += f", {share['records']} copied"
    return {
        **share,
        "direction": "given" if outgoing else "received",
        "outgoing": outgoing,
        "other": state.agency_name(other),
        "fields": ", ".join(share["fields"]) or "none",
        "what": what,
    }


@router.get("/sharing")
def sharing_page(request: Request, principal: PagePrincipal, state: State) -> Response:
    """Requests to decide, shares given and received, and the offer/request forms."""
    require_page(principal, "shares:read")
    shares = [
        _decorate(s, principal.agency_id, state) for s in sharing.list_shares(state.hub, principal)
    ]
    if wants_csv(request, "shares"):
        return csv_response(SHARE_COLUMNS, shares, "shares.csv")
    waiting = [s for s in shares if s["outgoing"] and s["status"] == "requested"]
    return render(
        request,
        "sharing.html",
        title="Sharing",
        waiting=waiting,
        table=paged(
            request,
            "shares",
            "All shares your agency is party to",
            SHARE_COLUMNS,
            shares,
            empty="No shares yet. Offer records below, or ask another agency for records.",
        ),
        can_manage=principal.can("shares:manage"),
        agencies=[a for a in state.agencies(principal.agency_id) if a["id"] != principal.agency_id],
        legal_bases=codes("legal_basis"),
        groups=field_groups(),
    )


@router.get("/sharing/{share_id}")
def share_page(request: Request, share_id: str, principal: PagePrincipal, state: State) -> Response:
    """One share of the agency's (any other id answers 404)."""
    require_page(principal, "shares:read")
    share = _decorate(
        sharing.get_share(state.hub, principal, share_id[:64]), principal.agency_id, state
    )
    return render(
        request,
        "share.html",
        title=f"Share: {share['purpose'][:60]}",
        share=share,
        can_manage=principal.can("shares:manage"),
        groups=field_groups(),
    )


def _terms(form: Any, other_field: str) -> sharing.ShareTerms:
    return sharing.ShareTerms(
        other_agency=text(form, other_field, 200),
        purpose=text(form, "purpose"),
        legal_basis=text(form, "legal_basis", 60),
        expires_at=expiry(form),
        case_ids=[c for value in many(form, "case_ids") for c in _IDS.split(value) if c][:5000],
        collection=text(form, "collection", 200) or None,
        fields=many(form, "fields", 50),
    )


@router.post("/sharing/offer")
def offer(form: Form, principal: FormPrincipal, state: State) -> Response:
    """Share own records now (the hub copies them for the recipient)."""
    share = sharing.offer_share(state.hub, principal, _terms(form, "recipient"))
    back = safe_next(text(form, "back", 300) or f"/sharing/{share['id']}")
    return RedirectResponse(f"{back}?notice=share-offered", status_code=303)


@router.post("/sharing/request")
def request_share(form: Form, principal: FormPrincipal, state: State) -> Response:
    """Ask another agency for records."""
    share = sharing.request_share(state.hub, principal, _terms(form, "owner"))
    return RedirectResponse(f"/sharing/{share['id']}?notice=share-requested", status_code=303)


@router.post("/sharing/{share_id}/approve")
def approve(share_id: str, form: Form, principal: FormPrincipal, state: State) -> Response:
    """Approve a request for own records, granting the fields ticked (at most those asked)."""
    granted = many(form, "fields", 50)
    narrowed = granted if text(form, "narrow", 10) == "yes" else None
    sharing.decide_share(state.hub, principal, share_id[:64], True, narrowed)
    return RedirectResponse(f"/sharing/{share_id[:64]}?notice=share-approved", status_code=303)


@router.post("/sharing/{share_id}/reject")
def reject(share_id: str, principal: FormPrincipal, state: State) -> Response:
    """Refuse a request: nothing is shared."""
    sharing.decide_share(state.hub, principal, share_id[:64], False)
    return RedirectResponse(f"/sharing/{share_id[:64]}?notice=share-rejected", status_code=303)


@router.post("/sharing/{share_id}/revoke")
def revoke(share_id: str, principal: FormPrincipal, state: State) -> Response:
    """End a share now; the recipient's copies are deleted in the same transaction."""
    sharing.revoke_share(state.hub, principal, share_id[:64])
    return RedirectResponse(f"/sharing/{share_id[:64]}?notice=share-revoked", status_code=303)

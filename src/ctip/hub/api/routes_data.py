"""Cases, quarantine, shares, subjects and audit: thin handlers over the hub services."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query

from ctip.hub import cases, listing, protection, sharing
from ctip.hub.api.deps import CurrentPrincipal, HubDep
from ctip.hub.api.schemas import (
    ApproveIn,
    AuditEntryOut,
    BreachRowOut,
    CaseBatchIn,
    CaseOut,
    CasePage,
    EraseOut,
    ImportOut,
    QuarantineOut,
    ShareOfferIn,
    ShareOut,
    ShareRequestIn,
    SubjectAccessOut,
    SubjectEraseIn,
    SubjectEraseOut,
    SubjectIn,
)
from ctip.hub.audit import iter_entries
from ctip.hub.cases import CaseBatch, entry, require
from ctip.hub.database import tenant
from ctip.hub.errors import InvalidError
from ctip.hub.listing import CaseQuery

router = APIRouter(prefix="/api/v1")
Responses = dict[int | str, dict[str, Any]]
AUTH: Responses = {401: {}, 403: {}}
MISSING: Responses = {401: {}, 403: {}, 404: {}}
Text = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/cases",
    operation_id="create_cases",
    tags=["cases"],
    status_code=201,
    responses={**AUTH, 413: {}, 422: {}},
)
def create_cases(body: CaseBatchIn, principal: CurrentPrincipal, hub: HubDep) -> ImportOut:
    """Add case records: checked like ``ctip import``; bad ones quarantined; re-sends ignored."""
    batch = CaseBatch(body.records, body.source, body.legal_basis, body.collection)
    return ImportOut(**cases.create_cases(hub, principal, batch))


@router.get("/cases", operation_id="list_cases", tags=["cases"], responses={**AUTH, 422: {}})
def list_cases(
    principal: CurrentPrincipal,
    hub: HubDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    scope: Literal["own", "shared"] = "own",
    include_personal: bool = False,
    external_id: Text = None,
    collection: Text = None,
    legal_basis: Text = None,
    gender: Text = None,
    year_of_registration: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    country_of_exploitation: Text = None,
    exploitation_type: Text = None,
    citizenship: Text = None,
    identity_number: Text = None,
    email: Text = None,
    phone: Text = None,
) -> CasePage:
    """A page of the agency's own cases (or of those shared with it), newest first."""
    query = CaseQuery(
        limit=limit,
        cursor=cursor,
        scope=scope,
        include_personal=include_personal,
        external_id=external_id,
        collection=collection,
        legal_basis=legal_basis,
        gender=gender,
        year_of_registration=year_of_registration,
        country_of_exploitation=country_of_exploitation,
        exploitation_type=exploitation_type,
        citizenship=citizenship,
        identity_number=identity_number,
        email=email,
        phone=phone,
    )
    return CasePage(**listing.list_cases(hub, principal, query))


@router.get("/cases/{case_id}", operation_id="get_case", tags=["cases"], responses=MISSING)
def get_case(case_id: str, principal: CurrentPrincipal, hub: HubDep) -> CaseOut:
    """One case the agency holds or received; any other id answers 404."""
    return CaseOut(**cases.get_case(hub, principal, case_id))


@router.delete(
    "/cases/{case_id}", operation_id="erase_case", tags=["cases"], responses={**MISSING, 422: {}}
)
def erase_case(
    case_id: str,
    reason: Annotated[str, Query(min_length=1, max_length=500)],
    principal: CurrentPrincipal,
    hub: HubDep,
) -> EraseOut:
    """Erase a record and every shared copy of it; ``reason`` goes to the audit log."""
    return EraseOut(**cases.erase_case(hub, principal, case_id, reason))


@router.get("/quarantine", operation_id="list_quarantine", tags=["cases"], responses=AUTH)
def list_quarantine(
    principal: CurrentPrincipal,
    hub: HubDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantineOut]:
    """Records refused by the checks, with field and reason (raw values stay encrypted)."""
    require(principal, "cases:write")
    with tenant(hub.app, principal.agency_id) as connection:
        rows = (
            connection.execute(
                sa.text(
                    "SELECT id::text AS id, import_id::text AS import_id, source, row_number, errors,"
                    " quarantined_at FROM quarantine WHERE agency_id = :a"
                    " ORDER BY quarantined_at DESC LIMIT :n"
                ),
                {"a": principal.agency_id, "n": limit},
            )
            .mappings()
            .all()
        )
    return [QuarantineOut(**row) for row in rows]


# --- sharing -----------------------------------------------------------------------------------


def _terms(body: ShareOfferIn | ShareRequestIn, other: str) -> sharing.ShareTerms:
    return sharing.ShareTerms(
        other_agency=other,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        expires_at=body.expires_at,
        case_ids=[str(c) for c in body.case_ids],
        collection=body.collection,
        fields=body.fields,
    )


@router.post(
    "/shares",
    operation_id="offer_share",
    tags=["sharing"],
    status_code=201,
    responses={**MISSING, 422: {}},
)
def offer_share(body: ShareOfferIn, principal: CurrentPrincipal, hub: HubDep) -> ShareOut:
    """Share own records with another agency now, for a purpose, a legal basis and a time."""
    return ShareOut(**sharing.offer_share(hub, principal, _terms(body, body.recipient)))


@router.post(
    "/share-requests",
    operation_id="request_share",
    tags=["sharing"],
    status_code=201,
    responses={**MISSING, 422: {}},
)
def request_share(body: ShareRequestIn, principal: CurrentPrincipal, hub: HubDep) -> ShareOut:
    """Ask another agency for records; nothing is visible until it approves."""
    return ShareOut(**sharing.request_share(hub, principal, _terms(body, body.owner)))


@router.get("/shares", operation_id="list_shares", tags=["sharing"], responses=AUTH)
def list_shares(
    principal: CurrentPrincipal,
    hub: HubDep,
    direction: Literal["all", "incoming", "outgoing"] = "all",
    status: Literal["requested", "active", "rejected", "revoked", "expired"] | None = None,
) -> list[ShareOut]:
    """Shares the agency is a party to."""
    found = sharing.list_shares(hub, principal, direction=direction, status=status)
    return [ShareOut(**share) for share in found]


@router.get("/shares/{share_id}", operation_id="get_share", tags=["sharing"], responses=MISSING)
def get_share(share_id: str, principal: CurrentPrincipal, hub: HubDep) -> ShareOut:
    """One share the agency is a party to."""
    return ShareOut(**sharing.get_share(hub, principal, share_id))


@router.post(
    "/shares/{share_id}/approve",
    operation_id="approve_share",
    tags=["sharing"],
    responses={**MISSING, 409: {}, 422: {}},
)
def approve_share(
    share_id: str, body: ApproveIn, principal: CurrentPrincipal, hub: HubDep
) -> ShareOut:
    """Approve a request for own records, optionally granting fewer personal fields."""
    return ShareOut(**sharing.decide_share(hub, principal, share_id, True, body.fields))


@router.post(
    "/shares/{share_id}/reject",
    operation_id="reject_share",
    tags=["sharing"],
    responses={**MISSING, 409: {}},
)
def reject_share(share_id: str, principal: CurrentPrincipal, hub: HubDep) -> ShareOut:
    """Refuse a request for own records."""
    return ShareOut(**sharing.decide_share(hub, principal, share_id, False))


@router.post(
    "/shares/{share_id}/revoke",
    operation_id="revoke_share",
    tags=["sharing"],
    responses={**MISSING, 409: {}},
)
def revoke_share(share_id: str, principal: CurrentPrincipal, hub: HubDep) -> ShareOut:
    """End a share now: the recipient's copies are deleted in the same transaction."""
    return ShareOut(**sharing.revoke_share(hub, principal, share_id))


# --- data subjects -----------------------------------------------------------------------------


@router.post(
    "/subjects/access",
    operation_id="subject_access",
    tags=["data protection"],
    responses={**AUTH, 422: {}},
)
def subject_access(body: SubjectIn, principal: CurrentPrincipal, hub: HubDep) -> SubjectAccessOut:
    """Subject-access export: a person's records, who received them and who read them."""
    found = protection.subject_access(hub, principal, body.model_dump())
    return SubjectAccessOut(**found)


@router.post(
    "/subjects/erase",
    operation_id="subject_erase",
    tags=["data protection"],
    responses={**AUTH, 422: {}},
)
def subject_erase(
    body: SubjectEraseIn, principal: CurrentPrincipal, hub: HubDep
) -> SubjectEraseOut:
    """Erasure on request: every record of the person, with its shared copies."""
    identifiers = body.model_dump(exclude={"reason"})
    return SubjectEraseOut(**protection.subject_erase(hub, principal, identifiers, body.reason))


# --- audit -------------------------------------------------------------------------------------


@router.get(
    "/audit", operation_id="list_audit_entries", tags=["audit"], responses={**AUTH, 422: {}}
)
def list_audit(
    principal: CurrentPrincipal,
    hub: HubDep,
    since: datetime | None = None,
    until: datetime | None = None,
    action: Text = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditEntryOut]:
    """Audit entries by the agency's users or about its records, oldest first."""
    require(principal, "audit:read")
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise InvalidError("give times with a time zone, e.g. 2025-01-01T00:00:00Z")
    with tenant(hub.app, principal.agency_id) as connection:
        found = []
        for item in iter_entries(
            connection,
            since=since,
            until=until,
            agency_id=principal.agency_id,
            actions=[action] if action else None,
        ):
            found.append(AuditEntryOut(**item))
            if len(found) >= limit:
                break
        hub.audit.append(
            connection, [entry(principal, "audit.read", "audit", "", entries=len(found))]
        )
    return found


@router.get(
    "/audit/breach-report",
    operation_id="breach_report",
    tags=["audit"],
    responses={**AUTH, 422: {}},
)
def breach_report(
    principal: CurrentPrincipal, hub: HubDep, since: datetime, until: datetime
) -> list[BreachRowOut]:
    """Who touched which of the agency's records in [since, until)."""
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidError("give times with a time zone, e.g. 2025-01-01T00:00:00Z")
    rows = protection.breach_report_for(hub, principal, since, until)
    return [BreachRowOut(**row) for row in rows]

"""Privacy-preserving record linkage: thin handlers over ``ctip.link.hub``.

An agency deposits encodings (never records), names a contact route, and asks which other
agencies hold a record like one of its own; the answer names agency, contact and similarity.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ctip.hub.api.deps import CurrentPrincipal, HubDep
from ctip.hub.api.schemas import (
    EncodingsIn,
    PprlAnswerOut,
    PprlContactIn,
    PprlContactOut,
    PprlDepositOut,
    PprlDepositsOut,
    PprlQueryIn,
    PprlQuestionOut,
    PprlWithdrawOut,
)
from ctip.hub.cases import require
from ctip.hub.errors import TooManyRequestsError
from ctip.link import hub as pprl_hub

router = APIRouter(prefix="/api/v1/pprl", tags=["linkage"])
Responses = dict[int | str, dict[str, Any]]
AUTH: Responses = {401: {}, 403: {}}
COMPARED_HEADER = "X-CTIP-Agencies-Compared"
QUESTION_HEADER = "X-CTIP-PPRL-Question"


def _checked(body: EncodingsIn) -> pprl_hub.Encodings:
    return pprl_hub.check_encodings(
        body.schema_sha256, body.key_id, [(e.ref, e.clk) for e in body.encodings], body.bits
    )


@router.get("/encodings", operation_id="list_pprl_deposits", responses=AUTH)
def list_deposits(principal: CurrentPrincipal, hub: HubDep) -> PprlDepositsOut:
    """The agency's contact route and deposits (schema, key id, bits, count; no encodings)."""
    return PprlDepositsOut(**pprl_hub.list_deposits(hub, principal))


@router.put(
    "/encodings",
    operation_id="replace_pprl_encodings",
    responses={**AUTH, 409: {}, 413: {}, 422: {}},
)
def replace_encodings(
    body: EncodingsIn, principal: CurrentPrincipal, hub: HubDep
) -> PprlDepositOut:
    """Deposit encodings, replacing the agency's deposit for this schema and key id."""
    return PprlDepositOut(**pprl_hub.deposit(hub, principal, _checked(body), replace=True))


@router.post(
    "/encodings",
    operation_id="add_pprl_encodings",
    responses={**AUTH, 409: {}, 413: {}, 422: {}},
)
def add_encodings(body: EncodingsIn, principal: CurrentPrincipal, hub: HubDep) -> PprlDepositOut:
    """Add encodings to the deposit for this schema and key id (a deposit too large for one
    request: PUT the first part, POST the rest)."""
    return PprlDepositOut(**pprl_hub.deposit(hub, principal, _checked(body), replace=False))


@router.delete("/encodings", operation_id="withdraw_pprl_encodings", responses={**AUTH, 422: {}})
def withdraw_encodings(
    principal: CurrentPrincipal,
    hub: HubDep,
    schema_sha256: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    key_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{8,64}$")] = None,
) -> PprlWithdrawOut:
    """Withdraw the agency's encodings: all, or one schema's and/or key id's."""
    return PprlWithdrawOut(**pprl_hub.withdraw(hub, principal, schema_sha256, key_id))


@router.put("/contact", operation_id="set_pprl_contact", responses={**AUTH, 422: {}})
def set_contact(body: PprlContactIn, principal: CurrentPrincipal, hub: HubDep) -> PprlContactOut:
    """Set how other agencies reach this one about a match (given to them in answers)."""
    return PprlContactOut(**pprl_hub.set_contact(hub, principal, body.contact))


@router.post(
    "/query",
    operation_id="ask_pprl",
    responses={**AUTH, 409: {}, 413: {}, 422: {}, 429: {}},
)
def ask(
    body: PprlQueryIn,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    hub: HubDep,
) -> list[PprlAnswerOut]:
    """Does any other agency hold a record like these? Per queried reference: agency, contact
    route and similarity, never the record. Headers give the question's id and how many
    agencies were compared."""
    require(principal, "pprl:query")  # before the limiter: others must not spend the quota
    wait = request.app.state.pprl_limiter.hit(principal.agency_id)
    if wait > 0:
        raise TooManyRequestsError(
            "too many linkage questions from your agency; wait a minute", retry_after=int(wait) + 1
        )
    result = pprl_hub.ask(hub, principal, _checked(body), body.threshold)
    response.headers[QUESTION_HEADER] = result["id"]
    response.headers[COMPARED_HEADER] = str(result["agencies_compared"])
    return [PprlAnswerOut(**answer) for answer in result["answers"]]


@router.get("/queries", operation_id="list_pprl_queries", responses=AUTH)
def list_queries(
    principal: CurrentPrincipal,
    hub: HubDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[PprlQuestionOut]:
    """The agency's own linkage questions and their answers, newest first."""
    return [PprlQuestionOut(**q) for q in pprl_hub.list_queries(hub, principal, limit)]

"""Who is calling: bearer API tokens for programs, session cookies (plus CSRF) for browsers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from ctip.hub.auth import authenticate_session, authenticate_token, csrf_ok
from ctip.hub.errors import ForbiddenError, TooManyRequestsError, UnauthorizedError
from ctip.hub.permissions import Principal
from ctip.hub.runtime import Hub

SESSION_COOKIE = "ctip_session"
CSRF_COOKIE = "ctip_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(auto_error=False, description="A personal API token (ctip hub token create)")
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Browser session (POST /api/v1/auth/login)"
)


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Principal:
    hub = get_hub(request)
    client = client_address(request)
    if request.headers.get("authorization") is not None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise UnauthorizedError("use 'Authorization: Bearer <token>'")
        principal = authenticate_token(hub, credentials.credentials, client)
    elif cookie:
        principal = authenticate_session(hub, cookie, client)
        if request.method not in SAFE_METHODS and not csrf_ok(
            principal, request.headers.get(CSRF_HEADER)
        ):
            raise ForbiddenError("missing or wrong CSRF token (send the X-CSRF-Token header)")
    else:
        raise UnauthorizedError("authenticate with a bearer token or a session cookie")
    wait = request.app.state.api_limiter.take(principal.credential_id)
    if wait > 0:
        raise TooManyRequestsError(
            "slow down: too many requests", retry_after=max(1, int(wait) + 1)
        )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
HubDep = Annotated[Hub, Depends(get_hub)]

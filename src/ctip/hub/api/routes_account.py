"""Health, login and logout, the caller's own account, TOTP, API tokens, agencies, users."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response

from ctip import __version__
from ctip.hub import auth
from ctip.hub.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentPrincipal,
    HubDep,
    client_address,
)
from ctip.hub.api.schemas import (
    AgencyOut,
    HealthOut,
    LoginIn,
    LoginOut,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    TotpConfirmIn,
    TotpStartOut,
    UserOut,
)
from ctip.hub.cases import entry, is_uuid, require
from ctip.hub.database import tenant
from ctip.hub.errors import InvalidError, NotFoundError, TooManyRequestsError
from ctip.hub.permissions import Principal

router = APIRouter(prefix="/api/v1")


def _user(principal: Principal) -> UserOut:
    return UserOut(
        id=principal.user_id,
        agency_id=principal.agency_id,
        email=principal.email,
        role=principal.role,
        permissions=sorted(principal.permissions),
        via=principal.via,
    )


@router.get("/health", operation_id="health", tags=["service"])
def health(hub: HubDep) -> HealthOut:
    """Liveness and database reachability; needs no credentials."""
    with hub.app.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    return HealthOut(status="ok", version=__version__)


@router.post("/auth/login", operation_id="login", tags=["auth"], responses={401: {}, 429: {}})
def login(body: LoginIn, request: Request, response: Response, hub: HubDep) -> LoginOut:
    """Start a browser session: sets an HttpOnly session cookie and returns the CSRF token."""
    client = client_address(request)
    wait = request.app.state.login_limiter.hit(client)
    if wait > 0:
        raise TooManyRequestsError(
            "too many login attempts from this address", retry_after=int(wait) + 1
        )
    result = auth.login(hub, body.email, body.password, body.totp, client)
    secure = hub.settings.cookie_secure
    lifetime = int(hub.settings.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=lifetime,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        result.csrf_token,
        max_age=lifetime,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )
    request.state.principal = result.principal
    return LoginOut(
        user=_user(result.principal), csrf_token=result.csrf_token, expires_at=result.expires_at
    )


@router.post(
    "/auth/logout",
    operation_id="logout",
    tags=["auth"],
    status_code=204,
    responses={401: {}, 403: {}},
)
def logout(principal: CurrentPrincipal, response: Response, hub: HubDep) -> None:
    """End the current browser session (bearer tokens are revoked with DELETE /tokens/{id})."""
    if principal.via == "session":
        auth.logout(hub, principal)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/me", operation_id="get_me", tags=["auth"], responses={401: {}})
def me(principal: CurrentPrincipal) -> UserOut:
    """The caller: user, agency, role and effective permissions."""
    return _user(principal)


@router.post("/me/totp", operation_id="start_totp", tags=["auth"], responses={401: {}})
def start_totp(principal: CurrentPrincipal, hub: HubDep) -> TotpStartOut:
    """Create a TOTP secret for the caller; it is required once confirmed."""
    return TotpStartOut(**auth.start_totp(hub, principal))


@router.post(
    "/me/totp/confirm",
    operation_id="confirm_totp",
    tags=["auth"],
    status_code=204,
    responses={401: {}, 422: {}},
)
def confirm_totp(body: TotpConfirmIn, principal: CurrentPrincipal, hub: HubDep) -> None:
    """Turn TOTP on by proving the authenticator app holds the secret."""
    auth.confirm_totp(hub, principal, body.code)


@router.get("/tokens", operation_id="list_tokens", tags=["auth"], responses={401: {}})
def list_tokens(principal: CurrentPrincipal, hub: HubDep) -> list[TokenOut]:
    """The caller's API tokens (never their secrets)."""
    with tenant(hub.app, principal.agency_id) as connection:
        rows = (
            connection.execute(
                sa.text(
                    "SELECT id::text AS id, name, prefix, scopes, created_at, expires_at, revoked_at,"
                    " last_used_at FROM api_tokens WHERE agency_id = :a AND user_id = :u"
                    " ORDER BY created_at DESC"
                ),
                {"a": principal.agency_id, "u": principal.user_id},
            )
            .mappings()
            .all()
        )
    return [TokenOut(**row) for row in rows]


@router.post(
    "/tokens",
    operation_id="create_token",
    tags=["auth"],
    status_code=201,
    responses={401: {}, 422: {}},
)
def create_token(body: TokenIn, principal: CurrentPrincipal, hub: HubDep) -> TokenCreatedOut:
    """A new API token for the caller, no broader than the caller's own permissions."""
    lifetime = auth.parse_duration(body.expires)
    scopes = body.scopes if body.scopes is not None else sorted(principal.permissions)
    user = {"id": principal.user_id, "agency_id": principal.agency_id, "role": principal.role}
    with tenant(hub.app, principal.agency_id) as connection:
        for scope in scopes:
            if scope not in principal.permissions:
                auth.check_scopes(principal.role, [scope])
                raise InvalidError(f"this credential does not hold {scope}")
        secret, record = auth.create_token(
            hub, connection, user=user, scopes=scopes, lifetime=lifetime, name=body.name
        )
        hub.audit.append(
            connection,
            [entry(principal, "token.create", "token", str(record["id"]), scopes=record["scopes"])],
        )
    return TokenCreatedOut(token=secret, **{**record, "id": str(record["id"])})


@router.delete(
    "/tokens/{token_id}",
    operation_id="revoke_token",
    tags=["auth"],
    status_code=204,
    responses={401: {}, 404: {}},
)
def revoke_token(token_id: str, principal: CurrentPrincipal, hub: HubDep) -> None:
    """Revoke one of the caller's tokens (an admin: any token of the agency); immediate."""
    if not is_uuid(token_id):
        raise NotFoundError("no such token")
    params: dict[str, Any] = {
        "i": token_id[:64],
        "u": principal.user_id,
        "a": principal.agency_id,
        "admin": principal.can("users:manage"),
    }
    with tenant(hub.app, principal.agency_id) as connection:
        row = connection.execute(
            sa.text(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
                " WHERE id::text = :i AND agency_id = :a AND (user_id = :u OR :admin)"
                " RETURNING id"
            ),
            params,
        ).first()
        if row is None:
            raise NotFoundError("no such token")
        hub.audit.append(connection, [entry(principal, "token.revoke", "token", token_id)])


@router.get("/agencies", operation_id="list_agencies", tags=["agencies"], responses={401: {}})
def list_agencies(principal: CurrentPrincipal, hub: HubDep) -> list[AgencyOut]:
    """Every agency on the hub (names and ids only), to address shares and requests."""
    with tenant(hub.app, principal.agency_id) as connection:
        rows = (
            connection.execute(sa.text("SELECT id::text AS id, name FROM agencies ORDER BY name"))
            .mappings()
            .all()
        )
    return [AgencyOut(**row) for row in rows]


@router.get("/users", operation_id="list_users", tags=["agencies"], responses={401: {}, 403: {}})
def list_users(principal: CurrentPrincipal, hub: HubDep) -> list[dict[str, Any]]:
    """Users of the caller's agency (admins only)."""
    require(principal, "users:manage")
    with tenant(hub.app, principal.agency_id) as connection:
        rows = (
            connection.execute(
                sa.text(
                    "SELECT id::text AS id, email, role, disabled, totp_enabled, locked_until,"
                    " created_at FROM users WHERE agency_id = :a ORDER BY email"
                ),
                {"a": principal.agency_id},
            )
            .mappings()
            .all()
        )
    return [dict(row) for row in rows]

"""Sign-in, sign-out, the start page and job progress."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ctip.hub import auth
from ctip.hub.api.deps import CSRF_COOKIE, SESSION_COOKIE, client_address
from ctip.hub.errors import TooManyRequestsError, UnauthorizedError
from ctip.web.core import (
    Form,
    FormPrincipal,
    PagePrincipal,
    PageRoute,
    SignInRequiredError,
    State,
    home_for,
    page_principal,
    render,
    safe_next,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LOGIN_COOKIE = "ctip_login"  # double-submit token against login CSRF (before any session)


def _login_page(
    request: Request, next_path: str, *, error: str = "", status: int = 200, email: str = ""
) -> Response:
    token = secrets.token_urlsafe(24)
    expired = request.query_params.get("expired") == "1"
    signed_out = request.query_params.get("signed_out") == "1"
    response = render(
        request,
        "login.html",
        status=status,
        title="Sign in",
        next_path=next_path,
        login_token=token,
        error=error,
        email=email,
        expired=expired,
        signed_out=signed_out,
    )
    state = request.app.state.web
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=state.hub.settings.cookie_secure,
        samesite="strict",
        path="/login",
    )
    return response


@router.get("/login")
def login_form(
    request: Request,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    try:
        principal = page_principal(request)
    except SignInRequiredError:
        return _login_page(request, safe_next(next_path))
    target = safe_next(next_path) if next_path else home_for(principal)
    return RedirectResponse(target, status_code=303)


@router.post("/login")
def login(request: Request, form: Form, state: State) -> Response:
    """Check the credentials with the hub, start a session, and go where the user was headed."""
    next_path = safe_next(str(form.get("next") or "/"))
    email = str(form.get("email") or "")[:254]
    password = str(form.get("password") or "")[:1000]
    code = str(form.get("totp") or "").strip()[:12] or None
    sent = str(form.get("login_token") or "")
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not cookie or not hmac.compare_digest(sent, cookie):
        return _login_page(
            request,
            next_path,
            error="The sign-in form had expired. It has been reloaded: please sign in again.",
            status=400,
            email=email,
        )
    client = client_address(request)
    wait = request.app.state.login_limiter.hit(client)
    if wait > 0:
        raise TooManyRequestsError(
            "too many sign-in attempts from this address", retry_after=int(wait) + 1
        )
    if not email or not password:
        return _login_page(
            request, next_path, error="Enter your email and password.", status=400, email=email
        )
    try:
        result = auth.login(state.hub, email, password, code, client)
    except UnauthorizedError:
        return _login_page(
            request,
            next_path,
            error="Sign-in failed: wrong email, password or code, or the account is locked"
            " for a while after too many failures. Check them and try again; your admin can"
            " unlock the account.",
            status=401,
            email=email,
        )
    request.state.principal = result.principal
    target = next_path if next_path != "/" else home_for(result.principal)
    response = RedirectResponse(target, status_code=303)
    secure = state.hub.settings.cookie_secure
    lifetime = int(state.hub.settings.session_hours * 3600)
    for name, value, http_only in (
        (SESSION_COOKIE, result.session_token, True),
        (CSRF_COOKIE, result.csrf_token, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=lifetime,
            httponly=http_only,
            secure=secure,
            samesite="strict",
            path="/",
        )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(principal: FormPrincipal, state: State) -> Response:
    """End the session in the hub (audited) and forget the cookies."""
    auth.logout(state.hub, principal)
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/")
def start(principal: PagePrincipal) -> Response:
    """The first page the role may see."""
    return RedirectResponse(home_for(principal), status_code=303)


@router.get("/account")
def account(request: Request, principal: PagePrincipal) -> Response:
    """Who is signed in and what the role allows (the page of roles with no data pages)."""
    return render(
        request, "account.html", title="Your account", permissions=sorted(principal.permissions)
    )


@router.get("/jobs/{job_id}")
def job_status(job_id: str, principal: PagePrincipal, state: State) -> Response:
    """Progress of a background job of the caller's agency, as JSON for the page's script."""
    job = state.jobs.get(job_id[:40], principal.agency_id)
    return JSONResponse(job.public(), headers={"Cache-Control": "no-store"})

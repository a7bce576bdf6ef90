"""The dashboard's plumbing: who is signed in, rendering, errors as pages, CSRF on forms.

Pages use the hub's own browser sessions (the ``ctip_session`` cookie set at sign-in, checked by
``ctip.hub.auth.authenticate_session``) and its roles; a page that needs a permission the role
lacks answers 403, a record of another agency 404, exactly like the API. Every form carries
the session's CSRF token (the ``ctip_csrf`` cookie's value, written into the page), checked
against the hash the hub stored at sign-in. Errors become pages that say what happened and
what to try; an expired session leads back to the sign-in page and then to where the user was.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData

from ctip import __version__
from ctip.errors import CtipError, NotFoundError
from ctip.hub.api.deps import CSRF_COOKIE, SESSION_COOKIE, client_address
from ctip.hub.auth import authenticate_session, csrf_ok
from ctip.hub.database import tenant
from ctip.hub.errors import ForbiddenError, HubError, TooManyRequestsError, UnauthorizedError
from ctip.hub.permissions import Principal
from ctip.hub.runtime import Hub
from ctip.web.data import DatasetCache
from ctip.web.jobs import JobRunner
from ctip.web.workspaces import WorkspaceBusyError

log = logging.getLogger("ctip.web")

# Scripts, styles and images from this server only. Style *attributes* are allowed because the
# shared SVG chart code colours legend swatches with them; no inline <script> or <style>.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none';"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
ROLE_HOME = (
    "/overview",
    "/sharing",
    "/audit",
)


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    permission: str


NAV: tuple[NavItem, ...] = (
    NavItem("/overview", "Overview", "cases:read"),
    NavItem("/trends", "Trends", "cases:read"),
    NavItem("/routes", "Routes", "cases:read"),
    NavItem("/map", "Map", "cases:read"),
    NavItem("/ads", "Ads", "cases:read-personal"),
    NavItem("/cases", "Cases", "cases:read"),
    NavItem("/sharing", "Sharing", "shares:read"),
    NavItem("/linkage", "Linkage", "cases:read"),
    NavItem("/audit", "Audit", "audit:read"),
    NavItem("/admin", "Admin", "users:manage"),
)

NOTICES: dict[str, str] = {
    "signed-in": "Signed in.",
    "share-offered": "Shared: the other agency can now see these records (granted fields only).",
    "share-requested": "Request sent: nothing is shared until the other agency approves it.",
    "share-approved": "Approved: the records are now shared with the requesting agency.",
    "share-rejected": "Request rejected: nothing was shared.",
    "share-revoked": "Share revoked: the other agency's copies were deleted.",
    "decision-saved": "Decision saved: later runs of ctip ads will respect it.",
    "token-created": "Token created.",
    "token-revoked": "Token revoked: it stops working at once.",
}


class SignInRequiredError(Exception):
    """No valid session: the page answers with a redirect to the sign-in page."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("sign in")
        self.expired = expired


@dataclass
class WebState:
    """What every page shares: the hub, the per-agency case datasets, background jobs."""

    hub: Hub
    datasets: DatasetCache
    jobs: JobRunner
    agency_names: dict[str, str] = field(default_factory=dict)

    def agency_name(self, agency_id: str) -> str:
        name = self.agency_names.get(agency_id)
        if name is None:
            with tenant(self.hub.app, agency_id) as connection:
                rows = connection.execute(sa.text("SELECT id::text, name FROM agencies")).all()
            self.agency_names.update({str(r[0]): str(r[1]) for r in rows})
            name = self.agency_names.get(agency_id, "unknown agency")
        return name

    def agencies(self, agency_id: str) -> list[dict[str, str]]:
        with tenant(self.hub.app, agency_id) as connection:
            rows = connection.execute(
                sa.text("SELECT id::text AS id, name FROM agencies ORDER BY name")
            ).mappings()
            return [dict(r) for r in rows]


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


@cache
def _static_versions() -> dict[str, str]:
    """Content hashes of the static files, so their URLs change when they do."""
    versions: dict[str, str] = {}
    for entry in (resources.files("ctip.web") / "static").iterdir():
        if entry.is_file():
            versions[entry.name] = hashlib.sha256(entry.read_bytes()).hexdigest()[:10]
    return versions


def static_url(name: str) -> str:
    return f"/static/{name}?v={_static_versions().get(name, __version__)}"


@cache
def templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("ctip.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static_url"] = static_url
    environment.filters["number"] = _number
    environment.filters["when"] = _when
    return environment


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value)


def _when(value: Any) -> str:
    if value is None:
        return ""
    text = (
        value.isoformat(sep=" ", timespec="seconds") if hasattr(value, "isoformat") else str(value)
    )
    return text.replace("+00:00", " UTC")


def render(
    request: Request, template: str, *, status: int = 200, title: str = "", **context: Any
) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    state = web_state(request)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    values = {
        "request": request,
        "principal": principal,
        "agency": state.agency_name(principal.agency_id) if principal else "",
        "nav": [n for n in NAV if principal is not None and principal.can(n.permission)],
        "path": request.url.path,
        "csrf_token": request.cookies.get(CSRF_COOKIE, ""),
        "notice": notice,
        "title": title,
        "version": __version__,
        **context,
    }
    html = templates().get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def page_principal(request: Request) -> Principal:
    """The signed-in user of this browser (cookie session only: pages take no API tokens)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInRequiredError()
    state = web_state(request)
    try:
        principal = authenticate_session(state.hub, cookie, client_address(request))
    except UnauthorizedError as error:
        raise SignInRequiredError(expired=True) from error
    wait = request.app.state.api_limiter.take(principal.credential_id)
    if wait > 0:
        raise TooManyRequestsError("slow down: too many requests", retry_after=int(wait) + 1)
    request.state.principal = principal
    return principal


async def posted_form(request: Request) -> FormData:
    return await request.form()


def form_principal(request: Request, form: Annotated[FormData, Depends(posted_form)]) -> Principal:
    """The signed-in user of a form post, after checking the form's CSRF token."""
    principal = page_principal(request)
    token = form.get("csrf_token")
    if not csrf_ok(principal, token if isinstance(token, str) else None):
        raise ForbiddenError(
            "this form is out of date or did not come from this site (CSRF check failed)",
            hint="reload the page and send the form again",
        )
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]
FormPrincipal = Annotated[Principal, Depends(form_principal)]
Form = Annotated[FormData, Depends(posted_form)]
State = Annotated[WebState, Depends(web_state)]


def require_page(principal: Principal, permission: str) -> None:
    if not principal.can(permission):
        raise ForbiddenError(
            f"your role ({principal.role}) does not allow this page ({permission})",
            hint="ask your agency's admin if you need it",
        )


def home_for(principal: Principal) -> str:
    for item in NAV:
        if principal.can(item.permission):
            return item.path
    return "/account"


def safe_next(target: str | None) -> str:
    """Only paths on this site (no scheme, no //host) may follow the sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _what_to_try(status: int) -> str:
    return {
        400: "check the values you entered and send the form again",
        403: "ask your agency's admin for the role you need",
        404: "it may have been removed, or it was never shared with your agency; go back to the list",
        409: "reload the page: someone else may have acted on it already",
        413: "send less at once",
        422: "check the values you entered and send the form again",
        429: "wait a moment and try again",
        503: "try again in a moment",
    }.get(status, "try again; if it keeps happening, tell your hub operator")


def error_page(request: Request, status: int, title: str, detail: str, hint: str = "") -> Response:
    return render(
        request,
        "error.html",
        status=status,
        title=title,
        error_title=title,
        detail=detail,
        hint=hint or _what_to_try(status),
    )


class PageRoute(APIRoute):
    """A route whose errors are HTML pages, with the page security headers on every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except SignInRequiredError as error:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                query = f"next={quote(target)}" + ("&expired=1" if error.expired else "")
                response = RedirectResponse(f"/login?{query}", status_code=303)
            except RequestValidationError as error:
                fields = ", ".join(
                    str(e.get("loc", ["?"])[-1]) + ": " + str(e.get("msg", ""))
                    for e in error.errors()
                )
                response = error_page(request, 422, "Some values were not accepted", fields)
            except WorkspaceBusyError as error:
                response = error_page(
                    request, 503, "Workspace busy", error.message, error.hint or ""
                )
            except HubError as error:
                response = error_page(
                    request, error.status, error.title, error.message, error.hint or ""
                )
                if isinstance(error, TooManyRequestsError):
                    response.headers["Retry-After"] = str(error.retry_after)
            except CtipError as error:
                status = 404 if isinstance(error, NotFoundError) else 400
                response = error_page(
                    request, status, "That did not work", error.message, error.hint or ""
                )
            except HTTPException as error:
                response = error_page(
                    request, error.status_code, "That did not work", str(error.detail)
                )
            except Exception:
                log.exception("page %s failed", self.path)
                response = error_page(
                    request,
                    500,
                    "Something went wrong on the server",
                    "The error was logged for the hub operator; no data was changed by this"
                    " page view.",
                )
            response.headers["Content-Security-Policy"] = PAGE_CSP
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return handler

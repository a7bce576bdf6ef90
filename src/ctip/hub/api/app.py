"""``create_app(settings)``: the hub's FastAPI application.

Other capabilities add to the same app (the dashboard mounts its pages here): pass
``extensions`` (callables ``(app, hub) -> None``), or define ``register_web(app, hub)`` in a
capability module, which ``ctip serve`` calls for every installed capability. They can reuse
``ctip.hub.api.deps.current_principal`` for authentication (session cookie + CSRF).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ctip import __version__
from ctip.hub.api import routes_account, routes_data, routes_pprl
from ctip.hub.api.deps import CSRF_HEADER
from ctip.hub.api.middleware import BodyLimit, SecurityHeaders
from ctip.hub.api.problems import EXCEPTION_HANDLERS
from ctip.hub.ratelimit import SlidingWindow, TokenBuckets
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings

Extension = Callable[[FastAPI, Hub], None]

DESCRIPTION = """The CTIP multi-agency hub: agencies share case records on a need-to-know basis.

Authenticate with a personal API token (`Authorization: Bearer ctip_...`, from
`ctip hub token create`) or, in a browser, with `POST /api/v1/auth/login` (session cookie; send
the returned CSRF token as `X-CSRF-Token` on every state-changing request). Errors are RFC 9457
problem details (`application/problem+json`). A record not shared with your agency answers 404.

Privacy-preserving record linkage (`/api/v1/pprl/...`): deposit Bloom-filter encodings made with
`ctip pprl encode`, and ask which other agencies hold a similar record; answers name the agency
and its contact route, never the record.
"""


def create_app(
    settings: HubSettings | None = None,
    *,
    hub: Hub | None = None,
    extensions: Sequence[Extension] = (),
) -> FastAPI:
    """Build the app; opens the hub (database, keys) unless one is passed in."""
    settings = settings or (hub.settings if hub is not None else HubSettings())
    owned = hub is None
    running = hub if hub is not None else Hub.open(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        running.batcher.close()
        if owned:
            running.close()

    app = FastAPI(
        title="CTIP hub",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.hub = running
    app.state.login_limiter = SlidingWindow(settings.login_attempts_per_minute, 60.0)
    app.state.api_limiter = TokenBuckets(settings.api_requests_per_second, settings.api_burst)
    app.state.pprl_limiter = SlidingWindow(settings.pprl_queries_per_minute, 60.0)
    app.include_router(routes_account.router)
    app.include_router(routes_data.router)
    app.include_router(routes_pprl.router)
    for extend in extensions:
        extend(app, running)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", CSRF_HEADER],
            expose_headers=[routes_pprl.COMPARED_HEADER, routes_pprl.QUESTION_HEADER],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(
        SecurityHeaders, csp=settings.content_security_policy, hsts=settings.cookie_secure
    )
    return app


def served_app(settings: HubSettings | None = None, *, hub: Hub | None = None) -> FastAPI:
    """The app ``ctip serve`` runs: the API plus every capability's ``register_web`` pages."""
    from ctip.capabilities import capability_modules

    extensions = [
        module.register_web for module in capability_modules() if hasattr(module, "register_web")
    ]
    return create_app(settings, hub=hub, extensions=extensions)


def app_from_environment() -> FastAPI:
    """Factory for uvicorn worker processes (``ctip serve --workers N``): settings from CTIP_*."""
    return served_app(HubSettings())

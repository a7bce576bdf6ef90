"""Mount the dashboard on the hub's FastAPI app: pages, static files, shared state."""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ctip.hub.runtime import Hub
from ctip.web.core import WebState
from ctip.web.data import DatasetCache
from ctip.web.jobs import JobRunner


class Static(StaticFiles):
    """The package's own CSS, scripts and icons; URLs carry a content hash, so they cache."""

    async def get_response(self, path: str, scope: Scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def mount(app: FastAPI, hub: Hub) -> None:
    """Add every page router and the static files; state lives in ``app.state.web``."""
    from ctip.web import (
        pages_admin,
        pages_ads,
        pages_analytics,
        pages_audit,
        pages_auth,
        pages_cases,
        pages_linkage,
        pages_map,
        pages_overview,
        pages_sharing,
    )

    state = WebState(hub=hub, datasets=DatasetCache(hub), jobs=JobRunner())
    app.state.web = state
    static = Path(str(resources.files("ctip.web") / "static"))
    app.mount("/static", Static(directory=static), name="static")
    for module in (
        pages_auth,
        pages_overview,
        pages_analytics,
        pages_map,
        pages_ads,
        pages_cases,
        pages_sharing,
        pages_linkage,
        pages_audit,
        pages_admin,
    ):
        app.include_router(module.router)
    previous = app.router.lifespan_context

    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with previous(application):
            yield
        state.jobs.close()
        state.datasets.close()

    app.router.lifespan_context = lifespan
    threading.Thread(target=_warm_up, args=(state,), name="ctip-web-warm-up", daemon=True).start()


def _warm_up(state: WebState) -> None:
    """Do the once-per-process work now, not in the first user's page view: projecting the
    world's boundaries for the choropleths takes seconds, each agency's case dataset about a
    second per 10,000 records, the templates a moment."""
    import logging

    import sqlalchemy as sa

    from ctip.hub.database import tenant
    from ctip.report.maps import choropleth
    from ctip.web.core import templates
    from ctip.web.pages_map import choropleth_for

    try:
        templates()
        choropleth({}, title="", threshold=10, exact=False)
        with tenant(state.hub.app, None) as connection:
            agencies = [str(r[0]) for r in connection.execute(sa.text("SELECT id FROM agencies"))]
        for agency_id in agencies[: state.datasets.size]:
            choropleth_for(state, agency_id, "destination", None, False)
    except Exception:  # a failed warm-up only means the first page view does the work
        logging.getLogger("ctip.web").warning("dashboard warm-up failed", exc_info=True)

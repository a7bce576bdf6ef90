"""The map: world choropleths of the agency's case records with a year slider, and (from the
agency's attached workspace) hot and cold spots of incidents and the latest forecast's risk."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from ctip.report.maps import choropleth
from ctip.settings import Settings
from ctip.web.core import PAGE_CSP, PagePrincipal, PageRoute, State, render, require_page
from ctip.web.spatial_view import WINDOWS, compute, incident_overview, months_between, window_end
from ctip.web.workspaces import attachment_for

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MEASURES = {
    "destination": ("country_of_exploitation", "Victims by country of exploitation"),
    "origin": ("citizenship", "Victims by country of citizenship"),
}


def choropleth_for(
    state: Any, agency_id: str, measure: str, year: int | None, exact: bool
) -> dict[str, Any]:
    """The world map of one agency's visible records (kept with its dataset)."""
    column, title = MEASURES.get(measure, MEASURES["destination"])
    k = Settings().small_count_threshold
    dataset = state.datasets.get(agency_id)

    def draw(engine: Any) -> dict[str, Any]:
        years = engine.rows(
            "SELECT min(y), max(y) FROM (SELECT COALESCE(year_of_registration,"
            " year(registration_date)) AS y FROM cases)"
        )[0]
        value = f"unnest({column})" if column == "citizenship" else column
        condition = (
            "COALESCE(year_of_registration, year(registration_date)) = ?" if year else "true"
        )
        counts = {
            str(r[0]): int(r[1])
            for r in engine.rows(
                f"SELECT v, count(*) FROM (SELECT {value} AS v FROM cases WHERE {condition})"
                " WHERE v IS NOT NULL GROUP BY 1",
                [year] if year else None,
            )
        }
        label = f"{title}, {year}" if year else f"{title}, all years"
        return {
            "svg": choropleth(counts, title=label, threshold=k, exact=exact),
            "first_year": years[0],
            "last_year": years[1],
            "label": label,
            "places": len(counts),
        }

    result: dict[str, Any] = dataset.memo(("choropleth", measure, year, exact, k), draw)
    return result


@router.get("/map")
def map_page(
    request: Request,
    principal: PagePrincipal,
    state: State,
    measure: Annotated[str, Query(pattern="^(destination|origin)$")] = "destination",
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    exact: bool = False,
    category: Annotated[str | None, Query(max_length=200)] = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    days: Annotated[int, Query(ge=30, le=3660)] = 365,
    retry: bool = False,
) -> Response:
    """Choropleths of the case records and, from the workspace, hotspots and forecast risk."""
    require_page(principal, "cases:read")
    world = choropleth_for(state, principal.agency_id, measure, year, exact)
    attachment = attachment_for(state.hub, principal.agency_id)
    spatial: dict[str, Any] = {"attached": attachment is not None}
    if attachment is not None:
        overview = incident_overview(attachment)
        spatial["overview"] = overview
        if overview is not None:
            names = [c["category"] for c in overview["categories"]]
            run = overview["forecast"]
            default = run["category"] if run and run["category"] in names else None
            chosen = next((c for c in names if category and c.lower() == category.lower()), None)
            chosen = chosen or default or (names[0] if names else None)
            last = next(
                (c["last"] for c in overview["categories"] if c["category"] == chosen),
                overview["last"],
            )
            months = months_between(overview["first"], overview["last"])
            end_month = month if month in months else f"{last:%Y-%m}"
            until = min(window_end(end_month), overview["last"])
            window = days if days in WINDOWS else 365
            run_id = run["run_id"] if run and (run["category"] in (None, chosen)) else None
            key = (
                str(attachment.path),
                attachment.version(),
                chosen,
                until.isoformat(),
                window,
                run_id,
            )
            job = state.jobs.submit(
                principal.agency_id,
                "map",
                key,
                lambda progress: compute(attachment, chosen, until, window, run_id, progress),
                steps=5 if run_id else 4,
                retry=retry,
            )
            spatial.update(
                category=chosen,
                categories=names,
                months=months,
                month=end_month,
                month_index=months.index(end_month),
                days=window,
                windows=WINDOWS,
                job=job,
            )
    return render(
        request,
        "map.html",
        title="Map",
        world=world,
        measure=measure,
        year=year,
        exact=exact,
        spatial=spatial,
        threshold=Settings().small_count_threshold,
    )


@router.get("/map/choropleth")
def choropleth_fragment(
    principal: PagePrincipal,
    state: State,
    measure: Annotated[str, Query(pattern="^(destination|origin)$")] = "destination",
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    exact: bool = False,
) -> Response:
    """Just the map, for the time slider to swap in without reloading the page."""
    require_page(principal, "cases:read")
    world = choropleth_for(state, principal.agency_id, measure, year, exact)
    return HTMLResponse(
        world["svg"], headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
    )

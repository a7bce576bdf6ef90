"""Trends, profile and routes of the records the agency may see (its own and those shared with
it, non-personal fields only), through the same ``ctip.analytics`` functions as the CLI and the
report, with small counts protected unless the analyst asks for exact internal figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ctip.analytics.filters import Filter, parse_filter
from ctip.analytics.profile import DIMENSIONS, profile, protected_profile
from ctip.analytics.protect import protect_rows, shown
from ctip.analytics.routes import LEVELS, protected_summary, routes
from ctip.analytics.trends import BREAKDOWNS, protected_trends, trends
from ctip.errors import BadInputError
from ctip.model.countries import country_name
from ctip.report.sankey import sankey
from ctip.report.svg import Bar, bar_chart, line_chart
from ctip.settings import Settings
from ctip.web.core import PagePrincipal, PageRoute, State, render, require_page
from ctip.web.forms import codes
from ctip.web.tables import Column, csv_response, paged, wants_csv

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Text = Annotated[str | None, Query(max_length=300)]
SERIES = 6
TREND_COLUMNS = (
    Column("period", "Period"),
    Column("value", "Breakdown"),
    Column("count", "Records", numeric=True),
)
ROUTE_COLUMNS = (
    Column("origin_name", "Origin"),
    Column("destination_name", "Destination"),
    Column("count", "Victims", numeric=True),
    Column("kind", "Kind"),
    Column("years", "Years"),
)
KEEP = (
    "by",
    "level",
    "year",
    "year_from",
    "year_to",
    "gender",
    "exploitation",
    "citizenship",
    "country",
    "where",
    "exact",
)


def _filter_text(
    year_from: int | None,
    year_to: int | None,
    gender: str | None,
    exploitation: str | None,
    citizenship: str | None,
    country: str | None,
    where: str | None,
) -> str:
    """The page's filter controls in the ``--where`` language (checked by its parser)."""
    clauses = []
    if year_from:
        clauses.append(f"year>={year_from}")
    if year_to:
        clauses.append(f"year<={year_to}")
    if gender:
        clauses.append(f"gender={gender}")
    if exploitation:
        clauses.append(f"exploitation={exploitation}")
    if citizenship:
        clauses.append(f"citizenship={citizenship.upper()}")
    if country:
        clauses.append(f"country={country.upper()}")
    if where and where.strip():
        clauses.append(where.strip())
    return ", ".join(clauses)


def _page_filter(text: str) -> tuple[Filter, str]:
    """The parsed filter and "", or no filter and the parser's message for a bad one.

    A page must still render when someone types a bad ``where`` clause: it shows all records
    with the message beside the controls, where the CLI would refuse. Both analytics pages
    treat a bad filter that way.
    """
    try:
        return parse_filter(text), ""
    except BadInputError as problem:
        return parse_filter(None), problem.message


def _label(value: Any, by: str) -> str:
    if value is None:
        return "unknown"
    if by in ("citizenship", "country"):
        return country_name(str(value)) or str(value)
    return str(value)


def _controls(request: Request, filter_error: str, where_text: str) -> dict[str, Any]:
    params = request.query_params
    return {
        "values": {k: params.get(k, "") for k in KEEP},
        "genders": codes("gender"),
        "exploitation_types": codes("exploitation_type"),
        "filter_error": filter_error,
        "filter_text": where_text,
    }


@router.get("/trends")
def trends_page(
    request: Request,
    principal: PagePrincipal,
    state: State,
    by: Annotated[str, Query(max_length=20)] = "gender",
    year_from: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    year_to: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    gender: Text = None,
    exploitation: Text = None,
    citizenship: Text = None,
    country: Text = None,
    where: Text = None,
    exact: bool = False,
) -> Response:
    """Records per year broken down by a characteristic, and the victims' profile."""
    require_page(principal, "cases:read")
    if by not in BREAKDOWNS or by == "month":
        by = "gender"
    k = Settings().small_count_threshold
    text = _filter_text(year_from, year_to, gender, exploitation, citizenship, country, where)
    condition, error = _page_filter(text)
    dataset = state.datasets.get(principal.agency_id)
    yearly, broken, profiled = dataset.memo(
        ("trends", by, condition.sql, tuple(map(str, condition.params))),
        lambda engine: (
            trends(engine, "year", condition),
            trends(engine, by, condition) if by != "year" else None,
            profile(engine, condition),
        ),
    )
    broken = broken or yearly
    total_row = protect_rows(yearly.rows, k, exact=exact, group=lambda r: 0)
    rows = protected_trends(broken, k, exact=exact)
    table_rows = [
        {
            "period": r.get("period"),
            "value": _label(r.get(by), by) if by != "year" else "all",
            "count": r["count"],
        }
        for r in rows
    ]
    if wants_csv(request, "trend-table"):
        return csv_response(TREND_COLUMNS, table_rows, f"trends-by-{by}.csv")
    totals = {
        int(r["period"]): (None if isinstance(r["count"], str) else float(r["count"]))
        for r in total_row
        if r["period"] and str(r["period"]).isdigit()
    }
    series: dict[str, dict[int, float | None]] = {}
    if by != "year":
        weight: dict[str, int] = {}
        for r in broken.rows:
            weight[_label(r[by], by)] = weight.get(_label(r[by], by), 0) + int(r["count"])
        top = sorted(weight, key=lambda v: -weight[v])[:SERIES]
        for r in rows:
            name = _label(r[by], by)
            if name in top and r["period"] and str(r["period"]).isdigit():
                series.setdefault(name, {})[int(r["period"])] = (
                    None if isinstance(r["count"], str) else float(r["count"])
                )
        series = {name: series.get(name, {}) for name in top}
    ranges = [r for r in total_row if r["period"] and not str(r["period"]).isdigit()]
    profile_rows = protected_profile(profiled, k, exact=exact)
    charts = []
    for name, label in DIMENSIONS:
        chosen = [r for r in profile_rows if r["dimension"] == name and r["value"] is not None]
        if not chosen:
            continue
        bars = [
            Bar(
                str(r["value"]),
                None if r["suppressed"] else float(r["count"]),
                f"<{k}" if r["suppressed"] else f"{r['count']:,} ({r['share']:.0%})",
            )
            for r in chosen[:10]
        ]
        charts.append(
            {
                "label": label,
                "svg": bar_chart(bars, title=label, threshold=k),
                "known": chosen[0]["known"],
            }
        )
    return render(
        request,
        "trends.html",
        title="Trends",
        by=by,
        breakdowns=[b for b in BREAKDOWNS if b != "month"],
        total_chart=line_chart({"records": totals}, title="Victim case records per year"),
        by_chart=line_chart(series, title=f"Records per year by {by}") if series else "",
        ranges=ranges,
        total=shown(yearly.total, k, exact=exact),
        note=broken.note,
        table=paged(
            request,
            "trend-table",
            f"Records per period by {by}",
            TREND_COLUMNS,
            table_rows,
            empty="No records match these filters. Clear a filter to see more.",
            keep=KEEP,
        ),
        profile_charts=charts,
        exact=exact,
        threshold=k,
        **_controls(request, error, text),
    )


@router.get("/routes")
def routes_page(
    request: Request,
    principal: PagePrincipal,
    state: State,
    level: Annotated[str, Query(max_length=20)] = "country",
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    gender: Text = None,
    exploitation: Text = None,
    citizenship: Text = None,
    country: Text = None,
    where: Text = None,
    exact: bool = False,
) -> Response:
    """Origin-destination corridors: a Sankey of the largest, a table of all, and the shares."""
    require_page(principal, "cases:read")
    if level not in LEVELS:
        level = "country"
    k = Settings().small_count_threshold
    text = _filter_text(None, None, gender, exploitation, citizenship, country, where)
    condition, error = _page_filter(text)
    dataset = state.datasets.get(principal.agency_id)
    result = dataset.memo(
        ("routes", level, year, condition.sql, tuple(map(str, condition.params))),
        lambda engine: routes(engine, level, year, condition),
    )

    def name(code: Any) -> str:
        if code is None:
            return "unknown"
        return (country_name(str(code)) or str(code)) if level == "country" else str(code)

    rows = protect_rows(
        [
            {
                "origin_name": name(r["origin"]),
                "destination_name": name(r["destination"]),
                "count": r["count"],
                "kind": "unknown"
                if r["domestic"] is None
                else "domestic"
                if r["domestic"]
                else "cross-border",
                "years": f"{min(r['by_year'])}–{max(r['by_year'])}" if r["by_year"] else "",
                "domestic": r["domestic"],
            }
            for r in result.rows
        ],
        k,
        exact=exact,
        group=lambda r: 0,
    )
    if wants_csv(request, "routes-table"):
        return csv_response(ROUTE_COLUMNS, rows, f"routes-{level}.csv")
    drawable = [
        (f"{r['origin_name']} ", f" {r['destination_name']}", int(r["count"]))
        for r in rows
        if r["domestic"] is False and not r["suppressed"]
    ][:15]
    summary = protected_summary(result, k, exact=exact)
    return render(
        request,
        "routes.html",
        title="Routes",
        level=level,
        levels=LEVELS,
        year=year or "",
        sankey=sankey(drawable, title=f"Largest cross-border corridors ({level})"),
        summary=summary,
        table=paged(
            request,
            "routes-table",
            "Corridors, largest first",
            ROUTE_COLUMNS,
            rows,
            empty="No corridors: no record names both an origin and a destination under these"
            " filters. Clear a filter, or choose the region level.",
            keep=KEEP,
        ),
        exact=exact,
        threshold=k,
        **_controls(request, error, text),
    )

"""``ctip analyse ...``: trends, routes, profiles and country views of the case records."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ctip.analytics.country import country_summary
from ctip.analytics.filters import parse_filter
from ctip.analytics.profile import profile, protected_profile
from ctip.analytics.routes import LEVELS, protected_routes, protected_summary, routes
from ctip.analytics.trends import BREAKDOWNS, protected_trends, trends
from ctip.cli.context import open_workspace, state
from ctip.cli.output import OutputFormat, emit_object, emit_rows, note, resolve

app = typer.Typer(help="Analyse the case records: trends, routes, profiles, one country.")

WhereOption = Annotated[
    str | None,
    typer.Option("--where", help="Filter, e.g. 'gender=Feminine, year>=2015, citizenship=PH'"),
]
FormatOption = Annotated[
    OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
]
ThresholdOption = Annotated[
    int | None, typer.Option("--threshold", min=1, help="Show counts below k as <k (default 10)")
]
ExactOption = Annotated[
    bool, typer.Option("--exact", help="Exact internal figures: no small-count protection")
]


def _threshold(ctx: typer.Context, value: int | None) -> int:
    return value if value is not None else state(ctx).settings.small_count_threshold


def _protection_note(threshold: int, exact: bool) -> None:
    if exact:
        note(
            "[yellow]exact internal figures: small counts are NOT protected; do not publish[/yellow]"
        )
    else:
        note(f"counts below {threshold} are shown as <{threshold}")


@app.command("trends")
def trends_command(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help=" | ".join(BREAKDOWNS))] = "year",
    where: WhereOption = None,
    fmt: FormatOption = None,
    threshold: ThresholdOption = None,
    exact: ExactOption = False,
) -> None:
    """Victim counts over time, by year or month, with breakdowns."""
    k = _threshold(ctx, threshold)
    with open_workspace(ctx) as workspace:
        result = trends(workspace.engine, by, parse_filter(where))
    rows = protected_trends(result, k, exact=exact)
    output = resolve(fmt)
    if output == "table":
        _protection_note(k, exact)
        if result.note:
            note(result.note)
    emit_rows(rows, output, title=f"Trends by {by} ({result.total:,} records)")


@app.command("routes")
def routes_command(
    ctx: typer.Context,
    level: Annotated[str, typer.Option("--level", help=" | ".join(LEVELS))] = "country",
    year: Annotated[
        int | None, typer.Option("--year", help="Only cases registered this year")
    ] = None,
    where: WhereOption = None,
    fmt: FormatOption = None,
    threshold: ThresholdOption = None,
    exact: ExactOption = False,
) -> None:
    """Origin -> destination flows, top corridors, domestic vs cross-border, change over time.

    With --format json: an array of objects with origin, destination, count (ISO alpha-2 codes
    at country level, null when unknown), domestic, by_year.
    """
    k = _threshold(ctx, threshold)
    with open_workspace(ctx) as workspace:
        result = routes(workspace.engine, level, year, parse_filter(where))
    rows = protected_routes(result, k, exact=exact)
    summary = protected_summary(result, k, exact=exact)
    output = resolve(fmt)
    if output == "table":
        _protection_note(k, exact)
        share = summary["cross_border_share"]
        note(
            f"{summary['flows']} flows; cross-border share"
            f" {'unknown' if share is None else f'{share:.0%}'} of flows with both ends known"
        )
        emit_rows(
            [{**r, "by_year": _years(r["by_year"])} for r in rows[:50]],
            output,
            columns=["origin", "destination", "count", "domestic", "by_year"],
            title=f"Routes at {level} level",
        )
        return
    emit_rows(
        rows,
        output,
        columns=["origin", "destination", "count", "domestic", "suppressed", "by_year"],
    )


def _years(by_year: dict[int, Any]) -> str:
    return ", ".join(f"{y}: {c}" for y, c in by_year.items())


@app.command("profile")
def profile_command(
    ctx: typer.Context,
    where: WhereOption = None,
    fmt: FormatOption = None,
    threshold: ThresholdOption = None,
    exact: ExactOption = False,
) -> None:
    """Demographics, exploitation, sectors, means of control, recruiter relation, duration."""
    k = _threshold(ctx, threshold)
    with open_workspace(ctx) as workspace:
        result = profile(workspace.engine, parse_filter(where))
    rows = protected_profile(result, k, exact=exact)
    output = resolve(fmt)
    if output == "table":
        _protection_note(k, exact)
    emit_rows(
        rows,
        output,
        columns=["dimension", "value", "count", "share", "known", "suppressed"],
        title=f"Profile of {result.total:,} records",
    )


@app.command("country")
def country_command(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="ISO country code or name, or US-XX for a US state")],
    fmt: FormatOption = None,
    threshold: ThresholdOption = None,
    exact: ExactOption = False,
) -> None:
    """Case records and indicator series for one country or US state, with sources named."""
    k = _threshold(ctx, threshold)
    with open_workspace(ctx) as workspace:
        summary = country_summary(workspace.engine, code, k, exact=exact)
    output = resolve(fmt, listing=False)
    if output != "table":
        emit_object(summary, "json")
        return
    _protection_note(k, exact)
    note(f"[bold]{summary['name']}[/bold] ({summary['place']})")
    cases = summary.get("cases")
    if cases:
        emit_object(
            {
                "victims with this citizenship": cases["victims_with_this_citizenship"],
                "victims exploited here": cases["victims_exploited_here"],
                "case sources": ", ".join(cases["sources"]) or "none",
            },
            "table",
            title="Case records",
        )
        emit_rows(
            cases["top_destinations_from_here"],
            "table",
            title="Where victims from here were exploited",
        )
        emit_rows(
            cases["top_origins_into_here"], "table", title="Where victims exploited here came from"
        )
    emit_rows(
        summary["indicators"]["latest"],
        "table",
        columns=["source", "indicator", "year", "value", "value_text", "unit"],
        title="Indicators (latest year)",
        empty="no indicator series: try 'ctip import indicators FILE'",
    )

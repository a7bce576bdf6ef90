"""The analytics sections of the report: key figures, trends, routes, maps, profile,
indicators and the monitoring-and-evaluation results, every count protected."""

from __future__ import annotations

from html import escape
from typing import Any

from ctip.analytics.evaluation import evaluate, list_initiatives
from ctip.analytics.indicators import series
from ctip.analytics.profile import DIMENSIONS, profile
from ctip.analytics.protect import protect_rows, shown
from ctip.analytics.routes import routes
from ctip.analytics.trends import trends
from ctip.capabilities import ReportContext, Section
from ctip.model.countries import country_name
from ctip.report.maps import choropleth
from ctip.report.sankey import sankey
from ctip.report.svg import Bar, bar_chart, line_chart


def _fmt(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return escape(str(value)) if value is not None else "unknown"


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    if not rows:
        return '<p class="empty">Nothing to show.</p>'
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(row.get(key))}</td>" for key, _ in columns) + "</tr>"
        for row in rows
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _protection_line(context: ReportContext) -> str:
    if context.exact:
        return '<p class="warning">Exact internal figures: small counts are NOT protected. Do not publish this report.</p>'
    return f'<p class="note">Counts below {context.threshold} are shown as &lt;{context.threshold}; a second count is hidden where a total would reveal the first.</p>'


def key_figures(context: ReportContext) -> Section:
    engine = context.workspace.engine
    k, exact = context.threshold, context.exact
    total = int(engine.scalar("SELECT count(*) FROM cases") or 0)
    figures = engine.records(
        "SELECT count(DISTINCT source) AS sources,"
        " count(*) FILTER (WHERE list_contains(exploitation_types, 'SexualExploitation')) AS sexual,"
        " count(*) FILTER (WHERE list_contains(exploitation_types, 'ForcedLabour')) AS labour,"
        " count(*) FILTER (WHERE majority_status = 'Minor' OR age_broad IN ('0--8', '9--17')) AS minors,"
        " count(DISTINCT country_of_exploitation) AS destinations,"
        " min(year_of_registration) AS first_year, max(year_of_registration) AS last_year FROM cases"
    )[0]
    tiles = [
        ("Victim case records", shown(total, k, exact=exact)),
        ("Sexual exploitation", shown(int(figures["sexual"]), k, exact=exact)),
        ("Forced labour", shown(int(figures["labour"]), k, exact=exact)),
        ("Minors", shown(int(figures["minors"]), k, exact=exact)),
        ("Countries of exploitation", figures["destinations"]),
        (
            "Years covered",
            f"{figures['first_year']}-{figures['last_year']}" if figures["first_year"] else "none",
        ),
        ("Sources", figures["sources"]),
    ]
    html = (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile"><div class="figure">{_fmt(value)}</div><div class="caption">{escape(label)}</div></div>'
            for label, value in tiles
        )
        + "</div>"
        + _protection_line(context)
    )
    return Section("key-figures", "Key figures", html, order=10)


def trends_section(context: ReportContext) -> Section:
    engine, k, exact = context.workspace.engine, context.threshold, context.exact
    by_year = protect_rows(trends(engine, "year").rows, k, exact=exact, group=lambda r: 0)
    yearly = {
        int(r["period"]): r["count"] for r in by_year if r["period"] and str(r["period"]).isdigit()
    }
    values = {year: (None if isinstance(c, str) else float(c)) for year, c in yearly.items()}
    by_gender = protect_rows(
        trends(engine, "gender").rows, k, exact=exact, group=lambda r: r["period"]
    )
    gender_series: dict[str, dict[int, float | None]] = {}
    for row in by_gender:
        if row["period"] and str(row["period"]).isdigit():
            name = row["gender"] or "unknown"
            gender_series.setdefault(name, {})[int(row["period"])] = (
                None if isinstance(row["count"], str) else float(row["count"])
            )
    ranges = [r for r in by_year if r["period"] and not str(r["period"]).isdigit()]
    note = ""
    if ranges:
        listed = ", ".join(f"{escape(str(r['period']))}: {_fmt(r['count'])}" for r in ranges)
        note = f'<p class="note">Records registered in ranges of years, not drawn: {listed}.</p>'
    html = (
        "<h3>Victims registered per year</h3>"
        + line_chart({"records": values}, title="Victim case records per year of registration")
        + "<h3>By gender</h3>"
        + line_chart(gender_series, title="Victim case records per year, by gender")
        + note
        + '<p class="note">Years with hidden (small) counts break the line.</p>'
    )
    return Section("trends", "Trends", html, order=20)


def routes_section(context: ReportContext) -> Section:
    engine, k, exact = context.workspace.engine, context.threshold, context.exact
    result = routes(engine, "country")
    flows = [
        (
            country_name(r["origin"]) or r["origin"],
            country_name(r["destination"]) or r["destination"],
            r["count"],
        )
        for r in result.rows
        if r["domestic"] is False and (exact or r["count"] >= k)
    ][:15]
    regional = routes(engine, "region")
    region_flows = [
        (f"{r['origin']} ", f" {r['destination']}", r["count"])
        for r in regional.rows
        if r["domestic"] is not None and (exact or r["count"] >= k)
    ][:20]
    summary = result.summary
    share = summary["cross_border_share"]
    table_rows = protect_rows(
        [
            {
                "origin": country_name(r["origin"]) if r["origin"] else None,
                "destination": country_name(r["destination"]) if r["destination"] else None,
                "count": r["count"],
                "kind": "domestic" if r["domestic"] else "cross-border",
            }
            for r in result.rows
            if r["domestic"] is not None
        ][:25],
        k,
        exact=exact,
    )
    html = (
        f"<p>{_fmt(shown(summary['flows_with_both_ends'], k, exact=exact))} flows have a known origin and destination;"
        f" {'' if share is None else f'{share:.0%}'} of them cross a border.</p>"
        "<h3>Top cross-border corridors (countries)</h3>"
        + sankey(flows, title="Top cross-border corridors")
        + "<h3>Flows between UN regions</h3>"
        + sankey(region_flows, title="Flows between UN regions", height=360)
        + "<h3>Corridors</h3>"
        + _table(
            table_rows,
            [
                ("origin", "Origin"),
                ("destination", "Destination"),
                ("count", "Victims"),
                ("kind", "Kind"),
            ],
        )
        + f'<p class="note">Origin: place of recruitment where recorded, otherwise citizenship. Corridors under {k} are not drawn.</p>'
    )
    return Section("routes", "Routes", html, order=30)


def maps_section(context: ReportContext) -> Section:
    engine, k, exact = context.workspace.engine, context.threshold, context.exact
    destination = {
        str(r[0]): int(r[1])
        for r in engine.rows(
            "SELECT country_of_exploitation, count(*) FROM cases WHERE country_of_exploitation IS NOT NULL GROUP BY 1"
        )
    }
    origin = {
        str(r[0]): int(r[1])
        for r in engine.rows(
            "SELECT o, count(*) FROM (SELECT unnest(citizenship) AS o FROM cases) GROUP BY 1"
        )
    }
    html = (
        "<h3>Countries of exploitation</h3>"
        + choropleth(
            destination, title="Victims by country of exploitation", threshold=k, exact=exact
        )
        + "<h3>Countries of citizenship</h3>"
        + choropleth(origin, title="Victims by country of citizenship", threshold=k, exact=exact)
    )
    return Section("maps", "Maps", html, order=40)


def profile_section(context: ReportContext) -> Section:
    engine, k, exact = context.workspace.engine, context.threshold, context.exact
    rows = protect_rows(profile(engine).rows, k, exact=exact, group=lambda r: r["dimension"])
    parts = []
    for name, label in DIMENSIONS:
        chosen = [r for r in rows if r["dimension"] == name and r["value"] is not None]
        if not chosen:
            continue
        known = chosen[0]["known"]
        bars = [
            Bar(
                str(r["value"]),
                None if r["suppressed"] else float(r["count"]),
                f"<{k}" if r["suppressed"] else f"{r['count']:,} ({r['share']:.0%})",
            )
            for r in chosen[:12]
        ]
        parts.append(
            f"<h3>{escape(label)}</h3>"
            + bar_chart(bars, title=label, threshold=k)
            + f'<p class="note">Shares of the {_fmt(shown(int(known), k, exact=exact))} records where this is known.</p>'
        )
    return Section(
        "profile", "Profile", "".join(parts) or '<p class="empty">No records.</p>', order=50
    )


def indicators_section(context: ReportContext) -> Section | None:
    engine = context.workspace.engine
    if not engine.scalar("SELECT count(*) FROM indicator_series"):
        return None
    top = [
        str(r[0])
        for r in engine.rows(
            "SELECT country_of_exploitation FROM cases WHERE country_of_exploitation IS NOT NULL"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 6"
        )
    ]
    places = top or [
        str(r[0])
        for r in engine.rows("SELECT DISTINCT place FROM indicator_series ORDER BY 1 LIMIT 6")
    ]
    detected: dict[str, dict[int, float | None]] = {}
    latest_rows = []
    for place in places:
        points = series(engine, place)
        glotip = {
            int(p["year"]): p["value"]
            for p in points
            if p["indicator"] == "Detected trafficking victims"
        }
        if glotip:
            detected[country_name(place) or place] = glotip
        tiers = [p for p in points if p["indicator"] == "US TIP report tier"]
        latest_rows.append(
            {
                "country": country_name(place) or place,
                "detected": glotip[max(glotip)] if glotip else None,
                "detected_year": max(glotip) if glotip else None,
                "tier": tiers[-1]["value"] if tiers else None,
                "tier_year": tiers[-1]["year"] if tiers else None,
            }
        )
    sources = [r[0] for r in engine.rows("SELECT DISTINCT source FROM indicator_series ORDER BY 1")]
    html = (
        "<p>Published country statistics for the countries with the most records here.</p>"
        + line_chart(detected, title="Detected trafficking victims (UNODC GLOTIP)")
        + _table(
            latest_rows,
            [
                ("country", "Country"),
                ("detected", "Detected victims"),
                ("detected_year", "year"),
                ("tier", "US TIP tier"),
                ("tier_year", "year"),
            ],
        )
        + f'<p class="note">Sources: {escape("; ".join(sources))}. These are published figures, not CTIP records.</p>'
    )
    return Section("indicators", "Country indicators", html, order=60)


def evaluation_section(context: ReportContext) -> Section | None:
    engine = context.workspace.engine
    initiatives = list_initiatives(engine)
    if not initiatives:
        return None
    parts = []
    for initiative in initiatives:
        results = evaluate(engine, initiative["name"])
        parts.append(
            f"<h3>{escape(initiative['name'])}</h3><p>{escape(initiative['description'] or '')}"
            f" Place: {escape(initiative['place'])}; started {initiative['start_date']}.</p>"
        )
        for indicator in dict.fromkeys(r.indicator for r in results):
            chosen = [r for r in results if r.indicator == indicator]
            values: dict[int, float | None] = {int(y): v for y, v in chosen[0].series.items()}
            parts.append(
                f"<h4>{escape(indicator)}</h4>"
                + line_chart(
                    {initiative["place"]: values},
                    title=indicator,
                    marker_year=initiative["start_date"].year,
                )
            )
            rows = [
                {
                    "method": r.method,
                    "estimate": "; ".join(
                        f"{name.replace('_', ' ')} {e.value:+,.1f} (95% CI {e.low:+,.1f} to {e.high:+,.1f})"
                        for name, e in r.estimates.items()
                    )
                    or "none",
                    "caveat": r.caveat,
                }
                for r in chosen
            ]
            parts.append(
                _table(
                    rows,
                    [("method", "Method"), ("estimate", "Estimate"), ("caveat", "What it means")],
                )
            )
    return Section("evaluation", "Monitoring and evaluation", "".join(parts), order=70)


def report_sections(context: ReportContext) -> list[Section]:
    if context.workspace.engine.scalar("SELECT count(*) FROM cases"):
        sections: list[Section | None] = [
            key_figures(context),
            trends_section(context),
            routes_section(context),
            maps_section(context),
            profile_section(context),
        ]
    else:
        sections = [
            Section(
                "key-figures",
                "Key figures",
                '<p class="empty">No case records yet: import some with'
                " <code>ctip import cases FILE</code>.</p>",
                10,
            )
        ]
    sections.extend([indicators_section(context), evaluation_section(context)])
    return [s for s in sections if s is not None]

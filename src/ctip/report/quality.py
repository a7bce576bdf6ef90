"""Report sections every report has: data quality, provenance and attribution."""

from __future__ import annotations

from html import escape

from ctip.analytics.protect import shown
from ctip.capabilities import ReportContext, Section
from ctip.geo.world import ATTRIBUTION as NATURAL_EARTH
from ctip.model.fields import case_schema

CTDC_ATTRIBUTION = (
    "Source: Counter-Trafficking Data Collaborative (CTDC), ctdatacollaborative.org,"
    " used under the CTDC terms of use."
)
INDICATOR_ATTRIBUTIONS = {
    "UNODC GLOTIP": "UNODC Global Report on Trafficking in Persons, country data (dataUNODC).",
    "US TIP report": "US Department of State Trafficking in Persons Report tier placements.",
    "3P anti-trafficking policy index": "Cho, Dreher & Neumayer 3P anti-trafficking policy index.",
    "FBI UCR": "FBI Uniform Crime Reporting, human trafficking offences (public domain).",
    "Polaris hotline": "Polaris, National Human Trafficking Hotline state statistics.",
}


def _rows(rows: list[list[str]], head: list[str]) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="data"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def quality_section(context: ReportContext) -> Section:
    engine, k, exact = context.workspace.engine, context.threshold, context.exact
    imports = engine.records(
        "SELECT file_name, kind, input_format, source, read, loaded, quarantined, duplicates, blank"
        " FROM imports ORDER BY started_at"
    )
    import_rows = [
        [
            escape(r["file_name"]),
            escape(r["input_format"] or r["kind"]),
            escape(r["source"]),
            f"{r['read']:,}",
            f"{r['loaded']:,}",
            f"{r['quarantined']:,}",
            f"{r['duplicates']:,}",
        ]
        for r in imports
    ]
    quarantine = engine.records(
        "SELECT e.field AS field, e.reason AS reason, count(*) AS rows FROM ("
        " SELECT unnest(errors) AS e FROM quarantine WHERE resolved_at IS NULL)"
        " GROUP BY ALL ORDER BY rows DESC LIMIT 15"
    )
    quarantine_rows = [
        [
            escape(r["field"] or "(whole row)"),
            escape(r["reason"]),
            escape(str(shown(int(r["rows"]), k, exact=exact))),
        ]
        for r in quarantine
    ]
    total = int(engine.scalar("SELECT count(*) FROM cases") or 0)
    filled = []
    if total:
        expressions = []
        for spec in case_schema().fields:
            test = f"len({spec.name}) > 0" if spec.is_list else f"{spec.name} IS NOT NULL"
            expressions.append(f"count(*) FILTER (WHERE {test}) AS {spec.name}")
        counts = engine.records(f"SELECT {', '.join(expressions)} FROM cases")[0]
        filled = [(name, int(count)) for name, count in counts.items() if count]
        never = [name for name, count in counts.items() if not count]
    missing_rows = [
        [escape(name), f"{count / total:.0%}", f"{(total - count) / total:.0%}"]
        for name, count in sorted(filled, key=lambda item: -item[1])
    ]
    html = (
        "<h3>Imports</h3>"
        + (
            _rows(
                import_rows,
                ["File", "Format", "Source", "Read", "Loaded", "Quarantined", "Duplicates"],
            )
            if import_rows
            else '<p class="empty">No imports.</p>'
        )
        + '<p class="note">Every import satisfies read = loaded + quarantined + duplicates.</p>'
        + "<h3>Open quarantine</h3>"
        + (
            _rows(quarantine_rows, ["Field", "Reason", "Rows"])
            if quarantine_rows
            else "<p>Quarantine is empty.</p>"
        )
        + "<h3>Completeness of case fields</h3>"
        + (
            _rows(missing_rows, ["Field", "Recorded", "Missing"])
            if missing_rows
            else '<p class="empty">No case records.</p>'
        )
    )
    if total and never:
        html += f'<p class="note">Never recorded in these data: {escape(", ".join(never))}.</p>'
    return Section("data-quality", "Data quality", html, order=900)


def provenance_section(context: ReportContext) -> Section:
    engine = context.workspace.engine
    imports = engine.records(
        "SELECT import_id, file_name, file_sha256, input_format, mapping_name, started_at FROM imports ORDER BY started_at"
    )
    rows = [
        [
            escape(r["import_id"]),
            escape(r["file_name"]),
            f"<code>{escape(r['file_sha256'][:16])}</code>",
            escape(r["mapping_name"] or r["input_format"] or ""),
            escape(str(r["started_at"])[:19]),
        ]
        for r in imports
    ]
    formats = {r["input_format"] for r in imports}
    sources = {str(r[0]) for r in engine.rows("SELECT DISTINCT source FROM indicator_series")}
    attributions = []
    if formats & {"ctdc", "ctdc-vp"}:
        attributions.append(CTDC_ATTRIBUTION)
    attributions.extend(
        INDICATOR_ATTRIBUTIONS[s] for s in sorted(sources) if s in INDICATOR_ATTRIBUTIONS
    )
    attributions.append(
        "Case data standard: IOM Human Trafficking Case Data Standard v2.0 (CC BY 4.0)."
    )
    attributions.append(NATURAL_EARTH + ".")
    html = (
        "<p>Every record keeps its source, import, file fingerprint (sha256) and row number.</p>"
        + (_rows(rows, ["Import", "File", "sha256 (start)", "Mapping", "Imported"]) if rows else "")
        + "<h3>Attribution</h3><ul>"
        + "".join(f"<li>{escape(a)}</li>" for a in attributions)
        + "</ul>"
    )
    return Section("provenance", "Provenance and attribution", html, order=950)

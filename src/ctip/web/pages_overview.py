"""Overview: key figures, recent imports, data quality and quarantine for the agency."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response

from ctip.analytics.protect import shown
from ctip.hub.database import tenant
from ctip.model.fields import case_schema
from ctip.settings import Settings
from ctip.web.core import PagePrincipal, PageRoute, State, render, require_page
from ctip.web.data import summary
from ctip.web.tables import Column, csv_response, paged, wants_csv
from ctip.web.workspaces import attachment_for

router = APIRouter(route_class=PageRoute, include_in_schema=False)
KEY_FIELDS = (
    "gender",
    "age_broad",
    "citizenship",
    "country_of_exploitation",
    "exploitation_types",
    "year_of_registration",
    "means_of_control",
    "recruiter_relations",
    "labour_sectors",
    "trafficking_status",
)
IMPORT_COLUMNS = (
    Column("created_at", "Imported", "when"),
    Column("source", "Source"),
    Column("read", "Read", numeric=True),
    Column("loaded", "Loaded", numeric=True),
    Column("quarantined", "Quarantined", numeric=True),
    Column("duplicates", "Duplicates", numeric=True),
)
QUARANTINE_COLUMNS = (
    Column("field", "Field", "code"),
    Column("reason", "Reason"),
    Column("rows", "Records", numeric=True),
    Column("last", "Latest", "when"),
)


def threshold() -> int:
    return Settings().small_count_threshold


def completeness(engine: Any) -> list[dict[str, Any]]:
    """Share of records with each key field recorded."""
    total = int(engine.scalar("SELECT count(*) FROM cases") or 0)
    if not total:
        return []
    specs = {spec.name: spec for spec in case_schema().fields}
    parts = []
    for name in KEY_FIELDS:
        spec = specs[name]
        test = f"len({name}) > 0" if spec.is_list else f"{name} IS NOT NULL"
        parts.append(f"count(*) FILTER (WHERE {test}) AS {name}")
    counts = engine.records(f"SELECT {', '.join(parts)} FROM cases")[0]
    return [
        {"field": name, "recorded": int(counts[name]), "share": int(counts[name]) / total}
        for name in KEY_FIELDS
    ]


@router.get("/overview")
def overview(request: Request, principal: PagePrincipal, state: State) -> Response:
    """Key figures, recent imports, data quality, quarantine."""
    require_page(principal, "cases:read")
    k = threshold()
    dataset = state.datasets.get(principal.agency_id)
    figures, quality = dataset.memo(("overview",), lambda e: (summary(e), completeness(e)))
    with tenant(state.hub.app, principal.agency_id) as connection:
        imports = [
            dict(r)
            for r in connection.execute(
                sa.text(
                    "SELECT created_at, source, read, loaded, quarantined, duplicates"
                    " FROM imports WHERE agency_id = :a ORDER BY created_at DESC LIMIT 500"
                ),
                {"a": principal.agency_id},
            ).mappings()
        ]
        quarantine: list[dict[str, Any]] = []
        if principal.can("cases:write"):
            quarantine = [
                dict(r)
                for r in connection.execute(
                    sa.text(
                        "SELECT e->>'field' AS field, e->>'reason' AS reason, count(*) AS rows,"
                        " max(quarantined_at) AS last FROM quarantine,"
                        " jsonb_array_elements(errors) e WHERE agency_id = :a"
                        " GROUP BY 1, 2 ORDER BY rows DESC, field LIMIT 500"
                    ),
                    {"a": principal.agency_id},
                ).mappings()
            ]
    if wants_csv(request, "imports"):
        return csv_response(IMPORT_COLUMNS, imports, "imports.csv")
    if wants_csv(request, "quarantine"):
        return csv_response(QUARANTINE_COLUMNS, quarantine, "quarantine.csv")
    tiles = [
        ("Case records you can see", shown(dataset.total, k)),
        ("Your agency's records", shown(dataset.own, k)),
        ("Shared with you", shown(dataset.shared, k)),
        ("Sexual exploitation", shown(int(figures["sexual"]), k)),
        ("Forced labour", shown(int(figures["labour"]), k)),
        ("Minors", shown(int(figures["minors"]), k)),
        ("Countries of exploitation", figures["destinations"]),
        (
            "Years covered",
            f"{figures['first_year']}–{figures['last_year']}" if figures["first_year"] else "none",
        ),
    ]
    return render(
        request,
        "overview.html",
        title="Overview",
        tiles=tiles,
        threshold=k,
        imports=paged(
            request,
            "imports",
            "Recent imports",
            IMPORT_COLUMNS,
            imports,
            empty="No records yet. Send your workspace's records with 'ctip push --hub URL"
            " --token TOKEN', or POST them to /api/v1/cases.",
            per_page=10,
            param="imports_page",
        ),
        quality=quality,
        quarantine=paged(
            request,
            "quarantine",
            "Quarantine: records the checks refused",
            QUARANTINE_COLUMNS,
            quarantine,
            empty="Nothing in quarantine: every record sent passed the checks.",
            per_page=10,
            param="quarantine_page",
        ),
        can_see_quarantine=principal.can("cases:write"),
        attachment=attachment_for(state.hub, principal.agency_id),
        built_seconds=dataset.build_seconds,
    )

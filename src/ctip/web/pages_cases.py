"""Cases: the agency's records and those shared with it, filtered and paged; one record with
its provenance and sharing state. Personal fields appear only for roles allowed to see them,
and every view of them is audited by the hub's own listing and reading functions."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response

from ctip.hub.audit import AuditEntry
from ctip.hub.cases import get_case
from ctip.hub.database import tenant
from ctip.hub.listing import CaseQuery, list_cases
from ctip.hub.records import personal_keys
from ctip.model.fields import case_schema
from ctip.web.core import PagePrincipal, PageRoute, State, render, require_page
from ctip.web.forms import codes, field_groups
from ctip.web.tables import Column, csv_response

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Text = Annotated[str | None, Query(max_length=200)]
PAGE_SIZE = 25
EXPORT_LIMIT = 50_000
BASE_COLUMNS = [
    Column("external_id", "External id"),
    Column("gender", "Gender"),
    Column("citizenship", "Citizenship"),
    Column("year_of_registration", "Year"),
    Column("country_of_exploitation", "Exploited in"),
    Column("exploitation_types", "Exploitation"),
    Column("legal_basis", "Legal basis"),
    Column("origin", "Held by"),
]
PERSONAL_COLUMNS = [Column("name", "Name"), Column("birth_date", "Born")]


def _row(item: dict[str, Any], state: Any) -> dict[str, Any]:
    record = item["record"]
    names = [record.get(k) for k in ("first_name", "middle_name", "last_name") if record.get(k)]
    share = item.get("share")
    return {
        "id": item["id"],
        "external_id": item.get("external_id") or "(none)",
        "gender": record.get("gender"),
        "citizenship": record.get("citizenship"),
        "year_of_registration": record.get("year_of_registration")
        or record.get("registration_period"),
        "country_of_exploitation": record.get("country_of_exploitation"),
        "exploitation_types": record.get("exploitation_types"),
        "legal_basis": item.get("legal_basis"),
        "origin": f"shared by {state.agency_name(item['agency_id'])}" if share else "your agency",
        "name": " ".join(str(n) for n in names),
        "birth_date": record.get("birth_date"),
    }


@router.get("/cases")
def cases_page(
    request: Request,
    principal: PagePrincipal,
    state: State,
    scope: Annotated[str, Query(pattern="^(own|shared)$")] = "own",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    n: Annotated[int, Query(ge=1, le=100_000)] = 1,
    personal: bool = False,
    external_id: Text = None,
    gender: Text = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    country: Text = None,
    exploitation: Text = None,
    citizenship: Text = None,
    legal_basis: Text = None,
    fmt: Annotated[str | None, Query(alias="format", pattern="^csv$")] = None,
) -> Response:
    """The case list with filters, keyset pages and a CSV export."""
    require_page(principal, "cases:read")
    show_personal = personal and principal.can("cases:read-personal")
    query = CaseQuery(
        limit=PAGE_SIZE,
        cursor=cursor,
        scope=scope,
        include_personal=show_personal,
        external_id=external_id or None,
        gender=gender or None,
        year_of_registration=year,
        country_of_exploitation=(country or "").upper() or None,
        exploitation_type=exploitation or None,
        citizenship=(citizenship or "").upper() or None,
        legal_basis=legal_basis or None if scope == "own" else None,
    )
    columns = (
        ([*BASE_COLUMNS[:1], *PERSONAL_COLUMNS, *BASE_COLUMNS[1:]])
        if show_personal
        else BASE_COLUMNS
    )
    if fmt == "csv":
        return _export(state, principal, query, columns)
    page = list_cases(state.hub, principal, query)
    rows = [_row(item, state) for item in page["items"]]
    filters = {
        "scope": scope,
        "personal": "true" if show_personal else "",
        "external_id": external_id or "",
        "gender": gender or "",
        "year": str(year or ""),
        "country": country or "",
        "exploitation": exploitation or "",
        "citizenship": citizenship or "",
        "legal_basis": legal_basis or "",
    }
    active = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "cases.html",
        title="Cases",
        rows=rows,
        columns=columns,
        filters=filters,
        active=active,
        next_cursor=page["next_cursor"],
        page_no=n,
        genders=codes("gender"),
        exploitation_types=codes("exploitation_type"),
        legal_bases=codes("legal_basis"),
        can_personal=principal.can("cases:read-personal"),
        show_personal=show_personal,
    )


def _export(state: Any, principal: Any, query: CaseQuery, columns: list[Column]) -> Response:
    """Every matching record (up to EXPORT_LIMIT), as the page shows them; audited."""
    rows: list[dict[str, Any]] = []
    query.limit = state.hub.settings.max_page_size
    query.cursor = None
    while len(rows) < EXPORT_LIMIT:
        page = list_cases(state.hub, principal, query)
        rows.extend(_row(item, state) for item in page["items"])
        if not page["next_cursor"]:
            break
        query.cursor = page["next_cursor"]
    state.hub.batcher.append(
        AuditEntry(
            "web.export",
            principal.email,
            agency_id=principal.agency_id,
            actor_id=principal.user_id,
            target_type="case-list",
            details={"rows": len(rows), "scope": query.scope, "personal": query.include_personal},
            client=principal.client,
        )
    )
    return csv_response(columns, rows, f"cases-{query.scope}.csv")


def _fields(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's values in the schema's order, grouped by section."""
    schema = case_schema()
    personal = set(personal_keys())
    groups: dict[str, list[dict[str, Any]]] = {}
    for spec in schema.fields:
        value = values.get(spec.name)
        if value in (None, [], ""):
            continue
        groups.setdefault(schema.sections.get(spec.section, spec.section), []).append(
            {"name": spec.name, "value": value, "personal": spec.name in personal}
        )
    return [{"section": k, "fields": v} for k, v in groups.items()]


def _shares_of(
    state: Any, principal: Any, case_id: str, collection: str | None
) -> list[dict[str, Any]]:
    with tenant(state.hub.app, principal.agency_id) as connection:
        rows = connection.execute(
            sa.text(
                "SELECT s.id::text AS id, s.recipient_agency_id::text AS recipient, s.status,"
                " s.purpose, s.fields, s.expires_at, s.created_at,"
                " EXISTS (SELECT 1 FROM shared_cases sc WHERE sc.share_id = s.id"
                " AND sc.case_id = :c) AS copied"
                " FROM shares s WHERE s.owner_agency_id = :a AND (CAST(:c AS uuid) = ANY(s.case_ids)"
                " OR (s.collection IS NOT NULL AND s.collection = :col))"
                " ORDER BY s.created_at DESC"
            ),
            {"a": principal.agency_id, "c": case_id, "col": collection},
        ).mappings()
        return [{**dict(r), "recipient_name": state.agency_name(r["recipient"])} for r in rows]


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, principal: PagePrincipal, state: State) -> Response:
    """One record: fields (personal ones only if the role allows; audited), events,
    provenance and where it is shared. Another agency's id answers 404."""
    require_page(principal, "cases:read")
    view = get_case(state.hub, principal, case_id[:64])
    record = dict(view["record"])
    events = record.pop("events", {}) or {}
    own = view["share"] is None
    shares = _shares_of(state, principal, view["id"], view.get("collection")) if own else []
    return render(
        request,
        "case.html",
        title=f"Case {view['external_id'] or view['id'][:8]}",
        view=view,
        sections=_fields(record),
        events=events,
        own=own,
        holder=state.agency_name(view["agency_id"]),
        shares=shares,
        can_share=own and principal.can("shares:manage"),
        agencies=[a for a in state.agencies(principal.agency_id) if a["id"] != principal.agency_id],
        legal_bases=codes("legal_basis"),
        groups=field_groups(),
        personal_fields=list(personal_keys()),
    )

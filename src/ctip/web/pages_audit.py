"""Audit: the agency's entries (by its users or about its records), the chain's verification
status, and exports. Reading the log is itself audited, as in the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from ctip.hub.audit import add_time_window, verify
from ctip.hub.cases import entry
from ctip.hub.database import tenant
from ctip.hub.errors import InvalidError
from ctip.web.core import FormPrincipal, PagePrincipal, PageRoute, State, render, require_page
from ctip.web.jobs import JobProgress
from ctip.web.tables import Column, Table, csv_response, page_number

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PER_PAGE = 50
EXPORT_LIMIT = 200_000
COLUMNS = (
    Column("seq", "#", numeric=True),
    Column("at", "When", "when"),
    Column("actor", "Who"),
    Column("action", "Action", "code"),
    Column("target", "Target"),
    Column("other", "Other agency"),
    Column("details", "Details"),
    Column("client", "From"),
)
SELECT = (
    "SELECT seq, at, agency_id::text AS agency_id, subject_agency_id::text AS subject_agency_id,"
    " actor, action, target_type, target_id, details, client, encode(hash, 'hex') AS hash"
    " FROM audit_log WHERE {where} ORDER BY seq DESC LIMIT :limit OFFSET :offset"
)
VERIFY_KEY = ("chain",)


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidError(
            f"{name}: '{value}' is not a date", hint="use e.g. 2030-01-31"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _query(
    state: Any,
    principal: Any,
    since: datetime | None,
    until: datetime | None,
    action: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    clauses = [":a IN (agency_id, subject_agency_id)"]
    params: dict[str, Any] = {"a": principal.agency_id, "limit": limit, "offset": offset}
    add_time_window(clauses, params, since, until)
    if action:
        clauses.append("action LIKE :action")
        params["action"] = action.replace("%", "").replace("_", r"\_") + "%"
    where = " AND ".join(clauses)
    with tenant(state.hub.app, principal.agency_id) as connection:
        total = int(
            connection.execute(
                sa.text(f"SELECT count(*) FROM audit_log WHERE {where}"), params
            ).scalar_one()
        )
        rows = [
            dict(r)
            for r in connection.execute(sa.text(SELECT.format(where=where)), params).mappings()
        ]
        state.hub.audit.append(
            connection, [entry(principal, "audit.read", "audit", "", entries=len(rows))]
        )
    return rows, total


def _display(row: dict[str, Any], principal: Any, state: Any) -> dict[str, Any]:
    other = None
    for candidate in (row["agency_id"], row["subject_agency_id"]):
        if candidate and candidate != principal.agency_id:
            other = state.agency_name(candidate)
    details = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    ids = details.get("case_ids") if isinstance(details, dict) else None
    if isinstance(ids, list) and len(ids) > 3:
        details = {**details, "case_ids": [*ids[:3], f"... {len(ids) - 3} more"]}
    return {
        **row,
        "target": f"{row['target_type']} {row['target_id']}".strip(),
        "other": other or "",
        "details": json.dumps(details, ensure_ascii=False) if details else "",
    }


@router.get("/audit")
def audit_page(
    request: Request,
    principal: PagePrincipal,
    state: State,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    fmt: Annotated[str | None, Query(alias="format", pattern="^(csv|jsonl)$")] = None,
) -> Response:
    """Entries newest first, with filters, pages, CSV and JSON-lines export, and verification."""
    require_page(principal, "audit:read")
    start, end = _moment(since, "since"), _moment(until, "until")
    if fmt is not None:
        rows, _ = _query(state, principal, start, end, action, EXPORT_LIMIT, 0)
        state.hub.batcher.append(
            entry(principal, "audit.export", "audit", "", entries=len(rows), format=fmt)
        )
        if fmt == "csv":
            return csv_response(COLUMNS, [_display(r, principal, state) for r in rows], "audit.csv")
        lines = "".join(
            json.dumps({**r, "details": json.loads(r["details"])}, default=str) + "\n"
            for r in reversed(rows)
        )
        return Response(
            lines,
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )
    page = page_number(request)
    rows, total = _query(state, principal, start, end, action, PER_PAGE, (page - 1) * PER_PAGE)
    query = {k: v for k, v in {"since": since, "until": until, "action": action}.items() if v}
    table = Table(
        id="audit",
        caption="Audit entries by your users or about your records, newest first",
        columns=COLUMNS,
        rows=[_display(r, principal, state) for r in rows],
        empty="No entries match. Widen the dates or clear the action filter.",
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        total=total,
        query=query,
    )
    job = state.jobs.find("*", "verify", VERIFY_KEY)
    return render(
        request,
        "audit.html",
        title="Audit log",
        table=table,
        filters={"since": since or "", "until": until or "", "action": action or ""},
        job=job,
        export_query="&".join(f"{k}={v}" for k, v in query.items()),
    )


@router.post("/audit/verify")
def verify_chain(principal: FormPrincipal, state: State) -> Response:
    """Walk the whole hash chain in the background; the audit page shows progress and result."""
    require_page(principal, "audit:read")
    hub = state.hub

    def work(progress: JobProgress) -> dict[str, Any]:
        progress.step("walking the hash chain")
        result = verify(hub.owner, hub.audit.key)
        return {
            "ok": result.ok,
            "entries": result.entries,
            "head_seq": result.head_seq,
            "head_hash": result.head_hash,
            "problems": result.problems[:20],
            "checked_at": datetime.now(UTC),
        }

    # One verification for the whole hub (the chain is shared); a new run replaces a finished one.
    previous = state.jobs.find("*", "verify", VERIFY_KEY)
    key = (
        VERIFY_KEY
        if previous is None or previous.status == "running"
        else (
            "chain",
            datetime.now(UTC).isoformat(),
        )
    )
    job = state.jobs.submit("*", "verify", key, work, steps=2)
    state.jobs.alias("*", "verify", VERIFY_KEY, job)
    hub.batcher.append(entry(principal, "audit.verify", "audit", ""))
    return RedirectResponse("/audit#verify", status_code=303)

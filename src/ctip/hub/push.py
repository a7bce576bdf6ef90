"""``ctip push``: send a workspace's case records to a hub over its API.

Each record goes with its workspace provenance (file sha256, row number, source, import
time), which the hub uses as its identity: pushing the same workspace again loads nothing new.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import httpx

from ctip.errors import BadInputError, CtipError
from ctip.hub.validate import api_mapping, ruled_out_cleaners
from ctip.ingest.mapping import EVENT_TYPES
from ctip.workspace import Workspace

PROVENANCE = ("file_sha256", "row_number", "source", "imported_at")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def workspace_records(workspace: Workspace, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """The workspace's cases as API records, in batches, with their events and provenance."""
    fields = [f for f in api_mapping().columns if not f.startswith("events.")]
    fields += list(ruled_out_cleaners())
    engine = workspace.engine
    present = {row[0] for row in engine.rows("SELECT column_name FROM (DESCRIBE cases)")}
    chosen = [f for f in fields if f in present]
    total = int(engine.scalar("SELECT count(*) FROM cases") or 0)
    for offset in range(0, total, batch_size):
        rows = engine.records(
            f"SELECT case_id, {', '.join(PROVENANCE)}, {', '.join(chosen)} FROM cases"
            " ORDER BY file_sha256, row_number LIMIT ? OFFSET ?",
            [batch_size, offset],
        )
        events = _events(workspace, [r["case_id"] for r in rows])
        batch = []
        for row in rows:
            record: dict[str, Any] = {
                name: _plain(row[name])
                for name in chosen
                if row[name] is not None and row[name] != []
            }
            if row["case_id"] in events:
                record["events"] = events[row["case_id"]]
            record["_provenance"] = {name: _plain(row[name]) for name in PROVENANCE}
            batch.append(record)
        yield batch


def _events(workspace: Workspace, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not case_ids:
        return {}
    rows = workspace.engine.records(
        "SELECT * FROM case_events WHERE list_contains(?, case_id)", [case_ids]
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        event_type = str(row["event_type"]).lower()
        if event_type not in EVENT_TYPES:
            continue
        attributes = {
            k: _plain(v)
            for k, v in row.items()
            if k not in ("case_id", "event_type", "import_id") and v is not None
        }
        found.setdefault(row["case_id"], {}).setdefault(event_type, attributes)
    return found


def push(
    workspace: Workspace,
    hub_url: str,
    token: str,
    *,
    source: str,
    legal_basis: str | None,
    collection: str | None,
    batch_size: int = 1000,
    say: Callable[[str], None] = lambda _: None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Post every workspace case to ``hub_url``; returns the summed import reports."""
    totals = {"read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0, "batches": 0}
    quarantine: list[dict[str, Any]] = []
    with hub_client(hub_url, token, transport=transport) as client:
        for batch in workspace_records(workspace, batch_size):
            body = {
                "source": source,
                "legal_basis": legal_basis,
                "collection": collection,
                "records": batch,
            }
            try:
                response = client.post(
                    "/api/v1/cases",
                    content=json.dumps(body),
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as error:
                raise CtipError(f"cannot reach the hub at {hub_url} ({error})") from error
            if response.status_code >= 400:
                raise CtipError(f"the hub refused the records: {problem_text(response)}")
            report = response.json()
            for key in ("read", "loaded", "quarantined", "duplicates"):
                totals[key] += int(report[key])
            totals["batches"] += 1
            for item in report.get("quarantine", [])[:20]:
                position = item["position"]
                quarantine.append(
                    {
                        "row_number": batch[position]["_provenance"]["row_number"],
                        "errors": item["errors"],
                    }
                )
            say(f"pushed {totals['read']:,} records ({totals['loaded']:,} new)")
    return {**totals, "quarantine_sample": quarantine[:20]}


@contextmanager
def hub_client(
    hub_url: str, token: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 120
) -> Iterator[httpx.Client]:
    """An HTTP client for the hub's API, authenticated with a bearer API token.

    Shared by every command that talks to a hub (``ctip push``, ``ctip pprl deposit``/``ask``),
    so they check the URL and send the token the same way; ``transport`` lets tests route the
    requests to an app in process.
    """
    if not hub_url.startswith(("https://", "http://")):
        raise BadInputError(f"'{hub_url}' is not an http(s) URL")
    if not token.strip():
        raise BadInputError("no API token given", hint="create one with 'ctip hub token create'")
    headers = {"Authorization": f"Bearer {token.strip()}"}
    with httpx.Client(
        base_url=hub_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
    ) as client:
        yield client


def problem_text(response: httpx.Response) -> str:
    """One line from the hub's RFC 9457 problem: status, title and detail."""
    try:
        body = response.json()
        return f"{response.status_code} {body.get('title', '')}: {body.get('detail', '')}"
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"

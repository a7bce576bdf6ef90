"""The dashboard's demo step: a demo hub beside the demo workspace, ready to open.

It starts the embedded PostgreSQL in ``<workspace>/hub``, creates two agencies with one user
each (passwords generated now, printed once at the end of the demo, never stored in the repo),
pushes a sample of the workspace's case records to the first agency, shares a few with the
second, attaches the workspace (for hotspots, forecasts and ads), and stops the server again.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ctip.capabilities import DemoContext
from ctip.hub import admin
from ctip.hub.auth import hash_password
from ctip.hub.cases import CaseBatch, create_cases
from ctip.hub.permissions import ROLE_PERMISSIONS, Principal
from ctip.hub.push import workspace_records
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings
from ctip.hub.sharing import ShareTerms, offer_share

POLICE = "Demo Police Unit"
SHELTER = "Demo Shelter"
USERS = (
    ("admin@demo-police.example", POLICE, "admin"),
    ("caseworker@demo-shelter.example", SHELTER, "investigator"),
)
DEMO_CASES = 5_000  # a sample keeps the demo quick; 'ctip push' sends everything
BATCH = 500
SHARED = 25


def ensure_agency(hub: Hub, name: str) -> None:
    if name not in {a["name"] for a in admin.list_agencies(hub)}:
        admin.add_agency(hub, name)


def ensure_user(hub: Hub, email: str, agency: str, role: str, password: str) -> Principal:
    """Create the user, or give an existing demo user the new password (audited)."""
    with hub.owner.connect() as connection:
        found = connection.execute(
            sa.text("SELECT id::text FROM users WHERE email = :e"), {"e": email}
        ).scalar()
    if found is None:
        admin.add_user(hub, email, agency, role, password)
    else:
        hashed = hash_password(hub, password)
        with hub.owner.begin() as connection:
            agency_id = connection.execute(
                sa.text(
                    "UPDATE users SET password_hash = :h, failed_logins = 0, locked_until = NULL,"
                    " disabled = false WHERE email = :e RETURNING agency_id::text"
                ),
                {"h": hashed, "e": email},
            ).scalar_one()
            admin.audit_operator(
                hub, connection, "user.password-reset", agency_id, "user", str(found)
            )
    with hub.owner.connect() as connection:
        row = connection.execute(
            sa.text("SELECT id::text, agency_id::text FROM users WHERE email = :e"), {"e": email}
        ).one()
    return Principal(row[0], row[1], email, role, ROLE_PERMISSIONS[role], "cli", client="demo")


def _push(hub: Hub, principal: Principal, workspace: Any) -> dict[str, int]:
    """Send a sample spread over the whole workspace: the first BATCH records of each of
    DEMO_CASES // BATCH equal chunks (same provenance, so a later full push adds the rest)."""
    total = int(workspace.engine.scalar("SELECT count(*) FROM cases") or 0)
    chunk = max(BATCH, -(-total // (DEMO_CASES // BATCH)))
    counts = {"read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0}
    for records in workspace_records(workspace, chunk):
        batch = records[:BATCH]
        report = create_cases(
            hub, principal, CaseBatch(batch, "demo workspace", "PublicTask", "demo")
        )
        for key in counts:
            counts[key] += int(report[key])
    return counts


def _share(hub: Hub, owner: Principal, recipient: str) -> int:
    with hub.owner.connect() as connection:
        ids = [
            str(r[0])
            for r in connection.execute(
                sa.text(
                    "SELECT id FROM cases WHERE agency_id = :a ORDER BY imported_at, id LIMIT :n"
                ),
                {"a": owner.agency_id, "n": SHARED},
            )
        ]
        active = connection.execute(
            sa.text("SELECT count(*) FROM shares WHERE owner_agency_id = :a AND status = 'active'"),
            {"a": owner.agency_id},
        ).scalar_one()
    if not ids or active:
        return 0
    from datetime import UTC, datetime, timedelta

    offer_share(
        hub,
        owner,
        ShareTerms(
            other_agency=recipient,
            purpose="Demo: referral of survivors for shelter support",
            legal_basis="VitalInterests",
            expires_at=datetime.now(UTC) + timedelta(days=90),
            case_ids=ids,
        ),
    )
    return len(ids)


def run_demo(context: DemoContext) -> None:
    from ctip.web.workspaces import attach

    started = time.perf_counter()
    workspace = context.workspace
    hub_dir = Path(workspace.path).resolve() / "hub"
    settings = HubSettings(data_dir=hub_dir)
    credentials = []
    with Hub.open(settings) as hub:
        for agency in (POLICE, SHELTER):
            ensure_agency(hub, agency)
        principals = []
        for email, agency, role in USERS:
            password = secrets.token_urlsafe(12)
            principals.append(ensure_user(hub, email, agency, role, password))
            credentials.append((email, password, agency, role))
        pushed = _push(hub, principals[0], workspace)
        shared = _share(hub, principals[0], SHELTER)
        attach(hub, POLICE, Path(workspace.path))
    context.say(
        f"dashboard: demo hub in {hub_dir}; {pushed['loaded']:,} case records pushed"
        f" ({pushed['duplicates']:,} already there), {shared} shared with {SHELTER},"
        f" workspace attached to {POLICE} ({time.perf_counter() - started:.0f}s)"
    )
    steps = context.results.setdefault("next_steps", [])
    steps.append(
        "Open the dashboard: run  CTIP_COOKIE_SECURE=false ctip serve --data-dir"
        f" {hub_dir}  and go to http://127.0.0.1:8000/ (plain http on this machine only)"
    )
    for email, password, agency, role in credentials:
        steps.append(f"  sign in as {email}  password {password}  ({role}, {agency})")

"""Commands of the hub: ``ctip serve``, ``ctip hub ...``, ``ctip push``, ``ctip audit ...``.

Thin: parse, open the hub, call a service, render with ``ctip.cli.output``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ctip.cli.context import open_workspace
from ctip.cli.output import (
    OutputFormat,
    ReportFormat,
    emit_object,
    emit_rows,
    note,
    resolve,
    to_json,
)
from ctip.errors import BadInputError
from ctip.hub import admin, protection, rotation
from ctip.hub.audit import iter_entries, verify
from ctip.hub.auth import parse_duration
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings

hub_app = typer.Typer(help="Run and administer the multi-agency hub (PostgreSQL).")
agency_app = typer.Typer(help="Agencies: the hub's tenants.")
user_app = typer.Typer(help="User accounts: one agency and one role each.")
token_app = typer.Typer(help="Personal API tokens (scoped, expiring, revocable).")
retention_app = typer.Typer(help="Retention policies and the sweep that applies them.")
audit_app = typer.Typer(help="The hub's tamper-evident audit log.")
hub_app.add_typer(agency_app, name="agency")
hub_app.add_typer(user_app, name="user")
hub_app.add_typer(token_app, name="token")
hub_app.add_typer(retention_app, name="retention")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="CTIP_DATA_DIR", help="Hub data folder (default ./ctip-hub)"),
]
Format = Annotated[OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")]
ObjectFormat = Annotated[ReportFormat | None, typer.Option("--format", help="table or json")]


def hub_settings(data_dir: Path | None) -> HubSettings:
    return HubSettings() if data_dir is None else HubSettings(data_dir=data_dir)


@contextmanager
def open_hub(data_dir: Path | None) -> Iterator[Hub]:
    with Hub.open(hub_settings(data_dir)) as hub:
        for message in hub.notes:
            note(f"[bold yellow]warning:[/bold yellow] {message}")
        yield hub


def read_password(password_file: Path | None) -> str:
    if password_file is not None:
        if not password_file.is_file():
            raise BadInputError(f"{password_file}: no such password file")
        lines = password_file.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0]:
            raise BadInputError(f"{password_file}: the first line should hold the password")
        return lines[0]
    if not sys.stdin.isatty():
        raise BadInputError("no terminal to ask for a password", hint="use --password-file")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


# --- serve -------------------------------------------------------------------------------------


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each with its own pool)")
    ] = 1,
    data_dir: DataDir = None,
) -> None:
    """Run the hub's web API (and any dashboard pages) under uvicorn."""
    import logging
    import os

    import uvicorn

    from ctip.hub.api.app import served_app
    from ctip.hub.api.middleware import JsonLogFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    for name in ("ctip.hub", "ctip.hub.access", "ctip.hub.api", "ctip.hub.audit"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    settings = hub_settings(data_dir)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
    }
    # This process holds the database (embedded server, migrations, master key) open for
    # the lifetime of the server; workers join it.
    with open_hub(data_dir) as hub:
        note(f"CTIP hub on http://{host}:{port}/api/v1 (docs at /api/v1/docs)")
        if workers == 1:
            uvicorn.run(served_app(settings, hub=hub), **options)
            return
        os.environ["CTIP_DATA_DIR"] = str(settings.data_dir)
        uvicorn.run(
            "ctip.hub.api.app:app_from_environment", factory=True, workers=workers, **options
        )


# --- hub init / agencies / users ---------------------------------------------------------------


@hub_app.command("init")
def init(
    agency: Annotated[str, typer.Option("--agency", prompt=True, help="The first agency")],
    email: Annotated[str, typer.Option("--email", prompt=True, help="The first admin's email")],
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="File whose first line is the password")
    ] = None,
    data_dir: DataDir = None,
    fmt: ObjectFormat = None,
) -> None:
    """Prepare the hub database and create the first agency and its admin."""
    password = read_password(password_file)
    with open_hub(data_dir) as hub:
        created = admin.init_hub(hub, agency, email, password)
    emit_object(created, resolve(fmt, listing=False), title="hub initialised")


@agency_app.command("add")
def agency_add(
    name: Annotated[str, typer.Argument(help="Agency name")],
    data_dir: DataDir = None,
    fmt: ObjectFormat = None,
) -> None:
    """Add an agency (a tenant) with its own data and index keys."""
    with open_hub(data_dir) as hub:
        emit_object(admin.add_agency(hub, name), resolve(fmt, listing=False), title="agency")


@agency_app.command("list")
def agency_list(data_dir: DataDir = None, fmt: Format = None) -> None:
    """List agencies with their number of users."""
    with open_hub(data_dir) as hub:
        emit_rows(admin.list_agencies(hub), resolve(fmt), empty="no agencies yet")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The user's email (their login)")],
    agency: Annotated[str, typer.Option("--agency", help="Agency name")],
    role: Annotated[
        str, typer.Option("--role", help="admin, analyst, investigator, auditor or viewer")
    ],
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="File whose first line is the password")
    ] = None,
    data_dir: DataDir = None,
    fmt: ObjectFormat = None,
) -> None:
    """Add a user to an agency with a role; the password comes from a prompt or a file."""
    password = read_password(password_file)
    with open_hub(data_dir) as hub:
        user = admin.add_user(hub, email, agency, role, password)
    emit_object(user, resolve(fmt, listing=False), title="user")


@user_app.command("list")
def user_list(
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency")] = None,
    data_dir: DataDir = None,
    fmt: Format = None,
) -> None:
    """List users with their agency, role and lock state."""
    with open_hub(data_dir) as hub:
        emit_rows(admin.list_users(hub, agency), resolve(fmt), empty="no users yet")


@user_app.command("unlock")
def user_unlock(email: str, data_dir: DataDir = None) -> None:
    """Clear a user's failed logins and lockout."""
    with open_hub(data_dir) as hub:
        admin.set_user_state(hub, email, unlock=True)
    note(f"{email} unlocked")


@user_app.command("disable")
def user_disable(email: str, data_dir: DataDir = None) -> None:
    """Disable a user and end their sessions (tokens stop working too)."""
    with open_hub(data_dir) as hub:
        admin.set_user_state(hub, email, disabled=True)
    note(f"{email} disabled")


@user_app.command("enable")
def user_enable(email: str, data_dir: DataDir = None) -> None:
    """Enable a disabled user again."""
    with open_hub(data_dir) as hub:
        admin.set_user_state(hub, email, disabled=False)
    note(f"{email} enabled")


# --- tokens ------------------------------------------------------------------------------------


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="Whose token")],
    scopes: Annotated[
        list[str] | None,
        typer.Option("--scopes", help="Permissions, comma-separated (default: the role's)"),
    ] = None,
    expires: Annotated[str, typer.Option("--expires", help="Lifetime: 12h, 30d, 2w, 1y")] = "30d",
    name: Annotated[str, typer.Option("--name", help="A label for the token")] = "",
    data_dir: DataDir = None,
    fmt: ObjectFormat = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    chosen = (
        [s.strip() for item in scopes for s in item.split(",") if s.strip()] if scopes else None
    )
    lifetime = parse_duration(expires)
    with open_hub(data_dir) as hub:
        secret, record = admin.token_for(hub, email, chosen, lifetime, name)
    shown = resolve(fmt, listing=False)
    if shown == "json":
        emit_object({"token": secret, **record}, "json")
        return
    emit_object(record, shown, title="token")
    note("the token (shown once; store it now):")
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens")] = None,
    data_dir: DataDir = None,
    fmt: Format = None,
) -> None:
    """List API tokens (prefix, scopes, expiry, revocation; never the secret)."""
    with open_hub(data_dir) as hub:
        emit_rows(admin.list_tokens(hub, user), resolve(fmt), empty="no tokens")


@token_app.command("revoke")
def token_revoke(token_id: str, data_dir: DataDir = None) -> None:
    """Revoke a token; it stops working at once."""
    with open_hub(data_dir) as hub:
        admin.revoke_token(hub, token_id)
    note(f"token {token_id} revoked")


# --- keys, retention, status -------------------------------------------------------------------


@hub_app.command("rotate-keys")
def rotate_keys(
    master: Annotated[
        bool, typer.Option("--master", help="Replace the master key instead of the data keys")
    ] = False,
    data_dir: DataDir = None,
    fmt: Format = None,
) -> None:
    """Rotate every agency's data key (re-encrypting its records), or the master key."""
    with open_hub(data_dir) as hub:
        if master:
            result = rotation.rotate_master_key(hub, hub.settings.resolved_master_key_file)
            emit_object(
                result, resolve(fmt, listing=False) if fmt else "table", title="master key rotated"
            )
            note("back up the new master key now; destroy the .old file once it is safe")
            return
        emit_rows(rotation.rotate_data_keys(hub), resolve(fmt), empty="no agencies")


@retention_app.command("set")
def retention_set(
    agency: Annotated[str, typer.Option("--agency", help="Agency name")],
    days: Annotated[int, typer.Option("--days", help="Keep records this many days")],
    legal_basis: Annotated[
        str | None, typer.Option("--legal-basis", help="Only records with this basis")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Set how long an agency keeps records (for one legal basis, or for all)."""
    with open_hub(data_dir) as hub:
        policy = protection.set_retention(hub, agency, days, legal_basis)
    note(f"{policy['agency']}: keep {policy['legal_basis']} records {policy['days']} days")


@retention_app.command("list")
def retention_list(data_dir: DataDir = None, fmt: Format = None) -> None:
    """List retention policies."""
    with open_hub(data_dir) as hub:
        emit_rows(protection.list_retention(hub), resolve(fmt), empty="no retention policies")


@retention_app.command("sweep")
def retention_sweep(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, erase nothing")] = False,
    data_dir: DataDir = None,
    fmt: Format = None,
) -> None:
    """Erase records past their retention (with shared copies) and expired shared copies."""
    with open_hub(data_dir) as hub:
        emit_rows(protection.sweep(hub, dry_run=dry_run), resolve(fmt), empty="no agencies")


@hub_app.command("status")
def status(data_dir: DataDir = None, fmt: ObjectFormat = None) -> None:
    """Show the hub's database, master key fingerprint and record counts."""
    import sqlalchemy as sa

    from ctip.hub.database import current_revision

    with open_hub(data_dir) as hub:
        with hub.owner.connect() as connection:
            counts = {
                table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in (
                    "agencies",
                    "users",
                    "cases",
                    "shares",
                    "shared_cases",
                    "quarantine",
                    "pprl_encodings",
                    "pprl_queries",
                    "audit_log",
                )
            }
        summary: dict[str, Any] = {
            "database": "external" if hub.settings.database_url else str(hub.settings.postgres_dir),
            "schema_revision": current_revision(hub.owner),
            "master_key_file": str(hub.settings.resolved_master_key_file),
            "master_key_id": hub.keys.master.key_id,
            **counts,
        }
    emit_object(summary, resolve(fmt, listing=False), title="hub")


# --- audit -------------------------------------------------------------------------------------


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise BadInputError(f"{option} '{text}' is not an ISO date or time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None, fmt: ObjectFormat = None) -> None:
    """Check the audit chain; name every entry edited, deleted or reordered. Exit 1 if any."""
    with open_hub(data_dir) as hub:
        result = verify(hub.owner, hub.audit.key)
    shown = resolve(fmt, listing=False)
    if shown == "json":
        emit_object(
            {
                "ok": result.ok,
                "entries": result.entries,
                "head_seq": result.head_seq,
                "head_hash": result.head_hash,
                "problems": result.problems,
            },
            "json",
        )
    elif result.ok:
        note(
            f"audit log intact: {result.entries:,} entries, head {result.head_seq}"
            f" {result.head_hash[:16]}"
        )
    else:
        emit_rows(result.problems, "table", title="audit log problems")
    if not result.ok:
        first = result.problems[0]
        note(f"[bold red]audit log tampered:[/bold red] entry {first['seq']}: {first['problem']}")
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    since: Annotated[str | None, typer.Option("--since", help="From this time (ISO)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this time (ISO)")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export audit entries as JSON lines, with their hashes, for an oversight body."""
    with open_hub(data_dir) as hub, hub.owner.begin() as connection:
        agency_id = admin.agency_id_by_name(connection, agency) if agency else None
        entries = iter_entries(
            connection,
            since=_moment(since, "--since"),
            until=_moment(until, "--until"),
            agency_id=agency_id,
        )
        count = 0
        handle = out.open("w", encoding="utf-8") if out else sys.stdout
        try:
            for item in entries:
                handle.write(to_json(item) + "\n")
                count += 1
        finally:
            if out:
                handle.close()
        head = verify_head(connection)
        hub.audit.append(connection, [admin_entry("audit.export", agency_id, count)])
    note(f"exported {count:,} entries; chain head {head}")


def verify_head(connection: Any) -> str:
    import sqlalchemy as sa

    seq, digest = connection.execute(sa.text("SELECT seq, hash FROM audit_head")).one()
    return f"{seq}:{bytes(digest).hex()}"


def admin_entry(action: str, agency_id: str | None, count: int) -> Any:
    from ctip.hub.audit import AuditEntry

    return AuditEntry(
        action,
        admin.operator(),
        agency_id=agency_id,
        target_type="audit",
        details={"entries": count},
        client="cli",
    )


@audit_app.command("breach-report")
def audit_breach_report(
    since: Annotated[str, typer.Option("--since", help="Window start (ISO)")],
    until: Annotated[str | None, typer.Option("--until", help="Window end (default now)")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Records of this agency")] = None,
    data_dir: DataDir = None,
    fmt: Format = None,
) -> None:
    """Who accessed which records in a time window (for breach notification)."""
    start = _moment(since, "--since")
    assert start is not None
    end = _moment(until, "--until") or datetime.now(UTC)
    with open_hub(data_dir) as hub, hub.owner.begin() as connection:
        agency_id = admin.agency_id_by_name(connection, agency) if agency else None
        rows = protection.breach_report(connection, start, end, agency_id)
        hub.audit.append(connection, [admin_entry("audit.breach-report", agency_id, len(rows))])
    emit_rows(rows, resolve(fmt), empty="no record was accessed in that window")


# --- push --------------------------------------------------------------------------------------


def push_cmd(
    ctx: typer.Context,
    hub_url: Annotated[str, typer.Option("--hub", help="The hub's base URL")],
    token: Annotated[str, typer.Option("--token", envvar="CTIP_HUB_TOKEN", help="API token")],
    source: Annotated[str, typer.Option("--source", help="Source name on the hub")] = "workspace",
    legal_basis: Annotated[
        str | None, typer.Option("--legal-basis", help="For records without one")
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help="Label the records")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=5000)] = 1000,
    fmt: ObjectFormat = None,
) -> None:
    """Push the workspace's case records to a hub (re-pushing loads nothing new)."""
    from ctip.hub.push import push

    with open_workspace(ctx, read_only=True) as workspace:
        report = push(
            workspace,
            hub_url,
            token,
            source=source,
            legal_basis=legal_basis,
            collection=collection,
            batch_size=batch_size,
            say=note,
        )
    emit_object(report, resolve(fmt, listing=False), title="pushed")

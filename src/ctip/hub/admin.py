"""Operator commands (``ctip hub ...``): agencies, users, tokens. They run as the schema owner.

The operator of the server is trusted with the database anyway; these functions still write
an audit entry for every change, with the operating-system user as the actor.
"""

from __future__ import annotations

import getpass
import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ctip.hub.audit import AuditEntry
from ctip.hub.auth import create_token, hash_password
from ctip.hub.errors import ConflictError, InvalidError, NotFoundError
from ctip.hub.permissions import ROLES
from ctip.hub.runtime import Hub

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def audit_operator(
    hub: Hub,
    connection: Connection,
    action: str,
    agency_id: str | None,
    target_type: str,
    target_id: str,
    **details: Any,
) -> None:
    hub.audit.append(
        connection,
        [
            AuditEntry(
                action,
                operator(),
                agency_id=agency_id,
                target_type=target_type,
                target_id=target_id,
                details=details,
                client="cli",
            )
        ],
    )


def agency_id_by_name(connection: Connection, name: str) -> str:
    found = connection.execute(
        sa.text("SELECT id FROM agencies WHERE name = :n"), {"n": name}
    ).scalar()
    if found is None:
        raise NotFoundError(f"no agency named '{name}'", hint="see ctip hub agency list")
    return str(found)


def add_agency(hub: Hub, name: str) -> dict[str, Any]:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidError("an agency name has 1 to 200 characters")
    with hub.owner.begin() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM agencies WHERE name = :n"), {"n": name}
        ).first()
        if exists:
            raise ConflictError(f"agency '{name}' already exists")
        row = (
            connection.execute(
                sa.text("INSERT INTO agencies (name) VALUES (:n) RETURNING id, name, created_at"),
                {"n": name},
            )
            .mappings()
            .one()
        )
        agency_id = str(row["id"])
        hub.keys.create_agency_keys(connection, agency_id)
        audit_operator(hub, connection, "agency.add", agency_id, "agency", agency_id, name=name)
    return {"id": agency_id, "name": row["name"], "created_at": row["created_at"]}


def list_agencies(hub: Hub) -> list[dict[str, Any]]:
    with hub.owner.connect() as connection:
        rows = (
            connection.execute(
                sa.text(
                    "SELECT a.id::text AS id, a.name, a.created_at, count(u.id) AS users"
                    " FROM agencies a LEFT JOIN users u ON u.agency_id = a.id"
                    " GROUP BY a.id ORDER BY a.name"
                )
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def add_user(hub: Hub, email: str, agency: str, role: str, password: str) -> dict[str, Any]:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise InvalidError(f"'{email}' is not an email address")
    if role not in ROLES:
        raise InvalidError(f"unknown role '{role}'", hint=f"choose from {', '.join(ROLES)}")
    hashed = hash_password(hub, password)
    with hub.owner.begin() as connection:
        agency_id = agency_id_by_name(connection, agency)
        if connection.execute(
            sa.text("SELECT 1 FROM users WHERE email = :e"), {"e": email}
        ).first():
            raise ConflictError(f"a user {email} already exists")
        user_id = connection.execute(
            sa.text(
                "INSERT INTO users (agency_id, email, role, password_hash)"
                " VALUES (:a, :e, :r, :h) RETURNING id"
            ),
            {"a": agency_id, "e": email, "r": role, "h": hashed},
        ).scalar_one()
        audit_operator(
            hub, connection, "user.add", agency_id, "user", str(user_id), email=email, role=role
        )
    return {"id": str(user_id), "email": email, "agency": agency, "role": role}


def init_hub(hub: Hub, agency: str, email: str, password: str) -> dict[str, Any]:
    """The first agency and its first admin; refused once any user exists."""
    with hub.owner.connect() as connection:
        if connection.execute(sa.text("SELECT 1 FROM users LIMIT 1")).first():
            raise ConflictError("the hub already has users", hint="use ctip hub user add")
        known = connection.execute(
            sa.text("SELECT 1 FROM agencies WHERE name = :n"), {"n": agency}
        ).first()
    created = None if known else add_agency(hub, agency)
    user = add_user(hub, email, agency, "admin", password)
    return {"agency": agency, "agency_created": created is not None, **user}


def list_users(hub: Hub, agency: str | None = None) -> list[dict[str, Any]]:
    with hub.owner.connect() as connection:
        params: dict[str, Any] = {}
        where = ""
        if agency is not None:
            params["a"] = agency_id_by_name(connection, agency)
            where = "WHERE u.agency_id = :a"
        rows = (
            connection.execute(
                sa.text(
                    "SELECT u.id::text AS id, u.email, a.name AS agency, u.role, u.disabled,"
                    " u.totp_enabled, u.failed_logins, u.locked_until, u.created_at"
                    f" FROM users u JOIN agencies a ON a.id = u.agency_id {where}"
                    " ORDER BY a.name, u.email"
                ),
                params,
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def _user(connection: Connection, email: str) -> dict[str, Any]:
    row = (
        connection.execute(
            sa.text(
                "SELECT id::text AS id, agency_id::text AS agency_id, role, email FROM users"
                " WHERE email = :e"
            ),
            {"e": email.strip().lower()},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no user {email}", hint="see ctip hub user list")
    return dict(row)


def set_user_state(
    hub: Hub, email: str, *, disabled: bool | None = None, unlock: bool = False
) -> dict[str, Any]:
    with hub.owner.begin() as connection:
        user = _user(connection, email)
        if disabled is not None:
            connection.execute(
                sa.text("UPDATE users SET disabled = :d WHERE id = :u"),
                {"d": disabled, "u": user["id"]},
            )
            if disabled:
                connection.execute(
                    sa.text(
                        "UPDATE sessions SET revoked_at = now() WHERE user_id = :u"
                        " AND revoked_at IS NULL"
                    ),
                    {"u": user["id"]},
                )
        if unlock:
            connection.execute(
                sa.text("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = :u"),
                {"u": user["id"]},
            )
        action = "user.unlock" if unlock else ("user.disable" if disabled else "user.enable")
        audit_operator(hub, connection, action, user["agency_id"], "user", user["id"])
    return {"email": user["email"], "action": action.split(".")[1]}


def token_for(
    hub: Hub, email: str, scopes: list[str] | None, lifetime: timedelta, name: str
) -> tuple[str, dict[str, Any]]:
    with hub.owner.begin() as connection:
        user = _user(connection, email)
        secret, record = create_token(
            hub, connection, user=user, scopes=scopes, lifetime=lifetime, name=name
        )
        audit_operator(
            hub,
            connection,
            "token.create",
            user["agency_id"],
            "token",
            str(record["id"]),
            user=user["email"],
            scopes=record["scopes"],
        )
    record = {
        "id": str(record["id"]),
        "user": user["email"],
        **{k: v for k, v in record.items() if k != "id"},
    }
    return secret, record


def list_tokens(hub: Hub, email: str | None = None) -> list[dict[str, Any]]:
    with hub.owner.connect() as connection:
        params: dict[str, Any] = {}
        where = ""
        if email is not None:
            params["u"] = _user(connection, email)["id"]
            where = "WHERE t.user_id = :u"
        rows = (
            connection.execute(
                sa.text(
                    "SELECT t.id::text AS id, u.email AS user, t.name, t.prefix, t.scopes,"
                    " t.created_at, t.expires_at, t.revoked_at, t.last_used_at"
                    f" FROM api_tokens t JOIN users u ON u.id = t.user_id {where}"
                    " ORDER BY t.created_at DESC"
                ),
                params,
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def revoke_token(hub: Hub, token_id: str) -> dict[str, Any]:
    with hub.owner.begin() as connection:
        row = connection.execute(
            sa.text(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
                " WHERE id::text = :i RETURNING agency_id::text"
            ),
            {"i": token_id},
        ).first()
        if row is None:
            raise NotFoundError(f"no token {token_id}", hint="see ctip hub token list")
        audit_operator(hub, connection, "token.revoke", row[0], "token", token_id)
    return {"id": token_id, "revoked": True}

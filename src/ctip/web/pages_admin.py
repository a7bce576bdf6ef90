"""Administration for an agency's admins: agencies on the hub, the agency's users and roles, API
tokens (create for oneself, revoke any of the agency's), keys and retention. Creating users,
agencies and policies stays with the hub operator's ``ctip hub`` commands; the page says which."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ctip.hub import auth
from ctip.hub.cases import entry, is_uuid
from ctip.hub.database import tenant
from ctip.hub.errors import InvalidError, NotFoundError
from ctip.hub.permissions import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from ctip.web.core import (
    Form,
    FormPrincipal,
    PagePrincipal,
    PageRoute,
    State,
    render,
    require_page,
)
from ctip.web.forms import many, text
from ctip.web.tables import Column, Table, csv_response, paged, wants_csv
from ctip.web.workspaces import attachment_for

router = APIRouter(route_class=PageRoute, include_in_schema=False)
USER_COLUMNS = (
    Column("email", "Email"),
    Column("role", "Role"),
    Column("state", "State"),
    Column("totp_enabled", "Authenticator app"),
    Column("created_at", "Added", "when"),
)
TOKEN_COLUMNS = (
    Column("user", "User"),
    Column("name", "Label"),
    Column("prefix", "Starts with", "code"),
    Column("scopes", "Scopes"),
    Column("expires_at", "Expires", "when"),
    Column("last_used_at", "Last used", "when"),
    Column("state", "State"),
)


def _data(state: Any, principal: Any) -> dict[str, Any]:
    with tenant(state.hub.app, principal.agency_id) as connection:

        def rows(query: str) -> list[dict[str, Any]]:
            result = connection.execute(sa.text(query), {"a": principal.agency_id}).mappings()
            return [dict(r) for r in result]

        return {
            "agencies": rows("SELECT id::text AS id, name, created_at FROM agencies ORDER BY name"),
            "users": rows(
                "SELECT id::text AS id, email, role, disabled, totp_enabled, locked_until,"
                " failed_logins, created_at FROM users WHERE agency_id = :a ORDER BY email"
            ),
            "tokens": rows(
                "SELECT t.id::text AS id, u.email AS user, t.name, t.prefix, t.scopes,"
                " t.created_at, t.expires_at, t.revoked_at, t.last_used_at,"
                " t.expires_at <= now() AS expired FROM api_tokens t JOIN users u"
                " ON u.id = t.user_id WHERE t.agency_id = :a ORDER BY t.created_at DESC"
            ),
            "keys": rows(
                "SELECT purpose, version, active, master_key_id, created_at FROM agency_keys"
                " WHERE agency_id = :a ORDER BY purpose, version"
            ),
            "retention": rows(
                "SELECT legal_basis, days, created_at FROM retention_policies"
                " WHERE agency_id = :a ORDER BY legal_basis"
            ),
        }


@router.get("/admin")
def admin_page(request: Request, principal: PagePrincipal, state: State) -> Response:
    """Agencies, users, roles, tokens, keys and retention of the admin's agency."""
    require_page(principal, "users:manage")
    data = _data(state, principal)
    for user in data["users"]:
        user["state"] = (
            "disabled" if user["disabled"] else "locked" if user["locked_until"] else "active"
        )
    for token in data["tokens"]:
        token["state"] = (
            "revoked" if token["revoked_at"] else "expired" if token["expired"] else "active"
        )
    if wants_csv(request, "users"):
        return csv_response(USER_COLUMNS, data["users"], "users.csv")
    if wants_csv(request, "tokens"):
        return csv_response(TOKEN_COLUMNS, data["tokens"], "tokens.csv")
    return render(
        request,
        "admin.html",
        title="Administration",
        agencies=data["agencies"],
        users=paged(
            request,
            "users",
            "Users of your agency",
            USER_COLUMNS,
            data["users"],
            empty="No users.",
            param="users_page",
        ),
        tokens=data["tokens"],
        keys=data["keys"],
        retention=data["retention"],
        roles=[(role, sorted(ROLE_PERMISSIONS[role])) for role in ROLES],
        permissions=PERMISSIONS,
        my_permissions=sorted(principal.permissions),
        master_key_id=state.hub.keys.master.key_id,
        attachment=attachment_for(state.hub, principal.agency_id),
        created=None,
    )


@router.post("/admin/tokens")
def create_token(request: Request, form: Form, principal: FormPrincipal, state: State) -> Response:
    """A new API token for the signed-in admin; the secret is shown on this answer only."""
    require_page(principal, "users:manage")
    lifetime = auth.parse_duration(text(form, "expires", 10) or "30d")
    if lifetime > timedelta(days=state.hub.settings.token_max_days):
        raise InvalidError(f"tokens live at most {state.hub.settings.token_max_days} days")
    scopes = many(form, "scopes", 20) or sorted(principal.permissions)
    beyond = [s for s in scopes if s not in principal.permissions]
    if beyond:
        raise InvalidError(f"your session does not hold {beyond[0]}")
    user = {"id": principal.user_id, "agency_id": principal.agency_id, "role": principal.role}
    with tenant(state.hub.app, principal.agency_id) as connection:
        secret, record = auth.create_token(
            state.hub,
            connection,
            user=user,
            scopes=scopes,
            lifetime=lifetime,
            name=text(form, "name", 200),
        )
        state.hub.audit.append(
            connection,
            [entry(principal, "token.create", "token", str(record["id"]), scopes=record["scopes"])],
        )
    return render(
        request,
        "token_created.html",
        title="Token created",
        secret=secret,
        record=record,
    )


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(token_id: str, principal: FormPrincipal, state: State) -> Response:
    """Revoke any token of the agency; it stops working at once."""
    require_page(principal, "users:manage")
    if not is_uuid(token_id):
        raise NotFoundError("no such token")
    with tenant(state.hub.app, principal.agency_id) as connection:
        row = connection.execute(
            sa.text(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
                " WHERE id = :i AND agency_id = :a RETURNING id"
            ),
            {"i": token_id, "a": principal.agency_id},
        ).first()
        if row is None:
            raise NotFoundError("no such token")
        state.hub.audit.append(connection, [entry(principal, "token.revoke", "token", token_id)])
    return RedirectResponse("/admin?notice=token-revoked#tokens", status_code=303)


__all__ = ["Table", "router"]

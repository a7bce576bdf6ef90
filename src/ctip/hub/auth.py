"""Authentication: passwords (argon2id), lockout, sessions with CSRF, API tokens, TOTP.

Secrets handed to clients (session ids, CSRF tokens, API tokens) are 256-bit random strings;
the database keeps only their SHA-256, so a database copy cannot be replayed as credentials.
Login failures count per account and lock it for a while after too many; the look-up of an
unknown email still runs an argon2 verification so timing does not reveal which emails exist.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import sqlalchemy as sa
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection

from ctip.hub.audit import AuditEntry
from ctip.hub.crypto import token_digest
from ctip.hub.database import tenant
from ctip.hub.errors import InvalidError, UnauthorizedError
from ctip.hub.permissions import PERMISSIONS, ROLE_PERMISSIONS, Principal, effective_permissions
from ctip.hub.runtime import Hub

TOKEN_PREFIX = "ctip_"  # noqa: S105 - a prefix, not a secret
LOGIN_FAILED = "login failed: wrong email, password or code, or the account is locked for a while"
MIN_PASSWORD_LENGTH = 12
_DURATION = re.compile(r"^(\d+)\s*([hdwy])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_duration(text: str) -> timedelta:
    """'12h', '30d', '2w' or '1y' as a timedelta."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise InvalidError(f"'{text}' is not a duration", hint="write e.g. 12h, 30d, 2w or 1y")
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(days=365 * count) if unit == "y" else _UNITS[unit] * count


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(hub: Hub, password: str) -> str:
    check_password_strength(password)
    hashed: str = hub.hasher.hash(password)
    return hashed


def _verify_password(hub: Hub, stored: str, password: str) -> bool:
    try:
        return bool(hub.hasher.verify(stored, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy_hashes: dict[int, str] = {}


def _dummy_hash(hub: Hub) -> str:
    """A hash with the hub's parameters, to spend the same time on unknown emails."""
    key = id(hub.hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hub.hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


@dataclass(frozen=True)
class LoginResult:
    principal: Principal
    session_token: str
    csrf_token: str
    expires_at: datetime


def login(hub: Hub, email: str, password: str, code: str | None, client: str) -> LoginResult:
    settings = hub.settings
    with tenant(hub.app, None) as connection:
        row = (
            connection.execute(sa.text("SELECT * FROM ctip_auth_password(:e)"), {"e": email})
            .mappings()
            .first()
        )
    now = datetime.now(UTC)
    if row is None:
        _verify_password(hub, _dummy_hash(hub), password)
        hub.batcher.append(
            AuditEntry(
                "login.failure",
                email.lower()[:200],
                client=client,
                details={"reason": "unknown email"},
            )
        )
        raise UnauthorizedError(LOGIN_FAILED)
    user_id, agency_id = str(row["user_id"]), str(row["agency_id"])
    locked = row["locked_until"] is not None and row["locked_until"] > now
    password_ok = _verify_password(hub, row["password_hash"], password)
    reason = None
    if row["disabled"]:
        reason = "account disabled"
    elif locked:
        reason = "account locked"
    elif not password_ok:
        reason = "wrong password"
    elif row["totp_enabled"] and not _totp_ok(hub, agency_id, user_id, code):
        reason = "wrong or missing TOTP code"
    with tenant(hub.app, agency_id) as connection:
        if reason is not None:
            if not locked:
                connection.execute(
                    sa.text(
                        "UPDATE users SET failed_logins = failed_logins + 1, locked_until ="
                        " CASE WHEN failed_logins + 1 >= :max THEN now() + make_interval("
                        "secs => :lock) ELSE locked_until END WHERE id = :u"
                    ),
                    {
                        "max": settings.login_max_failures,
                        "lock": settings.login_lockout_minutes * 60,
                        "u": user_id,
                    },
                )
            hub.audit.append(
                connection,
                [
                    AuditEntry(
                        "login.failure",
                        email.lower()[:200],
                        agency_id=agency_id,
                        actor_id=user_id,
                        client=client,
                        details={"reason": reason},
                    )
                ],
            )
        else:
            connection.execute(
                sa.text("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = :u"),
                {"u": user_id},
            )
            if hub.hasher.check_needs_rehash(row["password_hash"]):
                connection.execute(
                    sa.text("UPDATE users SET password_hash = :h WHERE id = :u"),
                    {"h": hub.hasher.hash(password), "u": user_id},
                )
            session_token = secrets.token_urlsafe(32)
            csrf_token = secrets.token_urlsafe(32)
            expires = now + timedelta(hours=settings.session_hours)
            session_id = connection.execute(
                sa.text(
                    "INSERT INTO sessions (agency_id, user_id, session_hash, csrf_hash,"
                    " expires_at) VALUES (:a, :u, :s, :c, :x) RETURNING id"
                ),
                {
                    "a": agency_id,
                    "u": user_id,
                    "s": token_digest(session_token),
                    "c": token_digest(csrf_token),
                    "x": expires,
                },
            ).scalar_one()
            hub.audit.append(
                connection,
                [
                    AuditEntry(
                        "login.success",
                        email.lower(),
                        agency_id=agency_id,
                        actor_id=user_id,
                        target_type="session",
                        target_id=str(session_id),
                        client=client,
                    )
                ],
            )
    if reason is not None:
        raise UnauthorizedError(LOGIN_FAILED)
    principal = Principal(
        user_id=user_id,
        agency_id=agency_id,
        email=email.lower(),
        role=row["role"],
        permissions=ROLE_PERMISSIONS[row["role"]],
        via="session",
        credential_id=str(session_id),
        csrf_hash=token_digest(csrf_token),
        client=client,
    )
    return LoginResult(principal, session_token, csrf_token, expires)


def _totp_ok(hub: Hub, agency_id: str, user_id: str, code: str | None) -> bool:
    if not code:
        return False
    secret = _totp_secret(hub, agency_id, user_id)
    return secret is not None and pyotp.TOTP(secret).verify(code.strip(), valid_window=1)


def _totp_secret(hub: Hub, agency_id: str, user_id: str) -> str | None:
    with tenant(hub.app, agency_id) as connection:
        row = connection.execute(
            sa.text("SELECT totp_enc, totp_key_version FROM users WHERE id = :u"), {"u": user_id}
        ).first()
        if row is None or row[0] is None:
            return None
        key = hub.keys.data_key(connection, agency_id, int(row[1]))
        return key.decrypt(bytes(row[0]), f"users:{user_id}:totp").decode()


def start_totp(hub: Hub, principal: Principal) -> dict[str, str]:
    """Give the user a new TOTP secret (not yet required until confirmed)."""
    secret = pyotp.random_base32()
    with tenant(hub.app, principal.agency_id) as connection:
        key = hub.keys.data_key(connection, principal.agency_id)
        connection.execute(
            sa.text(
                "UPDATE users SET totp_enc = :e, totp_key_version = :v, totp_enabled = false"
                " WHERE id = :u"
            ),
            {
                "e": key.encrypt(secret.encode(), f"users:{principal.user_id}:totp"),
                "v": key.version,
                "u": principal.user_id,
            },
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=principal.email, issuer_name="CTIP hub")
    return {"secret": secret, "provisioning_uri": uri}


def confirm_totp(hub: Hub, principal: Principal, code: str) -> None:
    if not _totp_ok(hub, principal.agency_id, principal.user_id, code):
        raise InvalidError("that code does not match the secret; check the device clock")
    with tenant(hub.app, principal.agency_id) as connection:
        connection.execute(
            sa.text("UPDATE users SET totp_enabled = true WHERE id = :u"),
            {"u": principal.user_id},
        )
        hub.audit.append(connection, [_entry(principal, "user.totp-enabled", "user")])


def _entry(principal: Principal, action: str, target_type: str, target_id: str = "") -> AuditEntry:
    return AuditEntry(
        action,
        principal.email,
        agency_id=principal.agency_id,
        actor_id=principal.user_id,
        target_type=target_type,
        target_id=target_id or principal.user_id,
        client=principal.client,
    )


def authenticate_token(hub: Hub, token: str, client: str) -> Principal:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise UnauthorizedError("invalid API token")
    with hub.app_autocommit.connect() as connection:  # one round trip, no transaction
        row = (
            connection.execute(
                sa.text("SELECT * FROM ctip_auth_token(:h)"), {"h": token_digest(token)}
            )
            .mappings()
            .first()
        )
    now = datetime.now(UTC)
    if row is None or row["disabled"]:
        raise UnauthorizedError("invalid API token")
    if row["revoked_at"] is not None:
        raise UnauthorizedError("this API token was revoked")
    if row["expires_at"] <= now:
        raise UnauthorizedError("this API token has expired")
    return Principal(
        user_id=str(row["user_id"]),
        agency_id=str(row["agency_id"]),
        email=row["email"],
        role=row["role"],
        permissions=effective_permissions(row["role"], list(row["scopes"])),
        via="token",
        credential_id=str(row["token_id"]),
        client=client,
    )


def authenticate_session(hub: Hub, cookie: str, client: str) -> Principal:
    if len(cookie) > 200:
        raise UnauthorizedError("invalid session")
    with hub.app_autocommit.connect() as connection:
        row = (
            connection.execute(
                sa.text("SELECT * FROM ctip_auth_session(:h)"), {"h": token_digest(cookie)}
            )
            .mappings()
            .first()
        )
    now = datetime.now(UTC)
    idle = timedelta(minutes=hub.settings.session_idle_minutes)
    if (
        row is None
        or row["disabled"]
        or row["revoked_at"] is not None
        or row["expires_at"] <= now
        or row["last_seen_at"] + idle <= now
    ):
        raise UnauthorizedError("no valid session: log in again")
    agency_id = str(row["agency_id"])
    if now - row["last_seen_at"] > timedelta(seconds=30):
        with tenant(hub.app, agency_id) as connection:
            connection.execute(
                sa.text("UPDATE sessions SET last_seen_at = now() WHERE id = :s"),
                {"s": row["session_id"]},
            )
    return Principal(
        user_id=str(row["user_id"]),
        agency_id=agency_id,
        email=row["email"],
        role=row["role"],
        permissions=ROLE_PERMISSIONS[row["role"]],
        via="session",
        credential_id=str(row["session_id"]),
        csrf_hash=bytes(row["csrf_hash"]),
        client=client,
    )


def csrf_ok(principal: Principal, presented: str | None) -> bool:
    """Cookie sessions must echo their CSRF token on every state-changing request."""
    if principal.via != "session":
        return True
    if not presented:
        return False
    return hmac.compare_digest(token_digest(presented), principal.csrf_hash)


def logout(hub: Hub, principal: Principal) -> None:
    with tenant(hub.app, principal.agency_id) as connection:
        connection.execute(
            sa.text("UPDATE sessions SET revoked_at = now() WHERE id = :s AND user_id = :u"),
            {"s": principal.credential_id, "u": principal.user_id},
        )
        hub.audit.append(
            connection, [_entry(principal, "logout", "session", principal.credential_id)]
        )


# --- API tokens --------------------------------------------------------------------------------


def check_scopes(role: str, scopes: list[str] | None) -> list[str]:
    """Scopes for a new token: the role's permissions unless narrowed; no more than the role."""
    allowed = ROLE_PERMISSIONS[role]
    if scopes is None:
        return sorted(allowed)
    unknown = [s for s in scopes if s not in PERMISSIONS]
    if unknown:
        raise InvalidError(
            f"unknown scope {unknown[0]}", hint=f"choose from {', '.join(sorted(PERMISSIONS))}"
        )
    beyond = [s for s in scopes if s not in allowed]
    if beyond:
        raise InvalidError(f"a {role} cannot hold the scope {beyond[0]}")
    return sorted(set(scopes))


def create_token(
    hub: Hub,
    connection: Connection,
    *,
    user: dict[str, Any],
    scopes: list[str] | None,
    lifetime: timedelta,
    name: str,
) -> tuple[str, dict[str, Any]]:
    """Store a new token for ``user`` (id, agency_id, role); return (secret, its record)."""
    if lifetime > timedelta(days=hub.settings.token_max_days):
        raise InvalidError(f"tokens live at most {hub.settings.token_max_days} days")
    chosen = check_scopes(user["role"], scopes)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + lifetime
    record = (
        connection.execute(
            sa.text(
                "INSERT INTO api_tokens (agency_id, user_id, name, token_hash, prefix, scopes,"
                " expires_at) VALUES (:a, :u, :n, :h, :p, :s, :x)"
                " RETURNING id, name, prefix, scopes, created_at, expires_at"
            ),
            {
                "a": user["agency_id"],
                "u": user["id"],
                "n": name,
                "h": token_digest(secret),
                "p": secret[:12],
                "s": chosen,
                "x": expires,
            },
        )
        .mappings()
        .one()
    )
    return secret, dict(record)

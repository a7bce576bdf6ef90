"""The running hub: database engines, keys and the audit log, opened once and passed down.

``Hub.open(settings)`` starts (or joins) the embedded PostgreSQL server unless
``CTIP_DATABASE_URL`` names an external one, applies the migrations, reads the master key
(creating it on first start), makes sure the API's database role exists with its grants, and
opens the two engines. The CLI opens one per command; ``ctip serve`` one per process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import TracebackType

from argon2 import PasswordHasher, Type
from sqlalchemy.engine import URL, Engine

from ctip.errors import CtipError
from ctip.hub.audit import AuditBatcher, AuditLog
from ctip.hub.crypto import BACKUP_WARNING, load_or_create_master_key
from ctip.hub.database import (
    EmbeddedServer,
    ensure_app_role,
    ensure_database,
    make_engine,
    migrate,
    psycopg_url,
    socket_url,
    start_embedded,
)
from ctip.hub.keys import KeyStore
from ctip.hub.settings import HubSettings

log = logging.getLogger("ctip.hub")


@dataclass
class Hub:
    settings: HubSettings
    owner: Engine
    app: Engine
    keys: KeyStore
    audit: AuditLog
    batcher: AuditBatcher
    hasher: PasswordHasher
    server: EmbeddedServer | None = None
    notes: list[str] = field(default_factory=list)
    # Seals deposited PPRL encodings at rest (ctip.link.hub). Loaded here, with the audit key,
    # because the API never connects as the owner who can read system keys.
    pprl_key: bytes = field(default=b"", repr=False)

    @property
    def app_autocommit(self) -> Engine:
        """The app engine for single statements that need no transaction (credential checks);
        it shares the app pool."""
        return self.app.execution_options(isolation_level="AUTOCOMMIT")

    @classmethod
    def open(cls, settings: HubSettings) -> Hub:
        server: EmbeddedServer | None = None
        if settings.database_url:
            owner_url = psycopg_url(settings.database_url)
        else:
            server = start_embedded(settings.postgres_dir.resolve())
            owner_url = socket_url(server.socket_dir, settings.database_name)
            ensure_database(owner_url, settings.database_name)
        owner = make_engine(owner_url, pool_size=2)
        try:
            return cls._finish_open(settings, owner, owner_url, server)
        except BaseException:
            owner.dispose()
            if server is not None:
                server.stop()
            raise

    @classmethod
    def _finish_open(
        cls, settings: HubSettings, owner: Engine, owner_url: URL, server: EmbeddedServer | None
    ) -> Hub:
        try:
            migrate(owner)
        except CtipError:
            raise
        except Exception as error:
            raise CtipError(
                f"cannot prepare the hub database ({type(error).__name__}: {error})",
                hint="check CTIP_DATABASE_URL and that its role owns the database",
            ) from error
        master, created = load_or_create_master_key(settings.resolved_master_key_file)
        notes = []
        if created:  # the caller shows it: a terminal note for the CLI, a log line for serve
            notes.append(BACKUP_WARNING.format(path=settings.resolved_master_key_file))
        keys = KeyStore(master)
        if settings.app_database_url:
            app_url = psycopg_url(settings.app_database_url)
        else:
            password = keys.app_password(owner)
            ensure_app_role(owner, settings.app_role, password)
            app_url = owner_url.set(username=settings.app_role, password=password)
        app = make_engine(app_url, pool_size=settings.pool_size)
        audit = AuditLog(keys.system_key(owner, "audit-chain"))
        hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=2,
            type=Type.ID,
        )
        return cls(
            settings=settings,
            owner=owner,
            app=app,
            keys=keys,
            audit=audit,
            batcher=AuditBatcher(app, audit),
            hasher=hasher,
            server=server,
            notes=notes,
            pprl_key=keys.system_key(owner, "pprl-encodings"),
        )

    def close(self) -> None:
        self.batcher.close()
        self.app.dispose()
        self.owner.dispose()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Hub:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

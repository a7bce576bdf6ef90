"""Key storage: system keys, per-agency data and index keys, per-share keys, rotation.

All keys are stored wrapped by the master key (``crypto.MasterKey``) together with the master
key's fingerprint. Unwrapped keys are cached in memory by (agency, purpose, version): a key
version never changes once written, so the cache needs no invalidation; which version is
*active* is read from the database inside the writing transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ctip.errors import CtipError
from ctip.hub.crypto import DataKey, MasterKey, derive, new_key

SYSTEM_KEYS = ("audit-chain", "database", "pprl-encodings")


def _agency_context(agency_id: str, purpose: str, version: int) -> str:
    return f"agency:{agency_id}:{purpose}:{version}"


def share_context(share_id: str) -> str:
    return f"share:{share_id}"


@dataclass
class KeyStore:
    master: MasterKey
    _cache: dict[tuple[str, str, int], bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- system keys (owner connection) -------------------------------------------------------

    def system_key(self, owner: Engine, name: str) -> bytes:
        """The named system key, created on first use."""
        with owner.begin() as connection:
            row = connection.execute(
                sa.text("SELECT wrapped FROM system_keys WHERE name = :n"), {"n": name}
            ).first()
            if row is None:
                connection.execute(
                    sa.text(
                        "INSERT INTO system_keys (name, wrapped, master_key_id)"
                        " VALUES (:n, :w, :m) ON CONFLICT (name) DO NOTHING"
                    ),
                    {
                        "n": name,
                        "w": self.master.wrap(new_key(), f"system:{name}"),
                        "m": self.master.key_id,
                    },
                )
                row = connection.execute(
                    sa.text("SELECT wrapped FROM system_keys WHERE name = :n"), {"n": name}
                ).one()
        return self.master.unwrap(bytes(row[0]), f"system:{name}")

    def app_password(self, owner: Engine) -> str:
        """The app role's database password: derived, so it never has to be stored."""
        return derive(self.system_key(owner, "database"), "app-role-password").hex()

    # --- agency keys ---------------------------------------------------------------------------

    def create_agency_keys(self, connection: Connection, agency_id: str) -> None:
        for purpose in ("data", "index"):
            connection.execute(
                sa.text(
                    "INSERT INTO agency_keys (agency_id, purpose, version, wrapped,"
                    " master_key_id) VALUES (:a, :p, 1, :w, :m)"
                ),
                {
                    "a": agency_id,
                    "p": purpose,
                    "w": self.master.wrap(new_key(), _agency_context(agency_id, purpose, 1)),
                    "m": self.master.key_id,
                },
            )

    def _load(self, connection: Connection, agency_id: str, purpose: str, version: int) -> bytes:
        cached = self._cache.get((agency_id, purpose, version))
        if cached is not None:
            return cached
        row = connection.execute(
            sa.text(
                "SELECT wrapped FROM agency_keys WHERE agency_id = :a AND purpose = :p"
                " AND version = :v"
            ),
            {"a": agency_id, "p": purpose, "v": version},
        ).first()
        if row is None:
            raise CtipError(f"agency {agency_id} has no {purpose} key version {version}")
        key = self.master.unwrap(bytes(row[0]), _agency_context(agency_id, purpose, version))
        with self._lock:
            self._cache[(agency_id, purpose, version)] = key
        return key

    def active_version(self, connection: Connection, agency_id: str, purpose: str) -> int:
        """The active version (a rotation locks the written tables, so it cannot change
        between this read and this transaction's commit)."""
        version = connection.execute(
            sa.text(
                "SELECT version FROM agency_keys WHERE agency_id = :a AND purpose = :p AND active"
            ),
            {"a": agency_id, "p": purpose},
        ).scalar()
        if version is None:
            raise CtipError(f"agency {agency_id} has no active {purpose} key")
        return int(version)

    def data_key(
        self, connection: Connection, agency_id: str, version: int | None = None
    ) -> DataKey:
        chosen = (
            version if version is not None else self.active_version(connection, agency_id, "data")
        )
        return DataKey(agency_id, chosen, self._load(connection, agency_id, "data", chosen))

    def index_key(self, connection: Connection, agency_id: str) -> bytes:
        return self._load(connection, agency_id, "index", 1)

    # --- share keys ----------------------------------------------------------------------------

    def new_share_key(self, share_id: str) -> tuple[DataKey, bytes]:
        key = new_key()
        return DataKey(share_id, 1, key), self.master.wrap(key, share_context(share_id))

    def share_key(self, share_id: str, wrapped: bytes) -> DataKey:
        cached = self._cache.get((share_id, "share", 1))
        if cached is None:
            cached = self.master.unwrap(wrapped, share_context(share_id))
            with self._lock:
                self._cache[(share_id, "share", 1)] = cached
        return DataKey(share_id, 1, cached)

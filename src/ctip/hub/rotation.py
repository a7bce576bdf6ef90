"""Key rotation: new agency data keys (re-encrypting everything), or a new master key.

Data-key rotation runs per agency in one transaction: it first locks the tables holding
ciphertexts against writers (in-flight writes finish first; new ones wait), then retires the
active key, adds the next version,
re-encrypts every ciphertext of the agency under it and deletes the old versions, so an old
key that leaked decrypts nothing written since. Blind-index keys are not rotated: the indexes
would have to be rebuilt from the decrypted values, and they reveal only equality.

Master-key rotation re-wraps every stored key (system, agency, share keys) under a new master
key in one transaction; the new key file is written beside the old one first and swapped in
after the commit, and the old file is kept as ``master.key.<time>.old`` for the operator to
destroy once the new one is backed up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ctip.errors import CtipError
from ctip.hub.admin import operator
from ctip.hub.audit import AuditEntry
from ctip.hub.crypto import DataKey, MasterKey, new_key, write_master_key
from ctip.hub.keys import KeyStore, share_context
from ctip.hub.runtime import Hub

# (table, id column, ciphertext column, version column, associated-data template)
CIPHERTEXTS = (
    ("cases", "id", "personal", "key_version", "cases:{id}:personal"),
    ("quarantine", "id", "raw_enc", "key_version", "quarantine:{id}:raw"),
    ("users", "id", "totp_enc", "totp_key_version", "users:{id}:totp"),
)


def _reencrypt(hub: Hub, connection: Connection, agency_id: str, new: DataKey) -> int:
    changed = 0
    for table, id_column, column, version_column, where in CIPHERTEXTS:
        rows = connection.execute(
            sa.text(
                f"SELECT {id_column}::text, {column}, {version_column} FROM {table}"
                f" WHERE agency_id = :a AND {column} IS NOT NULL AND {version_column} <> :v"
            ),
            {"a": agency_id, "v": new.version},
        ).all()
        updates = []
        for row_id, blob, version in rows:
            old = hub.keys.data_key(connection, agency_id, int(version))
            label = where.format(id=row_id)
            plain = old.decrypt(bytes(blob), label)
            updates.append({"i": row_id, "c": new.encrypt(plain, label), "v": new.version})
        if updates:
            connection.execute(
                sa.text(
                    f"UPDATE {table} SET {column} = :c, {version_column} = :v"
                    f" WHERE {id_column} = CAST(:i AS uuid)"
                ),
                updates,
            )
        changed += len(updates)
    return changed


def rotate_data_keys(hub: Hub) -> list[dict[str, Any]]:
    """Give every agency a new data key and re-encrypt its records under it."""
    results = []
    with hub.owner.connect() as connection:
        agencies = connection.execute(sa.text("SELECT id::text, name FROM agencies")).all()
    for agency_id, name in agencies:
        with hub.owner.begin() as connection:
            connection.execute(
                sa.text("LOCK TABLE cases, quarantine, users IN SHARE ROW EXCLUSIVE MODE")
            )
            current = connection.execute(
                sa.text(
                    "UPDATE agency_keys SET active = false WHERE agency_id = :a"
                    " AND purpose = 'data' AND active RETURNING version"
                ),
                {"a": agency_id},
            ).scalar_one()
            version = int(current) + 1
            connection.execute(
                sa.text(
                    "INSERT INTO agency_keys (agency_id, purpose, version, wrapped,"
                    " master_key_id) VALUES (:a, 'data', :v, :w, :m)"
                ),
                {
                    "a": agency_id,
                    "v": version,
                    "w": hub.keys.master.wrap(new_key(), f"agency:{agency_id}:data:{version}"),
                    "m": hub.keys.master.key_id,
                },
            )
            new = hub.keys.data_key(connection, agency_id, version)
            changed = _reencrypt(hub, connection, agency_id, new)
            connection.execute(
                sa.text(
                    "DELETE FROM agency_keys WHERE agency_id = :a AND purpose = 'data'"
                    " AND version < :v"
                ),
                {"a": agency_id, "v": version},
            )
            hub.audit.append(
                connection,
                [
                    AuditEntry(
                        "keys.rotate",
                        operator(),
                        agency_id=agency_id,
                        target_type="agency",
                        target_id=agency_id,
                        details={"version": version, "reencrypted": changed},
                        client="cli",
                    )
                ],
            )
        results.append({"agency": name, "data_key_version": version, "reencrypted": changed})
    return results


def rotate_master_key(hub: Hub, key_file: Path) -> dict[str, Any]:
    """Re-wrap every stored key under a new master key and swap the key file.

    Refused while a hub server is connected: it would go on wrapping new share keys with
    the old master key, which is about to be retired.
    """
    with hub.owner.connect() as connection:
        serving = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = :r"
                " AND datname = current_database()"
            ),
            {"r": hub.settings.app_role},
        ).scalar_one()
    if serving:
        raise CtipError(
            "a hub server is connected to this database",
            hint="stop ctip serve before rotating the master key, and start it again after",
        )
    old = hub.keys.master
    new = MasterKey(new_key())
    staged = key_file.with_name(key_file.name + ".new")
    write_master_key(staged, new)
    counts = {"system": 0, "agency": 0, "share": 0}
    try:
        with hub.owner.begin() as connection:
            for name, wrapped in connection.execute(
                sa.text("SELECT name, wrapped FROM system_keys FOR UPDATE")
            ).all():
                context = f"system:{name}"
                connection.execute(
                    sa.text(
                        "UPDATE system_keys SET wrapped = :w, master_key_id = :m WHERE name = :n"
                    ),
                    {
                        "w": new.wrap(old.unwrap(bytes(wrapped), context), context),
                        "m": new.key_id,
                        "n": name,
                    },
                )
                counts["system"] += 1
            for agency_id, purpose, version, wrapped in connection.execute(
                sa.text(
                    "SELECT agency_id::text, purpose, version, wrapped FROM agency_keys FOR UPDATE"
                )
            ).all():
                context = f"agency:{agency_id}:{purpose}:{version}"
                connection.execute(
                    sa.text(
                        "UPDATE agency_keys SET wrapped = :w, master_key_id = :m"
                        " WHERE agency_id = CAST(:a AS uuid) AND purpose = :p"
                        " AND version = :v"
                    ),
                    {
                        "w": new.wrap(old.unwrap(bytes(wrapped), context), context),
                        "m": new.key_id,
                        "a": agency_id,
                        "p": purpose,
                        "v": version,
                    },
                )
                counts["agency"] += 1
            for share_id, wrapped in connection.execute(
                sa.text(
                    "SELECT id::text, wrapped_key FROM shares WHERE wrapped_key IS NOT NULL"
                    " FOR UPDATE"
                )
            ).all():
                context = share_context(share_id)
                connection.execute(
                    sa.text(
                        "UPDATE shares SET wrapped_key = :w, master_key_id = :m"
                        " WHERE id = CAST(:i AS uuid)"
                    ),
                    {
                        "w": new.wrap(old.unwrap(bytes(wrapped), context), context),
                        "m": new.key_id,
                        "i": share_id,
                    },
                )
                counts["share"] += 1
            hub.audit.append(
                connection,
                [
                    AuditEntry(
                        "keys.rotate-master",
                        operator(),
                        target_type="master-key",
                        target_id=new.key_id,
                        details=dict(counts),
                        client="cli",
                    )
                ],
            )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    retired = key_file.with_name(f"{key_file.name}.{stamp}.old")
    key_file.replace(retired)
    staged.replace(key_file)
    hub.keys = KeyStore(new)
    return {"master_key_id": new.key_id, "old_key_file": str(retired), **counts}

"""The migrated schema: Alembic head, Core table mirrors, start-up idempotence, key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctip.errors import CtipError
from ctip.hub.crypto import load_or_create_master_key
from ctip.hub.database import current_revision
from ctip.hub.runtime import Hub
from ctip.hub.tables import metadata

pytestmark = pytest.mark.postgres


def test_core_tables_mirror_the_migrated_columns(hub: Hub) -> None:
    inspector = sa.inspect(hub.owner)
    for table in metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert {c.name for c in table.columns} == migrated, table.name


def test_reopening_applies_nothing_twice(hub: Hub) -> None:
    before = current_revision(hub.owner)
    with Hub.open(hub.settings) as again:
        assert current_revision(again.owner) == before == "0002"
        assert again.audit.key == hub.audit.key  # system keys are created once


def test_every_tenant_table_has_row_level_security(hub: Hub) -> None:
    with hub.owner.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT relname, relrowsecurity FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace"
            )
        ).all()
    unprotected = {name for name, secured in rows if not secured}
    assert unprotected == {"system_keys", "audit_head", "alembic_version"}


def test_master_key_file_is_created_private_and_refused_when_readable(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    key, created = load_or_create_master_key(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_master_key(path)
    assert not created_again and again.key == key.key
    os.chmod(path, 0o644)
    with pytest.raises(CtipError, match="chmod 600"):
        load_or_create_master_key(path)
    os.chmod(path, 0o600)
    path.write_text("not a key\n")
    with pytest.raises(CtipError, match="not a CTIP master key"):
        load_or_create_master_key(path)

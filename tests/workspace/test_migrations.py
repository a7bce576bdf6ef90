"""Migrations: applied once, frozen, and in step with the case field specs."""

from __future__ import annotations

from ctip.model.fields import case_schema
from ctip.settings import Settings
from ctip.workspace import Workspace
from ctip.workspace.migrator import available_migrations, migrate


def test_cases_table_matches_the_case_fields(workspace: Workspace) -> None:
    columns = workspace.engine.rows(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = 'cases' ORDER BY ordinal_position"
    )
    stored = dict(columns)
    for name, sql_type in case_schema().storage_columns():
        assert name in stored, f"case field '{name}' needs a migration adding the column"
        assert stored[name] == sql_type, name
    event_columns = {
        r[0]
        for r in workspace.engine.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'case_events'"
        )
    }
    assert {f.name for f in case_schema().event_fields} <= event_columns


def test_migrations_apply_once_and_reopen_cleanly(settings: Settings) -> None:
    with Workspace.open(settings, create=True) as first:
        version = first.schema_version
        assert version == max(m.version for m in available_migrations())
        assert migrate(first.engine) == []
    with Workspace.open(settings) as again:
        assert again.schema_version == version

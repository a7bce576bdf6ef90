"""Versioned schema migrations: numbered SQL files applied once, in order, in a transaction.

A migration file is frozen once released; a change to the schema is a new file. The applied
versions are recorded in ``schema_migrations`` so opening an older workspace upgrades it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from ctip.engine.duckdb import DuckDBEngine

MIGRATIONS_PACKAGE = "ctip.workspace.migrations"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def applied_versions(engine: DuckDBEngine) -> set[int]:
    engine.sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    return {int(row[0]) for row in engine.rows("SELECT version FROM schema_migrations")}


def migrate(engine: DuckDBEngine) -> list[Migration]:
    """Apply every pending migration; return those applied."""
    done = applied_versions(engine)
    applied: list[Migration] = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        with engine.transaction():
            for statement in _statements(migration.sql):
                engine.sql(statement)
            engine.sql(
                "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)",
                [migration.version, migration.name],
            )
        applied.append(migration)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration file on semicolons that end a line (no procedural SQL here)."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in re.split(r";\s*\n", body + "\n") if part.strip()]


def current_version(engine: DuckDBEngine) -> int:
    return max(applied_versions(engine), default=0)

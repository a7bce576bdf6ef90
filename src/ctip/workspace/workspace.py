"""Open, create and describe a workspace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError, CtipError
from ctip.settings import Settings
from ctip.workspace.migrator import current_version, migrate

DATABASE_FILE = "ctip.duckdb"


@dataclass
class TableCount:
    table: str
    rows: int


class Workspace:
    """A folder with ``ctip.duckdb`` (tables) and room for Parquet files next to it."""

    def __init__(self, path: Path, engine: DuckDBEngine) -> None:
        self.path = path
        self.engine = engine

    @classmethod
    def open(
        cls, settings: Settings, *, create: bool = False, read_only: bool = False
    ) -> Workspace:
        path = settings.workspace
        database = path / DATABASE_FILE
        if not database.exists():
            if not create:
                raise BadInputError(
                    f"no CTIP workspace at {path}",
                    hint="run 'ctip init' or pass --workspace PATH",
                )
            path.mkdir(parents=True, exist_ok=True)
        try:
            engine = DuckDBEngine(
                database,
                threads=settings.threads,
                memory_limit=settings.memory_limit,
                read_only=read_only,
            )
        except duckdb.IOException as exc:
            raise CtipError(
                f"cannot open the workspace {database}: {str(exc).splitlines()[0]}",
                hint="is another ctip command using it?",
            ) from exc
        workspace = cls(path, engine)
        if not read_only:
            migrate(engine)
        return workspace

    @property
    def schema_version(self) -> int:
        return current_version(self.engine)

    def table_counts(self) -> list[TableCount]:
        tables = [
            str(row[0])
            for row in self.engine.rows(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
                " AND table_name <> 'schema_migrations' ORDER BY table_name"
            )
        ]
        return [
            TableCount(table, int(self.engine.scalar(f'SELECT count(*) FROM "{table}"')))
            for table in tables
        ]

    def recent_imports(self, limit: int = 10) -> list[dict[str, Any]]:
        return self.engine.records(
            "SELECT import_id, kind, source, file_name, input_format, status, read, loaded,"
            " quarantined, duplicates, started_at FROM imports"
            " ORDER BY started_at DESC LIMIT ?",
            [limit],
        )

    def quarantine_summary(self) -> list[dict[str, Any]]:
        return self.engine.records(
            "SELECT kind, e.field AS field, count(*) AS rows FROM ("
            "  SELECT kind, unnest(errors) AS e FROM quarantine WHERE resolved_at IS NULL"
            ") GROUP BY ALL ORDER BY rows DESC, field"
        )

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

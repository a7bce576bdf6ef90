"""Saved traces and exposure runs, so the report and later commands can show what an analyst
produced (``--save NAME``); saving under an existing name replaces it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from ctip.cli.output import to_json
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import NotFoundError


def save(engine: DuckDBEngine, kind: str, name: str, params: dict[str, Any], result: Any) -> str:
    analysis_id = "an-" + uuid.uuid4().hex[:12]
    with engine.transaction():
        engine.sql("DELETE FROM crypto_analyses WHERE kind = ? AND name = ?", [kind, name])
        engine.sql(
            "INSERT INTO crypto_analyses VALUES (?, ?, ?, ?, ?, ?)",
            [analysis_id, kind, name, datetime.now(UTC), to_json(params), to_json(result)],
        )
    return analysis_id


def load(engine: DuckDBEngine, kind: str, name: str | None = None) -> dict[str, Any]:
    """A saved analysis by name, or the latest of its kind."""
    rows = engine.rows(
        "SELECT name, created_at, params, result FROM crypto_analyses WHERE kind = ?"
        + (" AND name = ?" if name else "")
        + " ORDER BY created_at DESC LIMIT 1",
        [kind, name] if name else [kind],
    )
    if not rows:
        raise NotFoundError(
            f"no saved {kind}" + (f" named '{name}'" if name else ""),
            hint=f"run 'ctip crypto {kind} ... --save NAME' first",
        )
    name_, created, params, result = rows[0]
    return {
        "name": name_,
        "created_at": created,
        "params": json.loads(params),
        "result": json.loads(result),
    }


def latest(engine: DuckDBEngine, kind: str, limit: int = 3) -> list[dict[str, Any]]:
    rows = engine.rows(
        "SELECT name, created_at, params, result FROM crypto_analyses WHERE kind = ?"
        " ORDER BY created_at DESC LIMIT ?",
        [kind, limit],
    )
    return [
        {"name": r[0], "created_at": r[1], "params": json.loads(r[2]), "result": json.loads(r[3])}
        for r in rows
    ]

"""Rendering command results: a rich table for people, JSON / JSON Lines / CSV for programs.

Data goes to stdout; notes and summaries go to stderr, so ``ctip ... --format jsonl | jq``
works. The default is a table on a terminal and JSON Lines when piped.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def resolve(fmt: OutputFormat | ReportFormat | None, *, listing: bool = True) -> str:
    if fmt is not None:
        return fmt.value
    if stdout_is_terminal():
        return "table"
    return "jsonl" if listing else "json"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def to_json(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, indent=indent)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return to_json(value)
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e15 else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def emit_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Print a list of records in ``fmt``."""
    names = list(columns) if columns else (list(rows[0]) if rows else [])
    if fmt == "json":
        sys.stdout.write(to_json([{k: r.get(k) for k in names} for r in rows], indent=2) + "\n")
    elif fmt == "jsonl":
        for row in rows:
            sys.stdout.write(to_json({k: row.get(k) for k in names}) + "\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([_csv_cell(row.get(k)) for k in names])
    else:
        console = Console()
        if not rows:
            Console(stderr=True).print(f"[dim]{empty}[/dim]")
            return
        table = Table(title=title, title_justify="left", header_style="bold")
        for name in names:
            numeric = all(
                isinstance(r.get(name), int | float) for r in rows if r.get(name) is not None
            )
            table.add_column(name, justify="right" if numeric else "left", overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row.get(k)) for k in names))
        console.print(table)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(_csv_cell(v) for v in value)
    if isinstance(value, dict):
        return to_json(value)
    return str(value)


def emit_object(obj: dict[str, Any], fmt: str, *, title: str | None = None) -> None:
    """Print one record: JSON on one line, or a two-column table."""
    if fmt in ("json", "jsonl"):
        sys.stdout.write(to_json(obj) + "\n")
        return
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in obj.items():
        table.add_row(key, _cell(value))
    Console().print(table)


def note(message: str) -> None:
    """A human note on stderr (never mixed into machine output)."""
    Console(stderr=True, highlight=False).print(message)

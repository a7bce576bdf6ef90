"""Tables on pages: columns, pagination, and the same rows as a CSV download.

Every table pages (``?page=N``) and offers its full content as CSV (``?format=csv``), built from
the same rows the page shows, so the download never holds more than the page may show.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

PER_PAGE = 25


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, number, when, code, list, link
    link: str = ""  # for kind "link": a format string over the row, e.g. "/cases/{id}"
    numeric: bool = False


@dataclass
class Table:
    id: str
    caption: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    empty: str
    page: int = 1
    pages: int = 1
    total: int = 0
    query: dict[str, str] = field(default_factory=dict)
    csv: bool = True

    def link(self, **changes: Any) -> str:
        query = {**self.query, **{k: str(v) for k, v in changes.items()}}
        return "?" + urlencode({k: v for k, v in query.items() if v not in ("", None)})

    def cell(self, row: dict[str, Any], column: Column) -> str:
        return text_of(row.get(column.key))

    def href(self, row: dict[str, Any], column: Column) -> str:
        return column.link.format(**row)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.3g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds").replace("+00:00", " UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(text_of(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def page_number(request: Request, param: str = "page") -> int:
    try:
        return max(1, int(request.query_params.get(param, "1")))
    except ValueError:
        return 1


def paged(
    request: Request,
    table_id: str,
    caption: str,
    columns: Sequence[Column],
    rows: list[dict[str, Any]],
    *,
    empty: str,
    per_page: int = PER_PAGE,
    keep: Sequence[str] = (),
    param: str = "page",
) -> Table:
    """A table showing one page of ``rows``; ``keep`` names query parameters links carry."""
    pages = max(1, -(-len(rows) // per_page))
    page = min(page_number(request, param), pages)
    query = {k: request.query_params[k] for k in keep if request.query_params.get(k)}
    return Table(
        id=table_id,
        caption=caption,
        columns=columns,
        rows=rows[(page - 1) * per_page : page * per_page],
        empty=empty,
        page=page,
        pages=pages,
        total=len(rows),
        query=query,
    )


def wants_csv(request: Request, table_id: str) -> bool:
    return (
        request.query_params.get("format") == "csv"
        and request.query_params.get("table", table_id) == table_id
    )


def csv_response(columns: Sequence[Column], rows: list[dict[str, Any]], filename: str) -> Response:
    """All rows as CSV (UTF-8 with a header); formulas are defused for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.label for c in columns])
    for row in rows:
        writer.writerow([_defuse(_raw(row.get(c.key))) for c in columns])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "|".join(_raw(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _defuse(text: str) -> str:
    """A cell starting with = + - @ is read as a formula by spreadsheets: quote it."""
    return (
        "'" + text
        if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text)
        else text
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

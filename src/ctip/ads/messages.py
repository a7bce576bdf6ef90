"""Read chat and message exports for ``ctip screen messages``.

Two shapes are common in casework:

- tables (CSV, XLSX, JSON, JSON Lines, Parquet) with a text column (text, message, body,
  content) and optionally sender, time and id columns, read with ``read_table``;
- WhatsApp-style text exports, one message per line as ``12/31/20, 9:41 PM - Name: text`` or
  ``[31/12/2020, 21:41:05] Name: text``, where a line that does not start a message continues
  the previous one.

Each message keeps its row or line number so a flag can be traced back to the export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ctip.errors import BadInputError
from ctip.ingest.readers import ROW_COLUMN, read_table

TEXT_COLUMNS = ("text", "message", "body", "content", "msg")
SENDER_COLUMNS = ("sender", "from", "author", "name", "user")
TIME_COLUMNS = ("sent_at", "timestamp", "time", "date", "datetime", "created_at")
ID_COLUMNS = ("id", "message_id", "msg_id")
CHAT_LINE = re.compile(
    r"^\[?(?P<when>\d{1,4}[./-]\d{1,2}[./-]\d{1,4},? \d{1,2}:\d{2}(?::\d{2})?(?:\s?[APap]\.?[Mm]\.?)?)\]?"
    r"\s?(?:-\s)?(?P<sender>[^:]{1,60}): (?P<text>.*)$"
)


@dataclass
class Message:
    id: str
    sender: str | None
    sent_at: str | None
    text: str
    line: int


def read_messages(path: Path) -> list[Message]:
    """Messages from a chat export (see the module docstring)."""
    if not path.exists():
        raise BadInputError(f"{path}: no such file", hint="check the path")
    if path.suffix.lower() == ".txt":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadInputError(f"{path} is not UTF-8 text", hint="save it again as UTF-8") from exc
        lines = text.splitlines()
        if any(CHAT_LINE.match(line) for line in lines[:50]):
            return _chat_lines(lines)
    return _table(path)


def _chat_lines(lines: list[str]) -> list[Message]:
    messages: list[Message] = []
    for number, line in enumerate(lines, start=1):
        match = CHAT_LINE.match(line)
        if match:
            messages.append(
                Message(
                    f"line-{number}", match["sender"].strip(), match["when"], match["text"], number
                )
            )
        elif messages and line.strip():
            messages[-1].text += "\n" + line
    return messages


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _table(path: Path) -> list[Message]:
    table = read_table(path)
    text_column = _pick(table.columns, TEXT_COLUMNS)
    if text_column is None:
        raise BadInputError(
            f"{path}: no message text column (looked for {', '.join(TEXT_COLUMNS)})",
            hint=f"columns found: {', '.join(table.columns[:12])}",
        )
    sender = _pick(table.columns, SENDER_COLUMNS)
    when = _pick(table.columns, TIME_COLUMNS)
    ident = _pick(table.columns, ID_COLUMNS)
    data = table.table
    texts = data.column(text_column).to_pylist()
    rows = data.column(ROW_COLUMN).to_pylist()
    senders = data.column(sender).to_pylist() if sender else [None] * len(texts)
    times = data.column(when).to_pylist() if when else [None] * len(texts)
    ids = data.column(ident).to_pylist() if ident else [None] * len(texts)
    return [
        Message(str(i or f"row-{r}"), s or None, t or None, x or "", int(r))
        for i, s, t, x, r in zip(ids, senders, times, texts, rows, strict=True)
    ]

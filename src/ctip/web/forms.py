"""Choices for form controls (code lists, agencies, personal field groups) and value parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import FormData

from ctip.hub.errors import InvalidError
from ctip.hub.records import FIELD_GROUPS, personal_keys
from ctip.model.codes import code_list

GROUP_LABELS = {
    "names": "Names",
    "identity": "Identity number and birth date",
    "contacts": "Contacts and addresses",
    "case_notes": "Case owner and notes",
}


def codes(name: str) -> list[tuple[str, str]]:
    """(code, label) pairs of a code list, for a <select>."""
    return [(c.code, c.label) for c in code_list(name).codes]


def field_groups() -> list[dict[str, Any]]:
    return [
        {"name": name, "label": GROUP_LABELS.get(name, name), "fields": list(fields)}
        for name, fields in FIELD_GROUPS.items()
    ]


def personal_field_names() -> list[str]:
    return list(personal_keys())


def text(form: FormData, name: str, limit: int = 1000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def many(form: FormData, name: str, limit: int = 500) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()][:limit]


def expiry(form: FormData, name: str = "expires") -> datetime:
    """A date from a date input, as the end of that day in UTC; 30 days when left empty."""
    raw = text(form, name, 40)
    if not raw:
        return datetime.now(UTC) + timedelta(days=30)
    try:
        day = datetime.fromisoformat(raw)
    except ValueError as error:
        raise InvalidError(f"'{raw}' is not a date", hint="pick a date, e.g. 2030-01-31") from error
    if day.tzinfo is None:
        day = day.replace(tzinfo=UTC)
    if len(raw) <= 10:
        day = day + timedelta(days=1) - timedelta(seconds=1)
    return day

"""Which parts of a case record are personal, and how they are split, grouped and redacted.

``personal: true`` in ``case-fields.yaml`` marks the direct identifiers and contact details.
In the hub those fields (and personal event attributes such as the street) are encrypted
together per record; the rest is stored as JSON for filtering and statistics. Shares grant
personal fields by name or by group; everything not granted is redacted.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from ctip.hub.crypto import BLIND_INDEXED, blind_index, person_name
from ctip.hub.errors import InvalidError
from ctip.ingest.mapping import EVENT_TYPES
from ctip.model.fields import case_schema


@cache
def personal_keys() -> tuple[str, ...]:
    """Flat keys of every personal value: case fields and events.<type>.<attribute>."""
    schema = case_schema()
    keys = [spec.name for spec in schema.fields if spec.personal]
    keys += [
        f"events.{event_type}.{spec.name}"
        for event_type in EVENT_TYPES
        for spec in schema.event_fields
        if spec.personal
    ]
    return tuple(keys)


FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "names": ("first_name", "middle_name", "last_name"),
    "identity": ("identity_number", "birth_date"),
    "contacts": (
        "email",
        "phone",
        "home_phone",
        "mailing_street",
        "mailing_city",
        "mailing_postal_code",
        *(f"events.{t}.street" for t in EVENT_TYPES),
    ),
    "case_notes": ("case_owner", "case_comment"),
}


def expand_fields(requested: list[str]) -> list[str]:
    """Field names and group names -> the personal fields they grant, checked."""
    known = set(personal_keys())
    chosen: set[str] = set()
    for name in requested:
        if name in FIELD_GROUPS:
            chosen.update(FIELD_GROUPS[name])
        elif name in known:
            chosen.add(name)
        else:
            raise InvalidError(
                f"'{name}' is not a personal field or group",
                hint="groups: " + ", ".join(FIELD_GROUPS) + "; non-personal fields are always"
                " shared",
            )
    return sorted(chosen)


def split_personal(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    personal = set(personal_keys())
    public = {k: v for k, v in values.items() if k not in personal}
    private = {k: v for k, v in values.items() if k in personal}
    return public, private


def nest(values: dict[str, Any]) -> dict[str, Any]:
    """Flat ``events.<type>.<attr>`` keys back to ``{"events": {type: {attr: value}}}``."""
    record: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("events."):
            _, event_type, attribute = key.split(".", 2)
            record.setdefault("events", {}).setdefault(event_type, {})[attribute] = value
        else:
            record[key] = value
    return record


def blind_indexes(key: bytes, personal: dict[str, Any]) -> dict[str, bytes | None]:
    name = person_name(
        personal.get("first_name"), personal.get("last_name"), personal.get("birth_date")
    )
    values = {
        "identity_number": personal.get("identity_number"),
        "email": personal.get("email"),
        "phone": personal.get("phone"),
        "name": name,
    }
    return {f"bi_{kind}": blind_index(key, kind, values[kind]) for kind in BLIND_INDEXED}


def encode(values: dict[str, Any]) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode(blob: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(blob)
    return decoded

"""CTIP code lists: HTCDS picklists plus documented extensions, loaded from code-lists.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ctip.model.htcds import load_htcds
from ctip.model.resources import load_yaml

DATA_PACKAGE = "ctip.model.data"


@dataclass(frozen=True)
class Code:
    code: str
    label: str
    definition: str = ""
    source: str = "HTCDS"
    extension: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeList:
    name: str
    codes: tuple[Code, ...]
    htcds: str | None

    def values(self) -> list[str]:
        return [c.code for c in self.codes]

    def get(self, code: str) -> Code | None:
        for entry in self.codes:
            if entry.code == code:
                return entry
        return None

    def lenient_lookup(self) -> dict[str, str]:
        """Lower-cased code or label (and the label with spaces removed) -> code.

        Agencies write "Debt bondage", "debt_bondage" or "DebtBondage"; all mean one code.
        """
        table: dict[str, str] = {}
        for entry in self.codes:
            for text in (entry.code, entry.label):
                key = text.strip().lower()
                table.setdefault(key, entry.code)
                squashed = "".join(ch for ch in key if ch.isalnum())
                if squashed:
                    table.setdefault(squashed, entry.code)
        return table


_RESERVED = {"code", "label", "definition", "source", "extension"}


def _entry(raw: dict[str, Any], source: str, *, extension: bool = False) -> Code:
    attributes = {k: v for k, v in raw.items() if k not in _RESERVED}
    return Code(
        code=str(raw["code"]),
        label=str(raw.get("label", raw["code"])),
        definition=str(raw.get("definition", "")),
        source=str(raw.get("source", source)),
        extension=extension,
        attributes=attributes,
    )


@cache
def load_code_lists() -> dict[str, CodeList]:
    htcds = load_htcds()
    raw_lists: dict[str, Any] = load_yaml(DATA_PACKAGE, "code-lists.yaml")
    result: dict[str, CodeList] = {}
    for name, spec in raw_lists.items():
        codes: list[Code] = []
        if spec.get("htcds"):
            codes.extend(
                Code(c.code, c.label, c.definition, "HTCDS") for c in htcds.codes(spec["htcds"])
            )
        codes.extend(_entry(raw, "CTIP") for raw in spec.get("codes", []))
        codes.extend(_entry(raw, "CTIP", extension=True) for raw in spec.get("extensions", []))
        result[name] = CodeList(name, tuple(codes), spec.get("htcds"))
    return result


def code_list(name: str) -> CodeList:
    return load_code_lists()[name]

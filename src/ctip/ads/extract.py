"""``extract_identifiers``: every contact identifier in an ad, each with its evidence.

The ad's title and body are read as one text joined by a line break, so a number split between
them ("Call 702" / "555-0123 ask for Amy") is still found; its evidence then has one span in
each field. The ad's URL is read on its own (listing URLs often carry the poster's number).
Values are deduplicated; each keeps every place it was seen.

This is the function other capabilities reuse (crypto links wallets found here; media adds
image links next to these identifiers), so its output is plain data: ``Extraction`` with lists
of ``Found`` values, each with ``Evidence`` spans in the original field text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ctip.ads.contacts import Hit, find_ages, find_emails, find_handles, find_prices, find_urls
from ctip.ads.normalize import Normalized, normalize
from ctip.ads.phones import find_phones
from ctip.ads.regions import region_hints
from ctip.ads.wallets import find_wallets

TEXT_FIELDS = ("title", "body")
KINDS = ("phones", "emails", "handles", "urls", "crypto", "prices", "ages")


@dataclass(frozen=True)
class Evidence:
    """Where a value was read: the field, the span in that field's original text, the text."""

    field: str
    start: int
    end: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text}


@dataclass
class Found:
    value: str
    evidence: list[Evidence] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            **self.detail,
            "evidence": [e.as_dict() for e in self.evidence],
        }


@dataclass
class Extraction:
    phones: list[Found] = field(default_factory=list)
    emails: list[Found] = field(default_factory=list)
    handles: list[Found] = field(default_factory=list)
    urls: list[Found] = field(default_factory=list)
    crypto: list[Found] = field(default_factory=list)
    prices: list[Found] = field(default_factory=list)
    ages: list[Found] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: [f.as_dict() for f in getattr(self, kind)] for kind in KINDS}

    def values(self, kind: str) -> list[str]:
        return [f.value for f in getattr(self, kind)]

    def identifier_rows(self) -> Iterable[tuple[str, str, str | None, Evidence]]:
        """(kind, value, detail, evidence) for every sighting of a linking identifier."""
        singular = {"phones": "phone", "emails": "email", "handles": "handle", "urls": "url"}
        for plural, kind in [*singular.items(), ("crypto", "wallet")]:
            for found in getattr(self, plural):
                detail = found.detail.get("currency") or found.detail.get("platform")
                for evidence in found.evidence:
                    yield kind, found.value, detail, evidence


class FieldText:
    """Several fields read as one text, with a way back from a span to (field, span) parts."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = [(name, value) for name, value in fields if value]
        self.starts: list[int] = []
        position = 0
        parts = []
        for name, value in self.fields:
            self.starts.append(position)
            parts.append(value)
            position += len(value) + 1
            del name
        self.text = "\n".join(parts)
        self.folded: Normalized = normalize(self.text)

    def evidence(self, start: int, end: int, *, folded: bool = True) -> list[Evidence]:
        """Evidence for a span of the folded (or original) combined text, split by field."""
        if folded:
            start, end = self.folded.source_span(start, end)
        found = []
        for (name, value), offset in zip(self.fields, self.starts, strict=True):
            lo, hi = max(start, offset), min(end, offset + len(value))
            if lo < hi:
                found.append(
                    Evidence(name, lo - offset, hi - offset, value[lo - offset : hi - offset])
                )
        return found


class _Collector:
    """Deduplicates values of one kind, merging their evidence."""

    def __init__(self) -> None:
        self.items: dict[str, Found] = {}

    def add(self, value: str, evidence: list[Evidence], detail: Mapping[str, Any] = ()) -> None:  # type: ignore[assignment]
        found = self.items.get(value)
        if found is None:
            found = self.items[value] = Found(value, [], dict(detail))
        for item in evidence:
            if item not in found.evidence:
                found.evidence.append(item)

    def result(self) -> list[Found]:
        return list(self.items.values())


def extract_identifiers(
    ad: str | Mapping[str, Any], *, region: str = "US", fields: tuple[str, ...] = TEXT_FIELDS
) -> Extraction:
    """All identifiers in an ad: a text, or a mapping with title/body/url (and age)."""
    if isinstance(ad, str):
        record: Mapping[str, Any] = {"body": ad}
    else:
        record = ad
    main = FieldText([(name, str(record.get(name) or "")) for name in fields])
    collectors = {kind: _Collector() for kind in KINDS}
    url_text = str(record.get("url") or "")

    def hints() -> tuple[str, ...]:
        places = [str(record.get(name) or "") for name in ("location", "site")]
        return region_hints(*places, main.text, url_text, default=region)

    _scan(main, collectors, region, hints)
    if url_text:
        _scan(FieldText([("url", url_text)]), collectors, region, hints, url_field=True)
    age = record.get("age")
    if age not in (None, ""):
        text = str(age).strip()
        if text.isdigit() and 12 <= int(text) <= 79:
            collectors["ages"].add(text, [Evidence("age", 0, len(text), text)], {"age": int(text)})
    return Extraction(**{kind: collectors[kind].result() for kind in KINDS})


def _scan(
    source: FieldText,
    out: dict[str, _Collector],
    region: str,
    hints: Callable[[], tuple[str, ...]],
    *,
    url_field: bool = False,
) -> None:
    folded = source.folded.text
    if not folded:
        return
    for phone in find_phones(folded, region, fallback=hints, url=url_field):
        evidence = source.evidence(phone.start, phone.end)
        shown = "".join(e.text for e in evidence)
        obfuscated = not all(c.isdigit() or c in " -.()+/" for c in shown)
        out["phones"].add(phone.e164, evidence, {"obfuscated": obfuscated})
    finders = [("urls", find_urls)]
    if not url_field:
        finders += [("emails", find_emails), ("handles", find_handles)]
    for kind, finder in finders:
        for hit in finder(folded):
            _add_hit(source, out[kind], hit)
            if kind == "urls":
                handle = dict(hit.detail).get("handle")
                if isinstance(handle, str):
                    platform = handle.split(":", 1)[0]
                    out["handles"].add(
                        handle, source.evidence(hit.start, hit.end), {"platform": platform}
                    )
    if url_field:
        return
    for wallet in find_wallets(source.text):
        out["crypto"].add(
            wallet.address,
            source.evidence(wallet.start, wallet.end, folded=False),
            {"currency": wallet.currency, "kind": wallet.kind},
        )
    for hit in find_prices(folded):
        _add_hit(source, out["prices"], hit)
    for hit in find_ages(folded):
        _add_hit(source, out["ages"], hit)


def _add_hit(source: FieldText, collector: _Collector, hit: Hit) -> None:
    collector.add(hit.value, source.evidence(hit.start, hit.end), dict(hit.detail))

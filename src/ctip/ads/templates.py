"""InfoShield-style cluster summaries: the shared template and the slots that vary.

InfoShield (Lee, Vajiac, Rabbany, Faloutsos et al., ICDE 2021) explains a cluster of ads as one
template plus, for each ad, the words that fill its slots, and keeps the explanation only when
it is shorter than the ads themselves (minimum description length). This module does the same
in a lighter way: the cluster's medoid (the ad whose words agree most with the others) is
aligned with every other ad (``difflib`` longest matching blocks on word sequences); medoid
words matched in at least half of the ads form the template, runs of the others become slots,
and for each slot the words each ad put there are collected and typed (age, price, number,
name, city, text). ``compression`` is total words of the ads divided by the words needed to
write the template once plus every slot value: high values mean a strong template.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache
from typing import Any

from ctip.ads.generate import CITIES, phrases
from ctip.ads.normalize import fold

WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?|[0-9]+")
MAX_DOCS = 40
SLOT_MARK = "[{}]"


@dataclass
class Slot:
    index: int
    kind: str
    values: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "slot": self.index,
            "kind": self.kind,
            "distinct": len(self.values),
            "values": [v for v, _ in self.values.most_common(8)],
        }


@dataclass
class Template:
    text: str
    slots: list[Slot]
    size: int
    compression: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.text,
            "slots": [s.as_dict() for s in self.slots],
            "size": self.size,
            "compression": self.compression,
        }


@cache
def _known() -> tuple[frozenset[str], frozenset[str]]:
    names = frozenset(str(n).lower() for n in phrases()["names"])
    cities = frozenset(fold(c.split(",")[0]) for c in CITIES)
    return names, cities


def _kind(values: Counter[str]) -> str:
    names, cities = _known()
    seen = [v for v in values if v]
    if not seen:
        return "optional"
    if all(v.isdigit() for v in seen):
        numbers = [int(v) for v in seen]
        if all(16 <= n <= 60 for n in numbers):
            return "age"
        if all(20 <= n <= 5000 for n in numbers):
            return "price"
        return "number"
    if all(v in names for v in seen):
        return "name"
    if all(v in cities for v in seen):
        return "city"
    return "text"


def summarise(texts: Sequence[str]) -> Template:
    """The template and slots of a cluster's ads (at most 40 are aligned)."""
    docs = [WORDS.findall(fold(t)) for t in texts[:MAX_DOCS]]
    docs = [d for d in docs if d] or [[]]
    medoid = _medoid(docs)
    base = docs[medoid]
    votes = [0] * len(base)
    alignments = []
    for index, doc in enumerate(docs):
        if index == medoid:
            alignments.append({i: i for i in range(len(base))})
            continue
        mapping: dict[int, int] = {}
        matcher = SequenceMatcher(None, base, doc, autojunk=False)
        for block in matcher.get_matching_blocks():
            for offset in range(block.size):
                mapping[block.a + offset] = block.b + offset
        alignments.append(mapping)
        for position in mapping:
            votes[position] += 1
    keep = [v + 1 >= len(docs) / 2 for v in votes] if len(docs) > 1 else [True] * len(base)
    # positions of template words, and slot regions between them
    pieces: list[str] = []
    slots: list[Slot] = []
    regions: list[tuple[int, int]] = []
    position = 0
    while position < len(base):
        if keep[position]:
            pieces.append(base[position])
            position += 1
            continue
        end = position
        while end < len(base) and not keep[end]:
            end += 1
        regions.append((position, end))
        pieces.append(SLOT_MARK.format(len(regions)))
        position = end
    for number, (start, end) in enumerate(regions, start=1):
        slot = Slot(number, "text")
        for doc, mapping in zip(docs, alignments, strict=True):
            left = next((mapping[p] for p in range(start - 1, -1, -1) if p in mapping), -1)
            right = next((mapping[p] for p in range(end, len(base)) if p in mapping), len(doc))
            if left < right:
                slot.values[" ".join(doc[left + 1 : right])] += 1
        slot.kind = _kind(slot.values)
        slots.append(slot)
    template_words = sum(1 for k in keep if k)
    slot_words = sum(len(v.split()) * c for s in slots for v, c in s.values.items())
    total = sum(len(d) for d in docs)
    compression = round(total / max(1, template_words + slot_words), 2)
    return Template(" ".join(pieces), slots, len(texts), compression)


def _medoid(docs: list[list[str]]) -> int:
    if len(docs) <= 2:
        return 0
    sets = [set(d) for d in docs]
    best, best_score = 0, -1.0
    for index, words in enumerate(sets):
        score = sum(len(words & other) / max(1, len(words | other)) for other in sets)
        if score > best_score:
            best, best_score = index, score
    return best

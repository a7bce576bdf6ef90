"""Find phone numbers in folded ad text, however they are written.

The finder works on digit *groups* rather than characters, because that is how people write
and obfuscate numbers: "7O2*6O5*l961", "for80 2sixseven one9zerofor", "[9][0][4] [4][6][8]",
"TwO/6/zERo-FouR/0/NiNe-4/eIgHt/1/One", "+9197;11;50;88;88".

1. Each alphanumeric token is read into digit pieces (``numwords.read_token``); a piece is a
   group. Ordinary words break a number; so do currency and percent signs, so prices and ages
   next to a number are not swallowed by it.
2. Groups separated only by short runs of punctuation, spaces, emoji or a line break (a number
   split between an ad's title and body) form a *run*. A run never starts with a weak group
   ("for", "o", "i"); a weak group may end a number ("2l5 555 lOIl") at a cost in its score.
3. Inside a run, candidate numbers must start and end on group boundaries, never inside a
   group, so "5'10 323 555 1212" yields 323-555-1212 and not 510-323-5551. Every candidate is
   checked with libphonenumber (``is_valid_number`` for the region, or for its own country when
   written with ``+`` or an international prefix); spans that look like dates are refused.
4. A small dynamic programme picks the non-overlapping set of valid candidates with the best
   total score: more numbers first, then the usual groupings (3-3-4, 1-3-3-4, 10 or 11 digits),
   then fewer weak groups.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import phonenumbers

from ctip.ads.numwords import DIGIT_WORDS, TENS_WORDS, read_token
from ctip.ads.trie import trie_pattern

TOKEN = re.compile(r"[^\W_]+")

_WORD_ALTERNATION = trie_pattern([*DIGIT_WORDS, *TENS_WORDS, "hundred", "thousand", "mil", "cien"])
# Only tokens that can hold digits: any token with a digit, or a token made only of number
# words or look-alike letters. Ordinary words are skipped by the regex engine, not by Python.
# Folding turns every digit and number-word letter into ASCII, so ASCII classes suffice.
CANDIDATE_TOKEN = re.compile(
    r"(?<![a-z0-9])(?:[a-z]*[0-9][a-z0-9]*|(?:" + _WORD_ALTERNATION + r"|[oli])+(?![a-z0-9]))"
)
BREAKERS = frozenset("$€£¥%#¢₹₽")
URL_BREAKERS = frozenset("/?=&#%")
MAX_GAP = 6
MAX_SPACED_GAP = 12
MAX_DIGITS = 15
NANP = frozenset({"US", "CA", "PR", "VI", "GU", "AS", "MP", "DO", "JM", "BS", "BB", "TT"})
CANONICAL_NANP = ((3, 3, 4), (1, 3, 3, 4), (10,), (11,), (3, 7), (1, 10), (1, 3, 7), (4, 3, 4))


class Group(NamedTuple):
    digits: str
    start: int  # in folded text
    end: int
    weak: bool
    open_before: bool  # may join the group before it
    open_after: bool


@dataclass(frozen=True)
class PhoneMatch:
    e164: str
    start: int  # span in folded text
    end: int
    digits: str
    groups: int
    obfuscated: bool


def digit_groups(text: str) -> list[Group]:
    """The digit groups of folded text, in order."""
    groups: list[Group] = []
    append = groups.append
    for match in CANDIDATE_TOKEN.finditer(text):
        token = match.group()
        pieces = read_token(token)
        if not pieces:
            continue
        base = match.start()
        if len(pieces) == 1:
            only = pieces[0]
            append(
                Group(
                    only.digits,
                    base + only.start,
                    base + only.end,
                    only.weak,
                    only.start == 0,
                    only.end == len(token),
                )
            )
            continue
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            before_ok = piece.start == 0 if index == 0 else pieces[index - 1].end == piece.start
            after_ok = (
                piece.end == len(token) if index == last else pieces[index + 1].start == piece.end
            )
            groups.append(
                Group(
                    piece.digits,
                    base + piece.start,
                    base + piece.end,
                    piece.weak,
                    before_ok,
                    after_ok,
                )
            )
    return _merge_tens(text, groups)


def _merge_tens(text: str, groups: list[Group]) -> list[Group]:
    """ "ninety three", "setenta y dos": a tens word and a unit word are one two-digit group."""
    merged: list[Group] = []
    for group in groups:
        if merged:
            previous = merged[-1]
            gap = text[previous.end : group.start]
            if (
                gap in (" ", "-", " y ", "_", " - ")
                and len(group.digits) == 1
                and text[previous.start : previous.end] in TENS_WORDS
                and len(DIGIT_WORDS.get(text[group.start : group.end], "")) == 1
                and group.digits != "0"
            ):
                merged[-1] = Group(
                    previous.digits[0] + group.digits,
                    previous.start,
                    group.end,
                    False,
                    previous.open_before,
                    group.open_after,
                )
                continue
        merged.append(group)
    return merged


def _joinable(text: str, left: Group, right: Group, breakers: frozenset[str]) -> bool:
    if not (left.open_after and right.open_before):
        return False
    if left.end == right.start:
        return True
    gap = text[left.end : right.start]
    if len(gap) > MAX_SPACED_GAP:
        return False
    # "773$2four0$13seventeen": a sign squeezed between digits is a separator, but
    # "$150 $250" are prices.
    if any(c in breakers for c in gap) and (
        breakers is URL_BREAKERS or len(gap) > 2 or any(c.isspace() for c in gap)
    ):
        return False
    if len(gap) > MAX_GAP and len(gap.strip()) > 3:
        return False
    return gap.count("\n") <= 2


def runs(text: str, groups: list[Group], breakers: frozenset[str] = BREAKERS) -> list[list[Group]]:
    """Split groups into runs of joinable neighbours; a run never starts with a weak group."""
    found: list[list[Group]] = []
    current: list[Group] = []
    for group in groups:
        if current and not _joinable(text, current[-1], group, breakers):
            found.append(current)
            current = []
        current.append(group)
    if current:
        found.append(current)
    trimmed = []
    for run in found:
        start, end = 0, len(run)
        while start < end and run[start].weak:
            start += 1
        if start < end:
            trimmed.append(run[start:end])
    return trimmed


@lru_cache(maxsize=200_000)
def validate(digits: str, region: str, international: bool) -> str | None:
    """E.164 form of ``digits`` when libphonenumber calls it a valid number, else None."""
    try:
        number = phonenumbers.parse(("+" if international else "") + digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _looks_like_date(sizes: list[int], values: list[str]) -> bool:
    for i in range(len(values) - 2):
        a, b, c = values[i : i + 3]
        day_first = sizes[i] <= 2 and sizes[i + 1] <= 2 and sizes[i + 2] == 4
        if day_first and 1 <= int(a) <= 31 and 1 <= int(b) <= 31 and 1900 <= int(c) <= 2099:
            return True
        year_first = sizes[i] == 4 and sizes[i + 1] <= 2 and sizes[i + 2] <= 2
        if year_first and 1900 <= int(a) <= 2099 and 1 <= int(b) <= 12 and 1 <= int(c) <= 31:
            return True
    return False


def _international_prefix(text: str, start: int) -> bool:
    position = start - 1
    while position >= 0 and text[position] in " \t(":
        position -= 1
    return position >= 0 and text[position] == "+"


def _candidates(
    text: str, run: list[Group], cumulative: dict[int, int], first: int, region: str
) -> list[tuple[int, float, PhoneMatch]]:
    """Valid numbers starting at group ``first``: (end group index, score, match).

    ``cumulative`` maps a digit count before a group boundary to that boundary's index, so
    the groups that end a 10- or 11-digit number are looked up rather than scanned for.
    """
    head = run[first]
    if head.weak:
        return []
    international = _international_prefix(text, head.start)
    nanp = region in NANP and not international
    before = next(count for count, index in cumulative.items() if index == first)
    lengths = (10, 11) if nanp else range(7, MAX_DIGITS + 1)
    found: list[tuple[int, float, PhoneMatch]] = []
    for length in lengths:
        stop = cumulative.get(before + length)
        if stop is None:
            continue
        chosen = run[first:stop]
        sizes = [len(g.digits) for g in chosen]
        values = [g.digits for g in chosen]
        digits = "".join(values)
        if nanp and not _nanp_shape(digits, sizes):
            continue
        if _looks_like_date(sizes, values):
            continue
        e164 = validate(digits, region, international)
        if e164 is None:
            continue
        weak = sum(g.weak for g in chosen)
        score = 10.0 - 2.0 * weak
        if nanp and tuple(sizes) in CANONICAL_NANP:
            score += 3.0
        elif max(sizes) == 1:
            score += 2.0  # one digit at a time: a deliberate spelling-out
        start = text.rindex("+", 0, head.start) if international else head.start
        match = PhoneMatch(e164, start, chosen[-1].end, digits, len(sizes), False)
        found.append((stop, score + 0.01 * len(sizes), match))
    return found


def _nanp_shape(digits: str, sizes: list[int]) -> bool:
    if len(digits) == 10:
        return digits[0] != "1"
    if len(digits) == 11 and digits[0] == "1":
        return sizes[0] == 1 or sizes[0] in (4, 7, 11)
    return False


def find_phones(
    text: str,
    region: str = "US",
    *,
    fallback: Callable[[], tuple[str, ...]] | None = None,
    url: bool = False,
) -> list[PhoneMatch]:
    """Every phone number in folded ``text`` (see the module docstring), in text order.

    ``fallback`` is asked (once, lazily) for other regions to try on a run of digits that
    holds no number valid in ``region``; ``url`` makes path and query separators break runs.
    """
    results: list[PhoneMatch] = []
    groups = digit_groups(text)
    if len(groups) < 7 and sum(len(g.digits) for g in groups) < 7:
        return results
    others: tuple[str, ...] | None = None
    for run in runs(text, groups, URL_BREAKERS if url else BREAKERS):
        total = sum(len(g.digits) for g in run)
        if total < 7:
            continue
        found = _best_cover(text, run, region)
        if not found and fallback is not None and total >= 8 and run[0].digits[0] == "0":
            # a national number with its trunk prefix ("07440 566047"): try the places named
            if others is None:
                others = tuple(r for r in fallback() if r != region)
            for other in others:
                found = _best_cover(text, run, other)
                if found:
                    break
        results.extend(found)
    return results


def _best_cover(text: str, run: list[Group], region: str) -> list[PhoneMatch]:
    size = len(run)
    best: list[tuple[float, list[PhoneMatch]]] = [(0.0, [])] * (size + 1)
    cumulative = {0: 0}
    count = 0
    for index, group in enumerate(run):
        count += len(group.digits)
        cumulative[count] = index + 1
    remaining = 0
    for first in range(size - 1, -1, -1):
        best[first] = best[first + 1]
        remaining += len(run[first].digits)
        if remaining < 7:
            continue
        for end, score, match in _candidates(text, run, cumulative, first, region):
            total = score + best[end][0]
            if total > best[first][0]:
                best[first] = (total, [match, *best[end][1]])
    return best[0][1]

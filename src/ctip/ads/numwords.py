"""Digits written as words or letters: "seven0two", "fouronenine2", "tres cinco", "7O2", "l961".

Each alphanumeric token of folded text is read into digit *pieces* when it can be: a token
that is entirely digits, number words (English and Spanish, with common misspellings and
leetspeak such as "th0usand") and look-alike letters becomes one piece; a token that mixes
digits with an ordinary word ("Rachel567", "tonight602", "90hr") is split, and the ordinary
word breaks the number there. Letter-for-digit swaps are trusted only where real ads use them:
``o``, ``l`` and ``i`` next to digits, and a few more letters only when digits stand on both
sides inside the token ("5S5", "7B2").

Ambiguous words ("for", "to", "too", "oh", "o", "won", "ate", "una", "once") are *weak*: they
count only when glued to other digits ("for80", "3tothree") or when a phone number continues on
both sides of them; the phone finder decides that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

UNITS_EN = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
    # misspellings seen in ads
    "zer": "0", "won": "1", "thre": "3", "tree": "3", "fore": "4", "fiv": "5", "sixx": "6",
    "sevn": "7", "sevin": "7", "eigth": "8", "eigh": "8", "ate": "8", "nin": "9", "niner": "9",
    "to": "2", "too": "2", "for": "4",
}  # fmt: skip
TEENS_EN = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
TENS_EN = {
    "twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5", "sixty": "6",
    "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
UNITS_ES = {
    "cero": "0", "uno": "1", "una": "1", "un": "1", "dos": "2", "tres": "3", "cuatro": "4",
    "cinco": "5", "seis": "6", "siete": "7", "ocho": "8", "nueve": "9",
}  # fmt: skip
TEENS_ES = {
    "diez": "10", "once": "11", "doce": "12", "trece": "13", "catorce": "14", "quince": "15",
    "dieciseis": "16", "diecisiete": "17", "dieciocho": "18", "diecinueve": "19",
    "veinte": "20", "veintiuno": "21", "veintiuna": "21", "veintidos": "22", "veintitres": "23",
    "veinticuatro": "24", "veinticinco": "25", "veintiseis": "26", "veintisiete": "27",
    "veintiocho": "28", "veintinueve": "29",
}  # fmt: skip
TENS_ES = {
    "treinta": "3", "cuarenta": "4", "cincuenta": "5", "sesenta": "6", "setenta": "7",
    "ochenta": "8", "noventa": "9",
}  # fmt: skip
MULTIPLIERS = {"hundred": "00", "thousand": "000", "cien": "00", "mil": "000"}
REPEATERS = {"double": 2, "triple": 3, "doble": 2, "triple_es": 3}

# Words that are also ordinary words: only trusted when glued to digits or inside a number.
WEAK_WORDS = frozenset({"oh", "to", "too", "for", "fore", "won", "ate", "una", "un", "once",
                        "tree", "eigh", "nin", "zer", "mil", "cien"})  # fmt: skip

DIGIT_WORDS: dict[str, str] = {**UNITS_EN, **TEENS_EN, **UNITS_ES, **TEENS_ES}
TENS_WORDS: dict[str, str] = {**TENS_EN, **TENS_ES}

LONG_CODE = 24  # letters and digits mixed in a token this long: a code, not a number
EDGE_SWAPS = {"o": "0", "l": "1", "i": "1"}
INNER_SWAPS = {**EDGE_SWAPS, "z": "2", "s": "5", "b": "8", "g": "6", "q": "9", "t": "7"}
# Digits that stand in for letters inside a spelled-out word ("th0usand", "tw0", "n1ne").
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e"})

_ALL_WORDS = sorted(
    [*DIGIT_WORDS, *TENS_WORDS, *MULTIPLIERS, "double", "triple", "doble"], key=len, reverse=True
)
NUMBER_WORD = re.compile("|".join(_ALL_WORDS))
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Piece:
    """Digits read from part of a token: positions are relative to the token."""

    digits: str
    start: int
    end: int
    weak: bool


@lru_cache(maxsize=200_000)
def spell_out(word: str) -> tuple[str, bool] | None:
    """Digits for a run of letters that is entirely number words, and whether it is weak.

    "fouronenine" -> ("419", False), "twentysix" -> ("26", False), "for" -> ("4", True),
    "someone" -> None. Dynamic programming over the word, preferring fewer, longer words.
    """
    size = len(word)
    if size == 0 or size > 80:
        return None
    best: list[tuple[int, str, bool] | None] = [None] * (size + 1)
    best[0] = (0, "", False)
    for start in range(size):
        current = best[start]
        if current is None:
            continue
        count, digits, weak = current
        for end in range(start + 1, min(size, start + 12) + 1):
            candidate = word[start:end]
            value = _word_value(candidate, digits)
            if value is None:
                continue
            new_digits, single_weak = value
            entry = (count + 1, new_digits, weak or single_weak)
            existing = best[end]
            if existing is None or entry[0] < existing[0]:
                best[end] = entry
    final = best[size]
    if final is None:
        return None
    count, digits, weak = final
    return digits, weak and count == 1


def _word_value(word: str, before: str) -> tuple[str, bool] | None:
    """Apply one number word to the digits read so far."""
    if word in DIGIT_WORDS:
        return before + DIGIT_WORDS[word], word in WEAK_WORDS
    if word in TENS_WORDS:
        return before + TENS_WORDS[word] + "0", False
    if word in MULTIPLIERS:
        if not before:
            return None
        return before + MULTIPLIERS[word], word in WEAK_WORDS
    return None


@lru_cache(maxsize=200_000)
def read_token(token: str) -> tuple[Piece, ...]:
    """Digit pieces of one folded alphanumeric token (lower case, no separators)."""
    if token.isdigit():
        return (Piece(token, 0, len(token), False),)
    has_digit = any(c.isdigit() for c in token)
    if not has_digit:
        spelled = spell_out(token)
        if spelled is not None:
            return (Piece(_tens_units(spelled[0], token), 0, len(token), spelled[1]),)
        if len(token) <= 4 and all(c in EDGE_SWAPS for c in token):
            return (Piece("".join(EDGE_SWAPS[c] for c in token), 0, len(token), True),)
        return ()
    whole = _read_mixed(token)
    if whole is not None:
        return (Piece(whole, 0, len(token), False),)
    if len(token) >= LONG_CODE:
        return ()  # a wallet address, hash or reference code, not words around a number
    return tuple(_split_mixed(token))


def _tens_units(digits: str, token: str) -> str:
    """ "twentysix" reads as 2,0,6 word by word; a tens word followed by a unit means 26."""
    return re.sub(r"([1-9])0(?=[1-9])", r"\1", digits) if _has_tens(token) else digits


def _has_tens(token: str) -> bool:
    return any(word in token for word in TENS_WORDS)


def _read_mixed(token: str) -> str | None:
    """A token mixing digits with number words or swaps ("for80", "2th0usand", "7o2", "l961")."""
    leet = token.translate(_LEET)
    out: list[str] = []
    position = 0
    size = len(token)
    while position < size:
        char = token[position]
        match = _longest_word(leet, position)
        if match is not None and _letters_in(token, position, match) >= 2:
            word = leet[position:match]
            value = _word_value(word, "".join(out))
            if value is None:
                return None
            out = [value[0]]
            position = match
            continue
        if char.isdigit():
            out.append(char)
            position += 1
            continue
        run_end = position
        while run_end < size and token[run_end].isalpha():
            run_end += 1
        run = token[position:run_end]
        inner = position > 0 and run_end < size
        swaps = INNER_SWAPS if inner else EDGE_SWAPS
        if len(run) <= 3 and all(c in swaps for c in run):
            out.append("".join(swaps[c] for c in run))
            position = run_end
            continue
        return None
    return _tens_units("".join(out), token.translate(_LEET))


def _longest_word(leet: str, position: int) -> int | None:
    match = NUMBER_WORD.match(leet, position)
    if match is None:
        return None
    # prefer the longest dictionary word starting here
    end = match.end()
    for stop in range(min(len(leet), position + 12), end, -1):
        candidate = leet[position:stop]
        if candidate in DIGIT_WORDS or candidate in TENS_WORDS or candidate in MULTIPLIERS:
            return stop
    return end


def _letters_in(token: str, start: int, end: int) -> int:
    return sum(1 for c in token[start:end] if c.isalpha())


def _split_mixed(token: str) -> list[Piece]:
    """Split a token on its ordinary words; digit parts and number words stay pieces.

    "rachel567" -> [567]; "6seven8" would have been read whole; "90hr" -> [90] followed by a
    break (the caller sees the gap between pieces and the letters in it).
    """
    pieces: list[Piece] = []
    position = 0
    for match in _LETTERS.finditer(token):
        start, end = match.span()
        if start > position:
            pieces.append(Piece(token[position:start], position, start, False))
        word = match.group()
        spelled = spell_out(word)
        glued = start > 0 or end < len(token)
        if spelled is not None:
            pieces.append(Piece(spelled[0], start, end, spelled[1] and not glued))
        position = end
    if position < len(token):
        pieces.append(Piece(token[position:], position, len(token), False))
    return pieces

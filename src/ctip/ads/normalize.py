"""Fold ad text to a plain, lower-case form while remembering where every character came from.

Ads written to dodge search use every trick Unicode offers: fullwidth and mathematical digits
(``７０２``, ``𝟕𝟎𝟐``), circled and dingbat digits (``⑦⓪②``, ``❼➉``), emoji keycaps (``7️⃣``),
Cyrillic or Greek look-alike letters (``О`` for ``O``), zero-width characters and combining
strokes inserted to break a number apart. ``normalize`` undoes all of that in one pass:

1. characters that carry nothing (zero-width spaces and joiners, variation selectors, the keycap
   and other combining marks, soft hyphens, bidi controls) are dropped;
2. look-alike letters become the Latin letter they imitate (a small table, plus the enclosed and
   regional-indicator letter blocks);
3. anything with a decimal digit value becomes that ASCII digit (Arabic-Indic, Devanagari,
   dingbat and circled digits, superscripts);
4. everything else goes through NFKC (fullwidth, mathematical alphanumerics, ligatures, circled
   letters), accents are stripped (NFKD minus combining marks), and the result is lower-cased.

The folded text keeps a map back to the original, so every value found in it can be shown to an
analyst as the exact characters the ad used (its evidence span). ASCII stretches are copied in
bulk; only non-ASCII characters go through the per-character path, with a cache.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters removed outright: they are invisible or only modify their neighbour.
_INVISIBLE = {
    "\u00ad",  # soft hyphen
    "\u034f",  # combining grapheme joiner
    "\u061c",  # arabic letter mark
    "\u180e",  # mongolian vowel separator
    "\u200b",  # zero width space
    "\u200c",  # zero width non-joiner
    "\u200d",  # zero width joiner
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u2060",  # word joiner
    "\u2061",
    "\u2062",
    "\u2063",
    "\u2064",
    "\ufeff",  # zero width no-break space / BOM
    "\u20e3",  # combining enclosing keycap
    "\u20e0",  # combining enclosing circle backslash
    "\u20dd",  # combining enclosing circle
    "\u20de",  # combining enclosing square
}
_INVISIBLE |= {chr(c) for c in range(0xFE00, 0xFE10)}  # variation selectors (emoji VS16 etc.)
_INVISIBLE |= {chr(c) for c in range(0x202A, 0x202F)}  # bidi embedding controls
_INVISIBLE |= {chr(c) for c in range(0x2066, 0x206A)}  # bidi isolates

# Look-alike letters NFKC leaves alone. Cyrillic, Greek, Armenian and a few Latin extensions.
HOMOGLYPHS: dict[str, str] = {
    # Cyrillic upper case
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p",
    "С": "c", "Т": "t", "Х": "x", "У": "y", "Ѕ": "s", "І": "i", "Ј": "j", "Ԛ": "q",
    "Ԝ": "w", "З": "3", "Ӏ": "l", "Ү": "y", "Ь": "b",
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "х": "x", "у": "y", "ѕ": "s", "і": "i", "ј": "j", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ү": "y", "һ": "h", "ԁ": "d", "ɡ": "g", "б": "6", "ь": "b",
    # Greek
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m",
    "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "ο": "o", "ν": "v",
    "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "α": "a", "ε": "e",
    "ϲ": "c", "ϳ": "j",
    # Armenian and others that imitate Latin letters or digits
    "օ": "o", "ս": "u", "ց": "g", "Օ": "o", "Ս": "u", "ǀ": "l", "ı": "i", "ȷ": "j",
    "ℓ": "l", "∅": "0", "ø": "o", "Ø": "o", "ß": "ss", "ſ": "s",
    # small capitals (phonetic block) that NFKC keeps
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ғ": "f", "ɢ": "g", "ʜ": "h",
    "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p",
    "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
    # emoji that stand for digits or letters
    "🔟": "10", "💯": "100", "⭕": "o", "🅾": "o",
}  # fmt: skip

# Enclosed letter blocks without a compatibility decomposition: A..Z in order.
_LETTER_BLOCKS = (0x1F130, 0x1F150, 0x1F170, 0x1F1E6)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=65536)
def fold_char(char: str) -> str:
    """The folded form of one character (possibly empty, possibly several characters)."""
    if char < "\x80":
        return char.lower()
    if char in _INVISIBLE:
        return ""
    if char in HOMOGLYPHS:
        return HOMOGLYPHS[char]
    code = ord(char)
    for block in _LETTER_BLOCKS:
        if block <= code < block + 26:
            return chr(ord("a") + code - block)
    digit = unicodedata.digit(char, None)
    if digit is not None:
        return str(digit)
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf"):
        return ""
    compat = unicodedata.normalize("NFKC", char)
    if compat != char:
        return "".join(fold_char(c) for c in compat)
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    )
    if stripped and stripped != char:
        return "".join(fold_char(c) for c in stripped)
    return char.lower()


@dataclass(frozen=True)
class Normalized:
    """Folded text plus, for each of its characters, the index of the original character.

    ``offsets`` is ``None`` when folding changed no positions (plain ASCII); otherwise it has
    one entry per folded character and a final entry equal to ``len(original)``.
    """

    text: str
    original: str
    offsets: tuple[int, ...] | None = None

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced ``text[start:end]``."""
        if self.offsets is None:
            return start, end
        if end <= start:
            position = self.offsets[start]
            return position, position
        return self.offsets[start], self.offsets[end - 1] + 1


def normalize(text: str) -> Normalized:
    """Fold ``text`` (see the module docstring); cheap for ASCII text."""
    if text.isascii():
        return Normalized(text.lower(), text)
    pieces: list[str] = []
    offsets: list[int] = []
    position = 0
    for match in _NON_ASCII.finditer(text):
        start, end = match.span()
        if start > position:
            pieces.append(text[position:start].lower())
            offsets.extend(range(position, start))
        for index in range(start, end):
            folded = fold_char(text[index])
            if folded:
                pieces.append(folded)
                offsets.extend([index] * len(folded))
        position = end
    if position < len(text):
        pieces.append(text[position:].lower())
        offsets.extend(range(position, len(text)))
    offsets.append(len(text))
    return Normalized("".join(pieces), text, tuple(offsets))


def fold(text: str) -> str:
    """Just the folded text, for matching where no evidence span is needed."""
    return normalize(text).text

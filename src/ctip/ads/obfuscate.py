"""Write contact details the ways ads write them to dodge search (for the generator).

The styles follow what escort-ad studies report and what scraped ads show (DIG/Memex phone
extraction work, Kejriwal & Szekely 2017; Dubrawski et al. 2015): separators of every kind,
spaced or bracketed digits, digits as English or Spanish words (sometimes glued, sometimes
"twenty three"), letter-for-digit swaps (O/0, l/1, I/1), emoji keycaps, circled, dingbat,
fullwidth and mathematical digits, look-alike Cyrillic letters, and invisible characters.
"""

from __future__ import annotations

import random

WORDS_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
WORDS_ES = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
TENS_EN = {"2": "twenty", "3": "thirty", "4": "forty", "5": "fifty", "6": "sixty",
           "7": "seventy", "8": "eighty", "9": "ninety"}  # fmt: skip
SEPARATORS = ("-", ".", " ", "*", "~", "/", " . ", "|", "_", "••", " 💋 ", "❤️", "=", "..", ")")
PLAIN_FORMATS = (
    "{a}-{b}-{c}", "({a}) {b}-{c}", "{a}.{b}.{c}", "{a}{b}{c}", "{a} {b} {c}", "+1 {a} {b} {c}",
    "1-{a}-{b}-{c}", "({a}){b}-{c}", "{a}/{b}-{c}", "+1{a}{b}{c}",
)  # fmt: skip
FULLWIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
MATH_BOLD = {str(d): chr(0x1D7CE + d) for d in range(10)}
MATH_SANS = {str(d): chr(0x1D7E2 + d) for d in range(10)}
CIRCLED = {"0": "⓪", **{str(d): chr(0x2460 + d - 1) for d in range(1, 10)}}
DINGBAT = {"0": "⓿", **{str(d): chr(0x2776 + d - 1) for d in range(1, 10)}}
KEYCAP = {str(d): f"{d}\ufe0f\u20e3" for d in range(10)}
SWAPS = {"0": ("O", "o", "О"), "1": ("l", "I", "i")}  # the Cyrillic О looks like O
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060")


def render_phone(rng: random.Random, e164: str, style: str) -> tuple[str, bool]:
    """(text, obfuscated) for a +1 number in the operator's style (varied per ad)."""
    digits = e164[2:]
    a, b, c = digits[:3], digits[3:6], digits[6:]
    if rng.random() < 0.3:
        style = rng.choice(("plain", "plain", "mild", "heavy", "unicode"))
    if style == "plain":
        return rng.choice(PLAIN_FORMATS).format(a=a, b=b, c=c), False
    if style == "mild":
        return _mild(rng, a, b, c), True
    if style == "heavy":
        return _heavy(rng, a, b, c), True
    return _unicode(rng, a, b, c), True


def _mild(rng: random.Random, a: str, b: str, c: str) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        separator = rng.choice(SEPARATORS)
        return separator.join((a, b, c))
    if choice == 1:
        return " ".join(a + b + c)
    if choice == 2:
        return "".join(f"[{d}]" for d in a) + " " + "".join(f"[{d}]" for d in b + c)
    if choice == 3:
        return rng.choice(("-", "*", ".", " ")).join(_swap(rng, g, 0.7) for g in (a, b, c))
    return f"{a} {_words(rng, b, WORDS_EN, glue=True)} {c}"


def _heavy(rng: random.Random, a: str, b: str, c: str) -> str:
    choice = rng.randrange(6)
    words = WORDS_ES if rng.random() < 0.25 else WORDS_EN
    if choice == 0:
        return " ".join(_words(rng, g, words, glue=False) for g in (a, b, c))
    if choice == 1:
        return rng.choice(("-", " ", "/", "*")).join(_mixed(rng, g, words) for g in (a, b, c))
    if choice == 2:
        return " ".join(_case(rng, words[int(d)]) for d in a + b + c)
    if choice == 3 and words is WORDS_EN and c[2] != "0" and c[2] != "1" and c[2] in TENS_EN:
        return (
            f"{a} {b} {_words(rng, c[:2], words, glue=True)} {TENS_EN[c[2]]} {words[int(c[3])]}"
            if c[3] != "0"
            else f"{a}-{b}-{c}"
        )
    if choice == 4:
        return (
            "{"
            + _mixed(rng, a, words)
            + "}..{"
            + _mixed(rng, b, words)
            + "}..{"
            + _mixed(rng, c, words)
            + "}"
        )
    separator = rng.choice(("/", "-", "~"))
    return separator.join(_case(rng, words[int(d)]) if rng.random() < 0.5 else d for d in a + b + c)


def _unicode(rng: random.Random, a: str, b: str, c: str) -> str:
    table = rng.choice((FULLWIDTH, MATH_BOLD, MATH_SANS, CIRCLED, DINGBAT, KEYCAP, None))
    separator = rng.choice(("-", " ", ".", "", "•"))
    if table is None:  # look-alike letters and invisible characters
        text = separator.join(_swap(rng, g, 0.9) for g in (a, b, c))
        return "".join(ch + (rng.choice(ZERO_WIDTH) if rng.random() < 0.3 else "") for ch in text)
    return separator.join("".join(table[d] for d in group) for group in (a, b, c))


def _swap(rng: random.Random, group: str, rate: float) -> str:
    return "".join(rng.choice(SWAPS[d]) if d in SWAPS and rng.random() < rate else d for d in group)


def _case(rng: random.Random, word: str) -> str:
    pick = rng.randrange(4)
    if pick == 0:
        return word.upper()
    if pick == 1:
        return word.capitalize()
    if pick == 2:
        return "".join(ch.upper() if rng.random() < 0.5 else ch for ch in word)
    return word


def _words(rng: random.Random, group: str, words: tuple[str, ...], *, glue: bool) -> str:
    joiner = "" if glue else " "
    return joiner.join(_case(rng, words[int(d)]) for d in group)


def _mixed(rng: random.Random, group: str, words: tuple[str, ...]) -> str:
    """Digits and words glued in one token: "6seven8", "zerothree8"."""
    return "".join(_case(rng, words[int(d)]) if rng.random() < 0.5 else d for d in group)


def render_email(rng: random.Random, email: str, style: str) -> str:
    local, domain = email.split("@")
    name, tld = domain.rsplit(".", 1)
    if style == "plain" or rng.random() < 0.4:
        return email
    pick = rng.randrange(5)
    if pick == 0:
        return f"{local} at {name} dot {tld}"
    if pick == 1:
        return f"{local} (at) {name} (dot) {tld}"
    if pick == 2:
        return f"{local}[at]{name}[.]{tld}"
    if pick == 3:
        return f"{local} @ {name} . {tld}"
    return f"{local}＠{name}．{tld}"


def render_handle(rng: random.Random, platform: str, handle: str) -> str:
    labels = {
        "instagram": ("IG: ", "Insta: @", "instagram ", "instagram.com/"),
        "snapchat": ("SC: ", "Snap: ", "snapchat ", "add me on snapchat "),
        "kik": ("kik me ", "Kik: ", "kik "),
        "telegram": ("Telegram: @", "TG: ", "t.me/"),
    }
    return rng.choice(labels[platform]) + handle

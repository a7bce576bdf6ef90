"""E-mail addresses, social handles, URLs, prices and ages in folded ad text.

All patterns run on the folded text (``normalize``), so "ｎａｍｅ＠ｇｍａｉｌ．ｃｏｍ", "name (at)
gmail [dot] com" and "name at gmail dot com" read the same. Spelled-out forms are accepted
only where a mistake is unlikely: the "at"/"dot" words need a known mail provider or a real
top-level domain, and short platform abbreviations ("ig", "sc", "of", "tg") need a colon or an
"@" after them, because "of" and "sc" are also ordinary words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ctip.ads.numwords import read_token
from ctip.ads.trie import trie_pattern

COMMON_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "info",
        "biz",
        "me",
        "io",
        "co",
        "us",
        "ca",
        "uk",
        "au",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "ru",
        "br",
        "mx",
        "in",
        "cn",
        "jp",
        "kr",
        "ch",
        "at",
        "be",
        "se",
        "no",
        "dk",
        "fi",
        "pl",
        "cz",
        "pt",
        "gr",
        "tr",
        "ua",
        "ro",
        "hu",
        "ie",
        "nz",
        "za",
        "ar",
        "cl",
        "pe",
        "ve",
        "ec",
        "bo",
        "uy",
        "py",
        "do",
        "cr",
        "pa",
        "gt",
        "hn",
        "sv",
        "ni",
        "cu",
        "pr",
        "ph",
        "th",
        "vn",
        "my",
        "sg",
        "id",
        "hk",
        "tw",
        "pk",
        "bd",
        "ng",
        "ke",
        "gh",
        "eg",
        "ma",
        "dz",
        "tn",
        "ae",
        "sa",
        "qa",
        "kw",
        "il",
        "ir",
        "iq",
        "xyz",
        "online",
        "site",
        "club",
        "live",
        "email",
        "app",
        "dev",
        "top",
        "vip",
        "store",
        "shop",
        "fun",
        "link",
        "mobi",
        "name",
        "pro",
        "tv",
        "cc",
        "ws",
        "eu",
        "asia",
        "one",
        "today",
        "world",
        "life",
        "love",
        "sexy",
        "escort",
        "adult",
        "xxx",
        "porn",
        "ly",
        "gl",
        "gg",
        "to",
        "fm",
        "am",
    ]
)
PROVIDERS = {
    "gmail": "gmail.com", "yahoo": "yahoo.com", "hotmail": "hotmail.com",
    "outlook": "outlook.com", "icloud": "icloud.com", "aol": "aol.com", "ymail": "ymail.com",
    "protonmail": "protonmail.com", "proton": "proton.me", "gmx": "gmx.com",
    "yandex": "yandex.ru", "live": "live.com", "msn": "msn.com",
}  # fmt: skip

_AT = r"(?:\s*@\s*|\s*[\(\[\{<]\s*(?:at|@|arroba)\s*[\)\]\}>]\s*|\s+(?:at|arroba)\s+)"
_DOT = r"(?:\.(?=[a-z0-9])|\s+\.\s+|\s*[\(\[\{<]\s*(?:dot|punto|\.)\s*[\)\]\}>]\s*|\s+(?:dot|punto)\s+)"
EMAIL = re.compile(
    r"(?<![\w.+-])([a-z0-9][a-z0-9._%+-]{0,63})"
    + _AT
    + r"([a-z0-9][a-z0-9-]{0,62}(?:"
    + _DOT
    + r"[a-z0-9][a-z0-9-]{0,62}){0,4})(?![\w-])"
)
_DOT_SPLIT = re.compile(_DOT)
_SPELLED = re.compile(r"\b(?:at|dot|arroba|punto)\b")

PLATFORMS = {
    "instagram": "instagram", "insta": "instagram", "ig": "instagram",
    "snapchat": "snapchat", "snap": "snapchat", "sc": "snapchat",
    "kik": "kik", "telegram": "telegram", "tg": "telegram", "twitter": "twitter",
    "tiktok": "tiktok", "onlyfans": "onlyfans", "of": "onlyfans", "fansly": "fansly",
    "facebook": "facebook", "fb": "facebook", "wechat": "wechat", "line": "line",
    "skype": "skype", "discord": "discord", "reddit": "reddit", "cashapp": "cashapp",
    "cash app": "cashapp", "venmo": "venmo", "signal": "signal", "whatsapp": "whatsapp",
    "wickr": "wickr", "session": "session", "threema": "threema", "x": "twitter",
}  # fmt: skip
NEEDS_COLON = frozenset({"ig", "sc", "of", "tg", "fb", "line", "x", "snap", "signal", "session",
                         "insta"})  # fmt: skip
HANDLE_STOPWORDS = frozenset(
    [
        "me",
        "at",
        "is",
        "my",
        "on",
        "the",
        "and",
        "or",
        "for",
        "to",
        "you",
        "u",
        "add",
        "hit",
        "up",
        "only",
        "text",
        "call",
        "dm",
        "pm",
        "msg",
        "message",
        "now",
        "here",
        "handle",
        "id",
        "name",
        "user",
        "username",
        "account",
        "page",
        "with",
        "me:",
        "please",
        "plz",
        "pls",
    ]
)
HANDLE = re.compile(
    r"(?<![a-z0-9/.@_])("
    + trie_pattern(list(PLATFORMS))
    + r")(?![a-z0-9_])(\s*(?:[:=\-]|\bme\b|\bid\b|\bis\b|\bat\b|\bon\b)*\s*)(@?)([a-z0-9_][a-z0-9_.]{1,29})"
)
BARE_HANDLE = re.compile(r"(?<![\w@.])@([a-z_][a-z0-9_.]{2,29})(?![\w@])")

SOCIAL_HOSTS = {
    "instagram.com": "instagram", "t.me": "telegram", "telegram.me": "telegram",
    "kik.me": "kik", "snapchat.com": "snapchat", "twitter.com": "twitter", "x.com": "twitter",
    "tiktok.com": "tiktok", "onlyfans.com": "onlyfans", "fansly.com": "fansly",
    "facebook.com": "facebook", "fb.com": "facebook", "linktr.ee": "linktree",
    "cash.app": "cashapp", "venmo.com": "venmo", "wa.me": "whatsapp", "reddit.com": "reddit",
}  # fmt: skip
URL = re.compile(
    r"(?<![\w@.])((?:https?://|www\.)[^\s<>\"'()\[\]{}]+|"
    r"(?:[a-z0-9-]+\.)+(?:"
    + trie_pattern(sorted(COMMON_TLDS))
    + r")(?:/[^\s<>\"'()\[\]{}]*)?)(?![\w@])"
)
_URL_PATH_SKIP = frozenset({"add", "u", "in", "user", "users", "profile", "p", "share"})

PRICE = re.compile(
    r"(?=[$€£0-9])(?:(?P<pre>[$€£])\s?(?P<a>\d{2,4}(?:[.,]\d{3})?)"
    r"|(?P<b>\d{2,4})\s?(?P<post>\$|usd|dollars?|bucks|roses?|eur|euros?|€|£|gbp|pounds?"
    r"|pesos?|mxn|donations?)(?![a-z])"
    r"|(?P<c>\d{2,4})\s?(?P<unit>hhr|hh|hr|hrs|hour|qv|qk|fh|h|half|ss)(?![a-z]))"
    r"(?:\s?(?:/|per|a|for)?\s?(?P<rate>hhr|hh|hr|hour|h|qv|qk|half|(?:\d{2}\s?min)|night|ov))?"
)
_UNITS = {
    "hhr": "half hour", "hh": "half hour", "half": "half hour", "hr": "hour", "hrs": "hour",
    "hour": "hour", "h": "hour", "fh": "hour", "qv": "quick visit", "qk": "quick visit",
    "ss": "short stay", "night": "overnight", "ov": "overnight",
}  # fmt: skip
_CURRENCY = {
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "rose": "USD", "roses": "USD", "donation": "USD", "donations": "USD", "€": "EUR",
    "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP",
    "pounds": "GBP", "peso": "MXN", "pesos": "MXN", "mxn": "MXN",
}  # fmt: skip

AGE = re.compile(
    r"\b(?=[aeit0-9])(?:\b(?:age|edad)\s*[:=\-]?\s*(?P<a>\d{2})\b"
    r"|\b(?P<b>\d{2})\s*(?:yrs?|years?|yo|y/o|y\.o\.?|anos|años)(?:\s*old)?(?![a-z])"
    r"|\b(?:i'?m|i am|im|tengo)\s+(?:only\s+|just\s+)?(?P<c>\d{2})\b"
    r"(?!\s*(?:min|\$|%|lbs|kg|cm|inch|mins|minutes|hr|am|pm|k\b|dd|[a-h]\b)))"
)


@dataclass(frozen=True)
class Hit:
    """A value found at a span of the folded text, with details (platform, currency ...)."""

    value: str
    start: int
    end: int
    detail: tuple[tuple[str, str | int], ...] = ()


_EMAIL_HINT = re.compile(r"@|[\(\[\{<]\s*at\s*[\)\]\}>]|\sat\s+[a-z0-9-]+\s+dot\s|arroba")


def find_emails(text: str) -> Iterator[Hit]:
    if _EMAIL_HINT.search(text) is None:
        return
    for match in EMAIL.finditer(text):
        local, domain_text = match.group(1), match.group(2)
        labels = [p for p in _DOT_SPLIT.split(domain_text) if p]
        spelled = bool(_SPELLED.search(match.group(0)))
        if len(labels) == 1:
            domain = PROVIDERS.get(labels[0])
            if domain is None or not re.search(r"[@\[\(\{<]", match.group(0)):
                continue
        else:
            tld = labels[-1]
            if tld not in COMMON_TLDS:
                continue
            if spelled and labels[0] not in PROVIDERS and tld not in ("com", "net", "org"):
                continue
            domain = ".".join(labels)
        if spelled and len(local) < 3:
            continue
        local = local.strip(".")
        if not local:
            continue
        yield Hit(f"{local}@{domain}", match.start(), match.end())


def find_handles(text: str) -> Iterator[Hit]:
    if _HANDLE_HINT.search(text) is None:
        return
    taken: list[tuple[int, int]] = []
    for match in HANDLE.finditer(text):
        keyword, joiner, at, handle = match.group(1), match.group(2), match.group(3), match.group(4)
        if keyword in NEEDS_COLON and not (at or re.search(r"[:=]", joiner)):
            continue
        handle = handle.rstrip(".")
        if handle in HANDLE_STOPWORDS or _numberish(handle):
            continue
        platform = PLATFORMS[keyword]
        if platform in ("whatsapp", "signal"):
            continue  # numbers, found by the phone finder
        taken.append((match.start(4) - len(at), match.end()))
        yield Hit(f"{platform}:{handle}", match.start(), match.end(), (("platform", platform),))
    for match in BARE_HANDLE.finditer(text):
        if any(a <= match.start() < b for a, b in taken):
            continue
        handle = match.group(1).rstrip(".")
        if handle in HANDLE_STOPWORDS or len(handle) < 3:
            continue
        yield Hit(f"@{handle}", match.start(), match.end(), (("platform", "unknown"),))


def _numberish(handle: str) -> bool:
    """Too short, or really a number ("404.555.3274", "five", "4o4") rather than a name."""
    letters = sum(c.isalpha() for c in handle)
    if len(handle) < 3 or letters < 2:
        return True
    pieces = read_token(handle.replace(".", "").replace("_", ""))
    return sum(p.end - p.start for p in pieces) == len(handle.replace(".", "").replace("_", ""))


_URL_HINT = re.compile(r"https?:|www\.|[a-z0-9]\.[a-z]{2}")
_HANDLE_HINT = re.compile(r"@|" + trie_pattern(list(PLATFORMS)))


def find_urls(text: str) -> Iterator[Hit]:
    if _URL_HINT.search(text) is None:
        return
    for match in URL.finditer(text):
        raw = match.group(1).rstrip(".,;:!?)")
        url = raw if raw.startswith("http") else "http://" + raw
        host = re.sub(r"^https?://(www\.)?", "", url).split("/")[0].split("?")[0]
        if "@" in host or host.replace(".", "").isdigit():
            continue
        detail: list[tuple[str, str | int]] = [("host", host)]
        platform = SOCIAL_HOSTS.get(host)
        if platform is not None:
            detail.append(("platform", platform))
            path = [p for p in url.split(host, 1)[1].split("?")[0].split("/") if p]
            path = [p for p in path if p not in _URL_PATH_SKIP]
            if path and platform not in ("whatsapp",):
                detail.append(("handle", f"{platform}:{path[0].lstrip('@$')}"))
        yield Hit(url, match.start(), match.start() + len(raw), tuple(detail))


def find_prices(text: str) -> Iterator[Hit]:
    for match in PRICE.finditer(text):
        amount_text = match.group("a") or match.group("b") or match.group("c") or ""
        amount = int(re.sub(r"[.,]", "", amount_text))
        if not 20 <= amount <= 20000:
            continue
        symbol = match.group("pre") or match.group("post") or ""
        currency = _CURRENCY.get(symbol, "")
        unit_word = match.group("unit") or match.group("rate") or ""
        unit = _UNITS.get(unit_word, unit_word.replace(" ", ""))
        if not currency and not unit:
            continue
        detail: list[tuple[str, str | int]] = [("amount", amount)]
        if currency:
            detail.append(("currency", currency))
        if unit:
            detail.append(("unit", unit))
        value = f"{amount}{' ' + currency if currency else ''}{'/' + unit if unit else ''}"
        yield Hit(value, match.start(), match.end(), tuple(detail))


def find_ages(text: str) -> Iterator[Hit]:
    for match in AGE.finditer(text):
        value = int(match.group("a") or match.group("b") or match.group("c") or 0)
        if 12 <= value <= 79:
            yield Hit(str(value), match.start(), match.end(), (("age", value),))

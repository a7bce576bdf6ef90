"""Phone numbers written the ways ads write them (all fictional 555 numbers)."""

from __future__ import annotations

import pytest

from ctip.ads.extract import extract_identifiers


def phones(text: str, **ad: str) -> list[str]:
    record = {"body": text, **ad}
    return [p.value for p in extract_identifiers(record).phones]


@pytest.mark.parametrize(
    "written",
    [
        "702-555-0123",
        "(702) 555-0123",
        "702.555.0123",
        "+1 702 555 0123",
        "1-702-555-0123",
        "7O2*555*Ol23",  # letters for digits
        "seven zero two five five five zero one two three",
        "SeVeN0TwO fivefivefive 0one2three",  # glued words, mixed case
        "siete cero dos cinco cinco cinco cero uno dos tres",  # Spanish
        "702 555 01 twenty three",  # tens and units as words
        "7 0 2 - 5 5 5 - 0 1 2 3",
        "[7][0][2] [5][5][5] [0][1][2][3]",
        "{7zero2}..{5five5}..{0one23}",
        "7@0@2@5@5@5@0@1@2@3",
        "702💋555💋0123",
        "７０２－５５５－０１２３",
        "𝟕𝟎𝟐.𝟓𝟓𝟓.𝟎𝟏𝟐𝟑",
        "7️⃣0️⃣2️⃣5️⃣5️⃣5️⃣0️⃣1️⃣2️⃣3️⃣",
        "❼⓪② ❺❺❺ ⓪①②③",
        "7\u200b02 5\u200d55 01\u200c23",
        "7О2 555 О123",  # Cyrillic O
        "call me tonight702 555 0123ok",
    ],
)
def test_obfuscated_numbers_are_read(written: str) -> None:
    assert phones(f"Hi gentlemen, new here. {written} xoxo") == ["+17025550123"]


def test_number_split_between_title_and_body() -> None:
    found = extract_identifiers({"title": "Sweet Amy call 702", "body": "555-0123 ask for Amy"})
    assert [p.value for p in found.phones] == ["+17025550123"]
    fields = [e.field for e in found.phones[0].evidence]
    assert fields == ["title", "body"]


@pytest.mark.parametrize(
    "text",
    [
        "Rates $150/hh $250/hr $400 overnight",
        "36C-24-36, 5'6\" 125lbs, 23 years old",
        "Posted 11/17/2025 10:30 ref #483920",
        "Open 10am-2am, 24/7, zip 89109",
        "I'm 5'10\" 200lbs",
        "Call 555-0123",  # no area code: not a full number
    ],
)
def test_other_numbers_are_not_phones(text: str) -> None:
    assert phones(text) == []


def test_prices_next_to_a_number_stay_out_of_it() -> None:
    assert phones("$200 7025550123 90hr") == ["+17025550123"]


def test_several_numbers_in_one_run() -> None:
    assert phones("702 5550123 213 5550188 626 555 0199") == [
        "+17025550123",
        "+12135550188",
        "+16265550199",
    ]


def test_evidence_span_points_at_the_original_text() -> None:
    text = "Text me: 7O2*555*Ol23 now"
    found = extract_identifiers({"body": text}).phones[0]
    assert found.detail["obfuscated"] is True
    evidence = found.evidence[0]
    assert text[evidence.start : evidence.end] == evidence.text == "7O2*555*Ol23"


def test_international_and_national_numbers() -> None:
    assert phones("WhatsApp +44 7911 123456") == ["+447911123456"]
    # (a documentation example number) a trunk-prefixed national number; the ad names its city
    assert phones("07911 123456", title="London escorts") == ["+447911123456"]
    assert phones("07911 123456") == []

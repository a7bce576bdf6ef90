"""Folding obfuscated text, and mapping what is found back to the original characters."""

from __future__ import annotations

import pytest

from ctip.ads.normalize import fold, normalize


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("７０２－５５５", "702-555"),  # fullwidth
        ("𝟕𝟎𝟐 𝟓𝟓𝟓", "702 555"),  # mathematical bold digits
        ("⑦⓪② ❺❺❺", "702 555"),  # circled and dingbat digits
        ("7️⃣0️⃣2️⃣", "702"),  # emoji keycaps
        ("7\u200b0\u200d2\u2060", "702"),  # zero-width characters
        ("СALL МЕ", "call me"),  # Cyrillic look-alikes
        ("ΝΕW ΙΝ ΤΟWΝ", "new in town"),  # Greek look-alikes
        ("ⓝⓔⓦ", "new"),  # circled letters
        ("Ño está", "no esta"),  # accents
        ("٧٠٢", "702"),  # Arabic-Indic digits
    ],
)
def test_fold(written: str, folded: str) -> None:
    assert fold(written) == folded


def test_spans_map_back_to_the_original_characters() -> None:
    text = "Call 𝟕𝟎𝟐 now"
    folded = normalize(text)
    start = folded.text.index("702")
    begin, end = folded.source_span(start, start + 3)
    assert text[begin:end] == "𝟕𝟎𝟐"


def test_ascii_text_is_only_lower_cased() -> None:
    folded = normalize("Hello World")
    assert folded.text == "hello world" and folded.offsets is None
    assert folded.source_span(0, 5) == (0, 5)

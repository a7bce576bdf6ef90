"""The indicator catalogue and screening of ads and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctip.ads.indicators import load_catalogue, score_of, screen
from ctip.errors import BadInputError


def codes(result: object) -> set[str]:
    return {flag.code for flag in result.flags}  # type: ignore[attr-defined]


def test_catalogue_is_versioned_data_with_sources() -> None:
    catalogue = load_catalogue()
    assert catalogue.version
    domains = {i.domain for i in catalogue.indicators}
    assert domains == {"sex_ads", "recruitment", "messages"}
    for indicator in catalogue.indicators:
        assert indicator.source and indicator.description and 0 < indicator.weight < 1


def test_sex_ad_indicators_with_evidence() -> None:
    ad = {"title": "NEW IN TOWN 🍒", "body": "She is young and fresh, incall only. No black men."}
    result = screen(ad)
    assert {
        "SX-NEW-IN-TOWN",
        "SX-THIRD-PERSON",
        "SX-YOUTH",
        "SX-MOVEMENT-RESTRICTED",
        "SX-CLIENT-RESTRICTIONS",
        "SX-CODED-EMOJI",
    } <= codes(result)
    flag = next(f for f in result.flags if f.code == "SX-NEW-IN-TOWN")
    assert flag.evidence[0].field == "title" and flag.evidence[0].text == "NEW IN TOWN"
    assert result.score == score_of([f.weight for f in result.flags])


def test_homoglyphs_cannot_hide_a_phrase() -> None:
    assert "SX-NEW-IN-TOWN" in codes(screen({"body": "Νеw іn tоwn"}))  # Greek/Cyrillic letters


def test_stated_age_under_18() -> None:
    assert "SX-AGE-UNDER-18" in codes(screen({"body": "sweet 16 yo", "age": ""}))
    assert "SX-AGE-UNDER-18" in codes(screen({"body": "hi", "age": "17"}))
    assert "SX-AGE-UNDER-18" not in codes(screen({"body": "I'm 24"}))


def test_deceptive_recruitment() -> None:
    text = (
        "Hostesses wanted abroad! Earn $4,000 per week, no experience needed, flights and visa"
        " provided. Registration fee $300. Send a copy of your passport. WhatsApp only."
    )
    assert {
        "RC-UNREALISTIC-PAY",
        "RC-NO-EXPERIENCE",
        "RC-TRAVEL-HOUSING-PAID",
        "RC-RECRUITMENT-FEE",
        "RC-DOCUMENT-HANDLING",
        "RC-CHAT-ONLY-CONTACT",
    } <= codes(screen({"body": text}))
    assert codes(screen({"body": "Line cooks wanted, $18/hr, apply in person."})) == set()


def test_messages_coercion_and_distress() -> None:
    result = screen(
        "he took my passport and says I owe him for the ticket. I cant leave, please help",
        kind="messages",
    )
    assert {"MS-DOCUMENTS-HELD", "MS-CANNOT-LEAVE", "MS-ASKING-FOR-HELP", "MS-DEBT"} <= codes(
        result
    )
    assert screen("see you at dinner tonight", kind="messages").score == 0


def test_rejected_codes_are_left_out() -> None:
    ad = {"body": "New in town, she is lovely"}
    result = screen(ad, suppressed=frozenset({"SX-NEW-IN-TOWN"}))
    assert "SX-NEW-IN-TOWN" not in codes(result) and "SX-THIRD-PERSON" in codes(result)


def test_bad_local_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: x\nindicators:\n  - code: A\n    weight: 0.5\n    patterns: ['(']\n")
    with pytest.raises(BadInputError, match="bad pattern"):
        load_catalogue(path)

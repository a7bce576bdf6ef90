"""E-mails, handles, URLs, prices and ages, including spelled-out and obfuscated forms."""

from __future__ import annotations

from ctip.ads.extract import extract_identifiers


def values(kind: str, text: str) -> list[str]:
    return extract_identifiers({"body": text}).values(kind)


def test_emails_written_out() -> None:
    assert values("emails", "mail testgirl22 at gmail dot com") == ["testgirl22@gmail.com"]
    assert values("emails", "testgirl22 (at) example [dot] org") == ["testgirl22@example.org"]
    assert values("emails", "testgirl22＠example．com.") == ["testgirl22@example.com"]
    assert values("emails", "meet me at the hotel dot lobby") == []
    assert values("emails", "5@7@4@4@4@0@1@6@0@5") == []


def test_handles_and_profile_urls() -> None:
    text = "IG: @fake_amy22 snap: amyfake99 kik me fakeamy t.me/fakeamy_x see onlyfans.com/fakeamy"
    assert set(values("handles", text)) == {
        "instagram:fake_amy22",
        "snapchat:amyfake99",
        "kik:fakeamy",
        "telegram:fakeamy_x",
        "onlyfans:fakeamy",
    }
    assert values("handles", "one of the best, of course") == []
    assert values("handles", "Contact via Telegram 404.555.0123") == []


def test_prices_and_ages() -> None:
    found = extract_identifiers({"body": "Sweet 21yo, $150/hh 250hr, age: 22", "age": "20"})
    assert {(p.detail["amount"], p.detail.get("unit")) for p in found.prices} == {
        (150, "half hour"),
        (250, "hour"),
    }
    assert set(found.values("ages")) == {"21", "22", "20"}

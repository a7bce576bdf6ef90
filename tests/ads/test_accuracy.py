"""Extraction accuracy on generated ads with known ground truth (the issue's 0.99 goals)."""

from __future__ import annotations

from ctip.ads.extract import extract_identifiers
from ctip.ads.generate import generate_ads


def test_phone_email_handle_wallet_precision_and_recall() -> None:
    generated = generate_ads(1500, seed=23)
    totals = {kind: [0, 0, 0] for kind in ("phones", "emails", "handles", "crypto")}
    fields = {"phones": "phones", "emails": "emails", "handles": "handles", "crypto": "wallets"}
    for ad, truth in zip(generated.ads, generated.truth, strict=True):
        found = extract_identifiers(ad)
        for kind, field in fields.items():
            expected, got = set(getattr(truth, field)), set(found.values(kind))
            totals[kind][0] += len(expected & got)
            totals[kind][1] += len(got - expected)
            totals[kind][2] += len(expected - got)
    for kind, (tp, fp, fn) in totals.items():
        assert tp / (tp + fp) >= 0.99, kind
        assert tp / (tp + fn) >= 0.99, kind
    assert sum(len(t.obfuscated_phones) for t in generated.truth) > 200

"""Address checks: published test vectors, canonical forms, and typos rejected."""

from __future__ import annotations

import numpy as np
import pytest

from ctip.ads.wallets import base58check_encode
from ctip.ads.wallets import bech32_encode as segwit_encode
from ctip.crypto.addresses import cashaddr_encode, check_address, why_invalid
from ctip.crypto.generate import bech32_p2wpkh


@pytest.mark.parametrize(
    ("chain", "address", "kind"),
    [
        ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "p2pkh"),  # the genesis block's address
        ("btc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "p2wpkh"),  # BIP-173 vector
        (
            "btc",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "p2tr",
        ),  # BIP-350
        ("bch", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "p2pkh"),  # CashAddr spec
        ("bch", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "p2pkh"),
        ("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "eip55"),  # EIP-55 vector
        ("eth", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "account"),
    ],
)
def test_published_vectors_are_valid(chain: str, address: str, kind: str) -> None:
    checked = check_address(chain, address)
    assert checked is not None and checked.kind == kind


def test_canonical_forms_make_one_address_of_two_spellings() -> None:
    upper = check_address("btc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
    lower = check_address("btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    assert upper == lower
    short = check_address("bch", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a")
    assert short is not None and short.address.startswith("bitcoincash:")
    mixed = check_address("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    assert mixed is not None and mixed.address == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"


@pytest.mark.parametrize(
    ("chain", "address"),
    [
        ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"),  # one character changed
        ("btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"),
        ("btc", "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),  # mixed case bech32
        ("btc", "LS1TDKTm7wTd6K6EnJtEjXQYRtVNjveRc5"),  # a Litecoin address on Bitcoin
        ("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),  # EIP-55 checksum broken
        ("eth", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea"),
        ("bch", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6b"),
        ("btc", ""),
    ],
)
def test_typos_and_other_chains_are_rejected(chain: str, address: str) -> None:
    assert check_address(chain, address) is None
    assert why_invalid(chain, address)


def test_encoders_round_trip() -> None:
    program = bytes(range(20))
    assert check_address("btc", segwit_encode("bc", 0, program)) is not None
    assert check_address("ltc", segwit_encode("ltc", 0, program)) is not None
    assert check_address("ltc", base58check_encode(0x30, program)) is not None
    assert check_address("bch", cashaddr_encode("bitcoincash", 1, program)).kind == "p2sh"  # type: ignore[union-attr]
    assert check_address("doge", base58check_encode(0x1E, program)) is not None


def test_vectorised_bech32_matches_the_reference_encoder() -> None:
    rng = np.random.default_rng(4)
    programs = rng.integers(0, 256, size=(50, 20), dtype=np.uint8)
    fast = bech32_p2wpkh(programs)
    for row, text in zip(programs, fast, strict=True):
        assert text == segwit_encode("bc", 0, bytes(row))


def test_unknown_chains_accept_tokens_but_not_spaces() -> None:
    assert check_address("xyz", "anything-1234") is not None
    assert check_address("xyz", "two words") is None

"""Wallet checksums: BIP-173/350 bech32(m), Base58Check, EIP-55, Monero, Keccak-256."""

from __future__ import annotations

import random

import pytest

from ctip.ads.keccak import keccak256
from ctip.ads.wallets import (
    base58check_encode,
    bech32_encode,
    eip55,
    find_wallets,
    monero_address,
    validate_wallet,
)


def test_keccak256_known_digests() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )


@pytest.mark.parametrize(
    ("address", "currency", "kind"),
    [
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "BTC", "p2wpkh"),  # BIP-173 vector
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "BTC", "p2wpkh"),
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "BTC",
            "p2tr",
        ),  # BIP-350
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "BTC", "p2pkh"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "BTC", "p2sh"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "ETH", "eip55"),  # EIP-55 vectors
        ("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "ETH", "eip55"),
        ("0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb", "ETH", "unchecked-case"),
    ],
)
def test_valid_addresses(address: str, currency: str, kind: str) -> None:
    wallet = validate_wallet(address)
    assert wallet is not None and (wallet.currency, wallet.kind) == (currency, kind)


@pytest.mark.parametrize(
    "address",
    [
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # bad checksum
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3T4",  # mixed case
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # v1 with a bech32 (not bech32m) checksum
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  # broken EIP-55 case
    ],
)
def test_invalid_addresses(address: str) -> None:
    assert validate_wallet(address) is None


def test_generated_addresses_round_trip_and_are_found_in_text() -> None:
    rng = random.Random(3)
    addresses = [
        base58check_encode(0x41, rng.randbytes(20)),
        bech32_encode("bc", 1, rng.randbytes(32)),
        eip55(rng.randbytes(20).hex()),
        monero_address(18, rng.randbytes(32), rng.randbytes(32)),
    ]
    text = "Pay to " + " or ".join(addresses) + "."
    found = find_wallets(text)
    assert [w.address for w in found] == addresses
    assert [w.currency for w in found] == ["TRX", "BTC", "ETH", "XMR"]
    assert all(text[w.start : w.end] == w.address for w in found)
    broken = addresses[3][:-1] + ("1" if addresses[3][-1] != "1" else "2")
    assert validate_wallet(broken) is None

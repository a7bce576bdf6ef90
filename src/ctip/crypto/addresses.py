"""Address checks per chain: Base58Check, bech32/bech32m, CashAddr and EIP-55.

An import must not store a string as an address because it merely looks like one: a typo in an
exchange return or an explorer dump would create a phantom wallet that never links to anything.
Each address is decoded and its checksum verified the way wallets do:

- Base58Check (Bitcoin, Litecoin, Dogecoin, Bitcoin Cash legacy, Tron): double SHA-256 checksum
  and a version byte the chain uses (mainnet, testnet and regtest prefixes are accepted);
- SegWit (BIP-173 bech32 for witness version 0, BIP-350 bech32m for versions 1-16) with the
  program-length rules of BIP-141;
- CashAddr (Bitcoin Cash): its own BCH-code checksum over the prefix and payload;
- Ethereum and other EVM chains: ``0x`` and 40 hex digits; mixed case must carry a valid EIP-55
  checksum (Keccak-256), all-lower or all-upper has none to check.

Addresses are stored in a canonical form so the same wallet written two ways is one address:
bech32 and CashAddr lower-case (CashAddr with its prefix), EVM addresses lower-case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from ctip.ads.wallets import (  # one Base58Check, bech32 and EIP-55 for ads and chains
    b58decode,
    bech32_hrp_expand,
    bech32_polymod,
    convert_bits,
    eip55,
)

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32 = {c: i for i, c in enumerate(BECH32)}
BECH32_CONST, BECH32M_CONST = 1, 0x2BC830A3

# chain -> Base58Check version byte -> script kind
BASE58_VERSIONS: dict[str, dict[int, str]] = {
    "btc": {0x00: "p2pkh", 0x05: "p2sh", 0x6F: "p2pkh-test", 0xC4: "p2sh-test"},
    "bch": {0x00: "p2pkh", 0x05: "p2sh", 0x6F: "p2pkh-test", 0xC4: "p2sh-test"},
    "ltc": {0x30: "p2pkh", 0x32: "p2sh", 0x05: "p2sh", 0x6F: "p2pkh-test", 0x3A: "p2sh-test"},
    "doge": {0x1E: "p2pkh", 0x16: "p2sh", 0x71: "p2pkh-test", 0xC4: "p2sh-test"},
    "trx": {0x41: "account"},
}
SEGWIT_HRPS: dict[str, tuple[str, ...]] = {
    "btc": ("bc", "tb", "bcrt"),
    "ltc": ("ltc", "tltc", "rltc"),
}
CASHADDR_PREFIXES = ("bitcoincash", "bchtest", "bchreg")
EVM_CHAINS = frozenset(
    {"eth", "etc", "bsc", "polygon", "arbitrum", "optimism", "base", "avax", "ftm", "gnosis"}
)
UTXO_CHAINS = frozenset({"btc", "ltc", "bch", "doge"})
ACCOUNT_CHAINS = EVM_CHAINS | {"trx"}


@dataclass(frozen=True)
class Checked:
    """A valid address in canonical form, with its script or account kind."""

    address: str
    kind: str


def is_utxo_chain(chain: str) -> bool:
    return chain in UTXO_CHAINS


# --- Base58Check ------------------------------------------------------------------------------


def _double_sha(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _check_base58(chain: str, text: str) -> Checked | None:
    raw = b58decode(text)
    if raw is None or len(raw) != 25 or _double_sha(raw[:-4])[:4] != raw[-4:]:
        return None
    kind = BASE58_VERSIONS.get(chain, {}).get(raw[0])
    return Checked(text, kind) if kind else None


# --- bech32 / bech32m -------------------------------------------------------------------------


def _check_segwit(chain: str, text: str) -> Checked | None:
    if text.lower() != text and text.upper() != text:
        return None  # mixed case is invalid in bech32
    lowered = text.lower()
    hrp, _, rest = lowered.rpartition("1")
    if hrp not in SEGWIT_HRPS.get(chain, ()) or len(rest) < 7 or len(lowered) > 90:
        return None
    data = [_BECH32.get(c, -1) for c in rest]
    if min(data) < 0 or data[0] > 16:
        return None
    expected = BECH32_CONST if data[0] == 0 else BECH32M_CONST
    if bech32_polymod(bech32_hrp_expand(hrp) + data) != expected:
        return None
    program = convert_bits(data[1:-6], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40:
        return None
    if data[0] == 0 and len(program) not in (20, 32):
        return None
    kind = {0: "p2wpkh" if len(program) == 20 else "p2wsh", 1: "p2tr"}.get(data[0], "segwit")
    return Checked(lowered, kind)


# --- CashAddr (Bitcoin Cash) ------------------------------------------------------------------


def _cash_polymod(values: list[int]) -> int:
    generators = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)
    check = 1
    for value in values:
        top = check >> 35
        check = ((check & 0x07FFFFFFFF) << 5) ^ value
        for index, generator in enumerate(generators):
            if (top >> index) & 1:
                check ^= generator
    return check ^ 1


def cashaddr_encode(prefix: str, kind: int, payload: bytes) -> str:
    """CashAddr for a 20-byte hash; kind 0 = P2PKH, 1 = P2SH."""
    converted = convert_bits([kind << 3, *payload], 8, 5, True)
    assert converted is not None
    head = [ord(c) & 31 for c in prefix] + [0]
    polymod = _cash_polymod(head + converted + [0] * 8)
    checksum = [(polymod >> 5 * (7 - i)) & 31 for i in range(8)]
    return prefix + ":" + "".join(BECH32[d] for d in converted + checksum)


def _check_cashaddr(text: str) -> Checked | None:
    if text.lower() != text and text.upper() != text:
        return None
    lowered = text.lower()
    prefix, _, rest = lowered.rpartition(":")
    prefix = prefix or "bitcoincash"
    if prefix not in CASHADDR_PREFIXES or len(rest) < 9:
        return None
    data = [_BECH32.get(c, -1) for c in rest]
    if min(data) < 0 or _cash_polymod([ord(c) & 31 for c in prefix] + [0] + data) != 0:
        return None
    decoded = convert_bits(data[:-8], 5, 8, False)
    if decoded is None or not decoded:
        return None
    version, payload = decoded[0], decoded[1:]
    sizes = (20, 24, 28, 32, 40, 48, 56, 64)
    if len(payload) != sizes[version & 7]:
        return None
    kind = {0: "p2pkh", 1: "p2sh", 2: "p2pkh-token", 3: "p2sh-token"}.get(version >> 3)
    return Checked(f"{prefix}:{rest}", kind) if kind else None


# --- EVM (EIP-55) -----------------------------------------------------------------------------


def _check_evm(text: str) -> Checked | None:
    if text[:2] not in ("0x", "0X") or len(text) != 42:
        return None
    body = text[2:]
    try:
        int(body, 16)
    except ValueError:
        return None
    if body.lower() != body and body.upper() != body:
        if eip55(body) != "0x" + body:
            return None
        return Checked("0x" + body.lower(), "eip55")
    return Checked("0x" + body.lower(), "account")


# --- entry point ------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 18)
def check_address(chain: str, address: str) -> Checked | None:
    """The canonical address when ``address`` is valid on ``chain``; else None.

    Chains CTIP has no checksum rules for accept any printable token without spaces (up to 128
    characters) and mark it ``unchecked``, so data from other chains still imports.
    """
    text = address.strip()
    if not text:
        return None
    if chain in EVM_CHAINS:
        return _check_evm(text)
    if chain == "bch":
        if ":" in text or text[:1] in ("q", "p", "Q", "P"):
            return _check_cashaddr(text)
        return _check_base58(chain, text)
    if chain in SEGWIT_HRPS and "1" in text[:5] and text.lower().startswith(SEGWIT_HRPS[chain]):
        found = _check_segwit(chain, text)
        if found is not None:
            return found
    if chain in BASE58_VERSIONS:
        return _check_base58(chain, text)
    if len(text) > 128 or any(c.isspace() or not c.isprintable() for c in text):
        return None
    return Checked(text, "unchecked")


def why_invalid(chain: str, address: str) -> str:
    """A short reason for the quarantine entry of an address that failed ``check_address``."""
    text = address.strip()
    if not text:
        return "no address"
    if chain in EVM_CHAINS:
        if len(text) != 42 or text[:2].lower() != "0x":
            return f"not a {chain} address (0x and 40 hex digits expected)"
        return "EIP-55 checksum does not match (a typo in a mixed-case address?)"
    return f"not a valid {chain} address (checksum or prefix wrong)"

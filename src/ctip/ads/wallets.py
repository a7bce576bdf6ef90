"""Cryptocurrency addresses: find them in text and check their checksums.

A string that merely looks like an address is not reported: each candidate is decoded and its
checksum verified, as the wallets themselves would.

- Bitcoin and Litecoin legacy addresses (P2PKH, P2SH): Base58Check, double SHA-256 checksum,
  version byte per network.
- Bitcoin and Litecoin SegWit addresses: bech32 for witness version 0 (BIP-173) and bech32m for
  version 1 and above (BIP-350), with the program-length rules of BIP-141.
- Ethereum: ``0x`` + 40 hex digits; a mixed-case address must carry a valid EIP-55 checksum
  (Keccak-256 of the lower-case hex), an all-lower or all-upper one has none to check.
- Tron (USDT-TRC20 is common in scam and recruitment payments): Base58Check, version 0x41.
- Monero: Monero's block Base58 (8 bytes per 11 characters), network byte for standard,
  integrated and sub-addresses, Keccak-256 checksum.

The encoders are here too so the ad generator can make valid fake addresses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from ctip.ads.keccak import keccak256

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(BASE58)}
BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(BECH32_CHARSET)}
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3

# version byte -> (currency, kind)
BASE58_VERSIONS: dict[int, tuple[str, str]] = {
    0x00: ("BTC", "p2pkh"),
    0x05: ("BTC", "p2sh"),
    0x30: ("LTC", "p2pkh"),
    0x32: ("LTC", "p2sh"),
    0x41: ("TRX", "tron"),
}
SEGWIT_HRPS = {"bc": "BTC", "ltc": "LTC"}
MONERO_NETWORK = {18: "standard", 19: "integrated", 42: "subaddress"}

CANDIDATES = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"0x[0-9a-fA-F]{40}"
    r"|(?:bc|BC|ltc|LTC)1[0-9A-Za-z]{8,87}"
    r"|[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?"
    r"|[13LMT][1-9A-HJ-NP-Za-km-z]{25,34}"
    r")(?![0-9A-Za-z])"
)


@dataclass(frozen=True)
class Wallet:
    address: str
    currency: str
    kind: str
    start: int = 0
    end: int = 0


# --- Base58 / Base58Check -------------------------------------------------------------------


def b58decode(text: str) -> bytes | None:
    number = 0
    for char in text:
        value = _B58_INDEX.get(char)
        if value is None:
            return None
        number = number * 58 + value
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, remainder = divmod(number, 58)
        out.append(BASE58[remainder])
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + "".join(reversed(out))


def _double_sha(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def base58check_encode(version: int, payload: bytes) -> str:
    data = bytes([version]) + payload
    return b58encode(data + _double_sha(data)[:4])


def check_base58(address: str) -> Wallet | None:
    raw = b58decode(address)
    if raw is None or len(raw) != 25:
        return None
    data, checksum = raw[:-4], raw[-4:]
    if _double_sha(data)[:4] != checksum:
        return None
    known = BASE58_VERSIONS.get(data[0])
    if known is None:
        return None
    return Wallet(address, known[0], known[1])


# --- bech32 / bech32m (BIP-173, BIP-350) ---------------------------------------------------


def bech32_polymod(values: list[int]) -> int:
    generators = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for index, generator in enumerate(generators):
            if (top >> index) & 1:
                check ^= generator
    return check


def bech32_hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def convert_bits(data: list[int], source: int, target: int, pad: bool) -> list[int] | None:
    """Regroup bits (8 -> 5 for encoding, 5 -> 8 for decoding); None on invalid padding."""
    accumulator, bits, out = 0, 0, []
    maximum = (1 << target) - 1
    for value in data:
        accumulator = (accumulator << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((accumulator >> bits) & maximum)
    if pad and bits:
        out.append((accumulator << (target - bits)) & maximum)
    elif not pad and (bits >= source or (accumulator << (target - bits)) & maximum):
        return None
    return out


def bech32_encode(hrp: str, version: int, program: bytes) -> str:
    converted = convert_bits(list(program), 8, 5, True)
    assert converted is not None
    data = [version, *converted]
    constant = BECH32_CONST if version == 0 else BECH32M_CONST
    polymod = bech32_polymod(bech32_hrp_expand(hrp) + data + [0] * 6) ^ constant
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def check_segwit(address: str) -> Wallet | None:
    if address.lower() != address and address.upper() != address:
        return None  # mixed case is invalid in bech32
    lowered = address.lower()
    hrp, _, rest = lowered.rpartition("1")
    if hrp not in SEGWIT_HRPS or len(rest) < 7:
        return None
    data = [_BECH32_INDEX.get(c, -1) for c in rest]
    if min(data) < 0:
        return None
    constant = bech32_polymod(bech32_hrp_expand(hrp) + data)
    version = data[0]
    expected = BECH32_CONST if version == 0 else BECH32M_CONST
    if constant != expected or version > 16:
        return None
    program = convert_bits(data[1:-6], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    kind = {0: "p2wpkh" if len(program) == 20 else "p2wsh", 1: "p2tr"}.get(version, "segwit")
    return Wallet(lowered, SEGWIT_HRPS[hrp], kind)


# --- Ethereum (EIP-55) ----------------------------------------------------------------------


def eip55(hex_address: str) -> str:
    """The EIP-55 mixed-case form of a 40-hex-digit address (without or with 0x)."""
    body = hex_address.lower().removeprefix("0x")
    digest = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(body)
    )


def check_ethereum(address: str) -> Wallet | None:
    body = address[2:]
    if len(body) != 40:
        return None
    if body.lower() != body and body.upper() != body:
        if eip55(body) != "0x" + body:
            return None
        return Wallet(eip55(body), "ETH", "eip55")
    return Wallet(eip55(body), "ETH", "unchecked-case")


# --- Monero ---------------------------------------------------------------------------------

_XMR_BLOCK_SIZES = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
_XMR_ENCODED_SIZES = [0, 2, 3, 5, 6, 7, 9, 10, 11]


def monero_b58decode(text: str) -> bytes | None:
    out = bytearray()
    for offset in range(0, len(text), 11):
        block = text[offset : offset + 11]
        size = _XMR_BLOCK_SIZES.get(len(block))
        if size is None:
            return None
        number = 0
        for char in block:
            value = _B58_INDEX.get(char)
            if value is None:
                return None
            number = number * 58 + value
        if number >= 1 << (8 * size):
            return None
        out += number.to_bytes(size, "big")
    return bytes(out)


def monero_b58encode(data: bytes) -> str:
    out = []
    for offset in range(0, len(data), 8):
        block = data[offset : offset + 8]
        number = int.from_bytes(block, "big")
        chars = []
        for _ in range(_XMR_ENCODED_SIZES[len(block)]):
            number, remainder = divmod(number, 58)
            chars.append(BASE58[remainder])
        out.append("".join(reversed(chars)))
    return "".join(out)


def monero_address(network: int, spend_key: bytes, view_key: bytes) -> str:
    data = bytes([network]) + spend_key + view_key
    return monero_b58encode(data + keccak256(data)[:4])


def check_monero(address: str) -> Wallet | None:
    raw = monero_b58decode(address)
    if raw is None or len(raw) not in (69, 77):
        return None
    data, checksum = raw[:-4], raw[-4:]
    if keccak256(data)[:4] != checksum:
        return None
    kind = MONERO_NETWORK.get(data[0])
    if kind is None or (kind == "integrated") != (len(raw) == 77):
        return None
    return Wallet(address, "XMR", kind)


# --- finding ---------------------------------------------------------------------------------


@lru_cache(maxsize=100_000)
def validate_wallet(address: str) -> Wallet | None:
    """The wallet an address string stands for, when its checksum holds; else None."""
    text = address.strip()
    if text[:2] in ("0x", "0X"):
        return check_ethereum("0x" + text[2:])
    if text[:3].lower() in ("bc1", "ltc") and "1" in text[:4]:
        return check_segwit(text)
    if len(text) in (95, 106) and text[0] in "48":
        return check_monero(text)
    return check_base58(text)


def find_wallets(text: str) -> list[Wallet]:
    """Every checksum-valid address in ``text`` (original case), with its span."""
    found: list[Wallet] = []
    if max(map(len, text.split()), default=0) <= 25:
        return found
    for match in CANDIDATES.finditer(text):
        wallet = validate_wallet(match.group())
        if wallet is not None:
            found.append(
                Wallet(wallet.address, wallet.currency, wallet.kind, match.start(), match.end())
            )
    return found

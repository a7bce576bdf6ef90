"""Keccak-256 as Ethereum and Monero use it (the original Keccak padding, not FIPS-202 SHA3).

Python's ``hashlib.sha3_256`` pads differently and gives other digests, and no installed
package provides the original, so this is the Keccak-f[1600] permutation from the Keccak
reference (Bertoni, Daemen, Peeters, Van Assche), rate 1088 bits, capacity 512, padding
``0x01 ... 0x80``. It is only used to check address checksums, a few hundred bytes at a time.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1
_ROUND_CONSTANTS = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip
# Rotation offsets r[x][y] of the rho step.
_ROTATIONS = (
    (0, 36, 3, 41, 18),
    (1, 44, 10, 45, 2),
    (62, 6, 43, 15, 61),
    (28, 55, 25, 21, 56),
    (27, 20, 39, 8, 14),
)
RATE_BYTES = 136


# For lane i = x + 5y: where rho+pi moves it, and by how much it rotates.
_PI = [0] * 25
_RHO = [0] * 25
for _x in range(5):
    for _y in range(5):
        _PI[_x + 5 * _y] = _y + 5 * ((2 * _x + 3 * _y) % 5)
        _RHO[_x + 5 * _y] = _ROTATIONS[_x][_y]


def _permute(lanes: list[int]) -> None:
    """Keccak-f[1600] on 25 64-bit lanes (index x + 5y), in place."""
    moved = [0] * 25
    for constant in _ROUND_CONSTANTS:
        # theta
        c = [
            lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20]
            for x in range(5)
        ]
        for x in range(5):
            right = c[(x + 1) % 5]
            d = c[(x - 1) % 5] ^ (((right << 1) | (right >> 63)) & _MASK)
            for y in range(0, 25, 5):
                lanes[x + y] ^= d
        # rho and pi
        for index in range(25):
            value, shift = lanes[index], _RHO[index]
            moved[_PI[index]] = (
                ((value << shift) | (value >> (64 - shift))) & _MASK if shift else value
            )
        # chi
        for y in range(0, 25, 5):
            row = moved[y : y + 5]
            for x in range(5):
                lanes[x + y] = row[x] ^ ((~row[(x + 1) % 5]) & row[(x + 2) % 5])
        # iota
        lanes[0] ^= constant


def keccak256(data: bytes) -> bytes:
    """The 32-byte Keccak-256 digest of ``data``."""
    padded = bytearray(data)
    padded.append(0x01)
    while len(padded) % RATE_BYTES:
        padded.append(0)
    padded[-1] |= 0x80
    lanes = [0] * 25
    for offset in range(0, len(padded), RATE_BYTES):
        block = padded[offset : offset + RATE_BYTES]
        for index in range(RATE_BYTES // 8):
            lanes[index] ^= int.from_bytes(block[index * 8 : index * 8 + 8], "little")
        _permute(lanes)
    return b"".join(lanes[index].to_bytes(8, "little") for index in range(4))

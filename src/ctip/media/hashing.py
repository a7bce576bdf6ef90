"""Hash an image: PDQ (Meta's 256-bit perceptual hash) with its quality, and SHA-256.

Decoding dominates the cost, so JPEGs are decoded at reduced size with libjpeg's DCT scaling
(``Image.draft``) to at most twice PDQ's working resolution; PDQ itself downsamples to 64x64
with a Jarosz filter, so the hash does not change in any way that matters (measured in
bench/media.py). Unreadable and truncated files raise ``ImageError`` with the reason; the
caller reports and skips them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageFile, UnidentifiedImageError

MATCH_DISTANCE = 31  # PDQ's published match threshold (out of 256 bits)
MIN_QUALITY = 50  # PDQ hashes of quality below 50 are unreliable and ignored for matching
DECODE_SIZE = 512
THUMBNAIL_SIZE = 160

ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(Exception):
    """A file that is not a readable image."""


@dataclass(frozen=True)
class ImageHash:
    sha256: str
    pdq: str  # 64 hex digits
    quality: int
    width: int
    height: int
    format: str | None
    dihedral: tuple[str, ...] = field(default_factory=tuple)  # the 8 rotations/flips, PDQ order
    thumbnail: bytes | None = None


def bits_to_hex(bits: np.ndarray) -> str:
    """PDQ's 256 bits -> 64 hex digits (most significant bit first)."""
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))
    return packed.tobytes().hex()


def hex_to_bytes(value: str) -> bytes:
    return bytes.fromhex(value)


def hamming(a: str, b: str) -> int:
    return int.bit_count(int(a, 16) ^ int(b, 16))


def _decode(data: bytes) -> tuple[Image.Image, int, int, str | None]:
    try:
        image = Image.open(io.BytesIO(data))
        width, height, kind = image.width, image.height, image.format
        if kind == "JPEG" and max(width, height) > DECODE_SIZE:
            # libjpeg scales by 1/2, 1/4 or 1/8 while decoding, keeping the long side >= 512
            scale = DECODE_SIZE / max(width, height)
            image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(str(error).split("\n")[0] or error.__class__.__name__) from error
    rgb = image.convert("RGB")
    if max(rgb.size) > DECODE_SIZE:
        rgb.thumbnail((DECODE_SIZE, DECODE_SIZE), Image.Resampling.BILINEAR)
    return rgb, width, height, kind


def thumbnail_bytes(image: Image.Image) -> bytes:
    """A small JPEG made from pixels only, so no EXIF (GPS, camera serial) survives."""
    small = image.copy()
    small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=70)
    return out.getvalue()


def hash_bytes(data: bytes, *, dihedral: bool = False, thumbnail: bool = False) -> ImageHash:
    digest = hashlib.sha256(data).hexdigest()
    image, width, height, kind = _decode(data)
    pixels = np.asarray(image)
    if dihedral:
        hashes, quality = pdqhash.compute_dihedral(pixels)
        variants = tuple(bits_to_hex(h) for h in hashes)
        main = variants[0]
    else:
        bits, quality = pdqhash.compute(pixels)
        main, variants = bits_to_hex(bits), ()
    return ImageHash(
        digest,
        main,
        int(quality),
        width,
        height,
        kind,
        variants,
        thumbnail_bytes(image) if thumbnail else None,
    )


def hash_file(path: Path, *, dihedral: bool = False, thumbnail: bool = False) -> ImageHash:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(error.strerror or str(error)) from error
    if not data:
        raise ImageError("empty file")
    return hash_bytes(data, dihedral=dihedral, thumbnail=thumbnail)

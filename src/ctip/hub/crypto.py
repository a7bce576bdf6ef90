"""Envelope encryption for the hub: a master key wraps per-agency data keys.

- The master key (32 random bytes) lives in a file outside the database
  (``CTIP_MASTER_KEY_FILE``, default ``<data dir>/master.key``), created with mode 0600 the first
  time the hub starts. Losing it loses every personal field: it must be backed up.
- Each agency has data keys (AES-256-GCM, versioned, rotated by ``ctip hub rotate-keys``) and
  one blind-index key (HMAC-SHA256), all stored wrapped by the master key. A copy of the
  database alone decrypts nothing.
- Every ciphertext is bound to where it belongs with associated data (table, row id, key
  version), so a ciphertext moved to another row or column fails to decrypt instead of
  silently showing another person's data.
- Blind indexes let the hub find "the record with this identity number" without storing it in
  clear: HMAC of a normalised value under the agency's index key. Equal inputs give equal
  digests only within one agency.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ctip.errors import CtipError

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = b"\x01"
KEY_FILE_HEADER = "ctip-master-key-v1"
BLIND_INDEX_BYTES = 16
BACKUP_WARNING = (
    "a new master key was created at {path}: back it up now, somewhere other than this"
    " machine. Without it every encrypted personal field in the hub is lost for good."
)


class DecryptionError(CtipError):
    """A ciphertext did not authenticate: wrong key, or data moved or altered."""


@dataclass(frozen=True)
class MasterKey:
    key: bytes = b""

    @property
    def key_id(self) -> str:
        """A short public fingerprint, stored beside wrapped keys to name the master used."""
        return hashlib.sha256(b"ctip-master-key-id" + self.key).hexdigest()[:16]

    def wrap(self, secret: bytes, context: str) -> bytes:
        return seal(self.key, secret, b"ctip-wrap|" + context.encode())

    def unwrap(self, blob: bytes, context: str) -> bytes:
        try:
            return open_sealed(self.key, blob, b"ctip-wrap|" + context.encode())
        except DecryptionError as error:
            raise CtipError(
                f"cannot unwrap the key for {context} with this master key",
                hint="is CTIP_MASTER_KEY_FILE the key this hub was created with? restore it"
                " from your backup",
            ) from error


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """AES-256-GCM with a random 96-bit nonce: version byte, nonce, ciphertext and tag."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def open_sealed(key: bytes, blob: bytes, associated: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_VERSION:
        raise DecryptionError("not a CTIP ciphertext")
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], associated)
    except InvalidTag as error:
        raise DecryptionError("ciphertext does not authenticate") from error


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def load_or_create_master_key(path: Path) -> tuple[MasterKey, bool]:
    """Read the master key file, creating it (mode 0600) when absent; (key, created)."""
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = new_key()
        text = f"{KEY_FILE_HEADER}\n{base64.b64encode(key).decode()}\n"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(text)
            created = True
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CtipError(
            f"{path} can be read by other users (mode {stat.filemode(mode)})",
            hint=f"run: chmod 600 {path}",
        )
    lines = path.read_text(encoding="ascii").split()
    try:
        if lines[0] != KEY_FILE_HEADER:
            raise ValueError("header")
        key = base64.b64decode(lines[1], validate=True)
    except (IndexError, ValueError) as error:
        raise CtipError(f"{path} is not a CTIP master key file") from error
    if len(key) != KEY_BYTES:
        raise CtipError(f"{path} does not hold a 256-bit key")
    return MasterKey(key), created


def write_master_key(path: Path, key: MasterKey) -> None:
    """Write a (new) master key file atomically with mode 0600."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(f"{KEY_FILE_HEADER}\n{base64.b64encode(key.key).decode()}\n")
    temporary.replace(path)


@dataclass(frozen=True)
class DataKey:
    """One agency data key version."""

    agency_id: str
    version: int
    key: bytes

    def encrypt(self, plaintext: bytes, where: str) -> bytes:
        return seal(self.key, plaintext, self._associated(where))

    def decrypt(self, blob: bytes, where: str) -> bytes:
        return open_sealed(self.key, blob, self._associated(where))

    def _associated(self, where: str) -> bytes:
        return f"{self.agency_id}|{self.version}|{where}".encode()


# --- blind indexes -----------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


NORMALISERS: dict[str, Callable[[str], str]] = {
    "identity_number": lambda v: re.sub(r"[^0-9A-Z]", "", _fold(v).upper()),
    "email": lambda v: v.strip().lower(),
    "phone": lambda v: re.sub(r"\D", "", v),
    "name": lambda v: " ".join(re.sub(r"[^\w ]", " ", _fold(v)).split()),
}
BLIND_INDEXED = ("identity_number", "email", "phone", "name")


def blind_index(key: bytes, kind: str, value: str | None) -> bytes | None:
    """Keyed digest of a normalised value, or None when there is nothing to index."""
    if value is None:
        return None
    normalised = NORMALISERS[kind](str(value))
    if not normalised:
        return None
    message = kind.encode() + b"\x00" + normalised.encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:BLIND_INDEX_BYTES]


def person_name(first: str | None, last: str | None, birth_date: str | None) -> str | None:
    """The name key indexed for look-ups: first and last name, and birth date when known."""
    if not first and not last:
        return None
    return " ".join(part for part in (first, last, birth_date) if part)


def derive(key: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose (HMAC as a PRF over the purpose label)."""
    return hmac.new(key, b"ctip-derive|" + purpose.encode(), hashlib.sha256).digest()


def token_digest(token: str) -> bytes:
    """Stored form of a bearer secret (tokens and session ids carry 256 random bits)."""
    return hashlib.sha256(token.encode()).digest()

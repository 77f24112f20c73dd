"""Encryption of TOTP seeds at rest: AES-256-GCM under a key file, bound to the user.

The key file (by default ``keys/stepup-seeds.key``) holds exactly 32 random bytes, mode
0600; it is created on first use when allowed and refused when group or others may read
it.  A seed is stored as a fresh 12-byte nonce and the AES-GCM ciphertext (with its
16-byte tag) of the base32 seed text.  The associated data is ``SEED_AAD_CONTEXT``
followed by the user id in UTF-8, so a row copied to another user does not decrypt.
The key id (first 16 hex digits of SHA-256 over the key) is stored next to each seed so
a seed written under another key is recognised as such.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.stepup.errors import SeedKeyError, StepUpStoreError

__all__ = ["KEY_BYTES", "NONCE_BYTES", "SEED_AAD_CONTEXT", "SealedSeed", "SeedCipher"]

KEY_BYTES = 32
NONCE_BYTES = 12
SEED_AAD_CONTEXT = b"it-support-gateway stepup seed v1\n"


@dataclass(frozen=True, slots=True)
class SealedSeed:
    """A seed as it is stored: the key that sealed it, the nonce and the ciphertext."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


def _aad(user: str) -> bytes:
    return SEED_AAD_CONTEXT + user.encode("utf-8")


@dataclass(frozen=True)
class SeedCipher:
    """Seals and opens seeds with one AES-256-GCM key."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise SeedKeyError(f"seed key must be {KEY_BYTES} bytes, found {len(self.key)}")

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.key).hexdigest()[:16]

    def seal(self, user: str, seed: str) -> SealedSeed:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.key).encrypt(nonce, seed.encode("ascii"), _aad(user))
        return SealedSeed(self.key_id, nonce, ciphertext)

    def open(self, user: str, sealed: SealedSeed) -> str:
        """The seed, or ``StepUpStoreError`` if it was sealed for another user or key."""
        if sealed.key_id != self.key_id:
            raise StepUpStoreError(
                f"stored seed of {user!r} was sealed by key {sealed.key_id}, "
                f"this gateway holds {self.key_id}"
            )
        try:
            plain = AESGCM(self.key).decrypt(sealed.nonce, sealed.ciphertext, _aad(user))
        except (InvalidTag, ValueError) as exc:
            raise StepUpStoreError(
                f"stored seed of {user!r} does not decrypt (altered, or moved from another user)"
            ) from exc
        return plain.decode("ascii")

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool = False) -> SeedCipher:
        """Load the key in ``path``; make it first (mode 0600) when missing and ``create``."""
        if create and not path.exists():
            _create_key_file(path)
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise SeedKeyError(f"{path}: cannot read seed key: {exc.strerror}") from exc
        with os.fdopen(descriptor, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise SeedKeyError(
                    f"{path}: seed key is accessible by group or others "
                    f"(mode {stat.S_IMODE(mode):04o}); expected 0600"
                )
            key = handle.read(KEY_BYTES + 1)
        if len(key) != KEY_BYTES:
            raise SeedKeyError(f"{path}: seed key must be {KEY_BYTES} bytes, found {len(key)}")
        return cls(key)


def _create_key_file(path: Path) -> None:
    """Write a new key beside ``path`` and link it into place; never replace an existing one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise SeedKeyError(f"{path}: cannot create seed key: {exc.strerror}") from exc
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
    except OSError as exc:
        raise SeedKeyError(f"{path}: cannot create seed key: {exc.strerror}") from exc
    finally:
        temporary.unlink()

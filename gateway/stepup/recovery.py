"""One-time recovery codes: made at enrolment, shown once, stored as salted scrypt hashes.

A code is 16 characters of Crockford's base32 alphabet (80 random bits), shown in four
groups of four separated by ``-`` (``7k3m-q9x2-h4td-0pwe``).  Input is accepted in either
case, with or without the hyphens, and nothing else (no spaces, no other characters).
Each code is stored as ``scrypt(code, salt, n, r=8, p=1, dklen=32)`` with its own 16-byte
salt; the cost ``n`` is stored with it so it can be raised later.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from gateway.stepup.errors import MalformedCodeError

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "HashedCode",
    "hash_code",
    "matches",
    "new_code",
    "normalise_code",
]

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
CODE_LENGTH = 16
GROUP = 4
SALT_BYTES = 16
_R = 8
_P = 1
_DKLEN = 32
_ALLOWED = frozenset(ALPHABET + ALPHABET.upper() + "-")
_MAX_INPUT = CODE_LENGTH + CODE_LENGTH // GROUP - 1


@dataclass(frozen=True, slots=True)
class HashedCode:
    """A recovery code as stored: scrypt cost, salt and hash."""

    n: int
    salt: bytes
    digest: bytes


def new_code() -> str:
    """A fresh code in its display form, ``xxxx-xxxx-xxxx-xxxx``."""
    plain = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(plain[at : at + GROUP] for at in range(0, CODE_LENGTH, GROUP))


def normalise_code(code: object) -> str:
    """The 16 lower-case characters of ``code``, or ``MalformedCodeError`` (never echoed)."""
    if isinstance(code, str) and len(code) <= _MAX_INPUT and set(code) <= _ALLOWED:
        plain = code.replace("-", "").lower()
        if len(plain) == CODE_LENGTH:
            return plain
    raise MalformedCodeError(
        f"recovery code must be {CODE_LENGTH} letters and digits, optionally grouped by '-'"
    )


def _scrypt(plain: str, salt: bytes, n: int) -> bytes:
    return hashlib.scrypt(
        plain.encode("ascii"), salt=salt, n=n, r=_R, p=_P, dklen=_DKLEN, maxmem=256 * n * _R + 2**20
    )


def hash_code(code: str, n: int) -> HashedCode:
    """Hash a code (display or normalised form) with a fresh salt."""
    salt = os.urandom(SALT_BYTES)
    return HashedCode(n, salt, _scrypt(normalise_code(code), salt, n))


def matches(plain: str, stored: HashedCode) -> bool:
    """Whether the normalised ``plain`` is the code ``stored`` was made from."""
    return hmac.compare_digest(_scrypt(plain, stored.salt, stored.n), stored.digest)

"""The sealed form of one personal field: AES-256-GCM under a data key, with a commitment.

A sealed value takes the place of the plain value in the record's payload::

    {"$sealed": {"v": 1, "alg": "A256GCM", "kid": KID, "nonce": B64, "ct": B64,
                 "commit": HEX}}

- ``plaintext`` = canonical JSON of ``{"salt": B64(16 random bytes), "value": VALUE}``;
- ``aad`` = ``AAD_CONTEXT`` followed by the canonical JSON of
  ``{"field": PATH, "kid": KID, "type": EVENT_TYPE}``: the ciphertext opens only in the
  record type and field it was sealed for;
- ``ct`` = AES-256-GCM(key, nonce, plaintext, aad), the 16-byte tag appended;
- ``commit`` = SHA-256(``COMMIT_CONTEXT`` ‖ plaintext), hex.  AES-GCM does not commit to
  its key: a key store could hand out another key that opens the same ciphertext to a
  different value.  The signed commitment pins the value; the salt inside the sealed
  plaintext keeps it from being guessed once the key is gone.

The record signature and Merkle leaf cover this form, so erasing the key changes no byte
of the log.  See ``docs/audit-log-format.md`` (Sealed fields).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.audit.canonical import canonical_bytes

__all__ = [
    "AAD_CONTEXT",
    "COMMIT_CONTEXT",
    "KEY_BYTES",
    "MARK",
    "Envelope",
    "EnvelopeError",
    "open_envelope",
    "read_envelope",
    "seal_value",
]

MARK = "$sealed"
ALGORITHM = "A256GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16
AAD_CONTEXT = b"it-support-gateway sealed field v1\n"
COMMIT_CONTEXT = b"it-support-gateway field commitment v1\n"
_KID = re.compile(r"[0-9a-f]{32}", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_MEMBERS = frozenset({"v", "alg", "kid", "nonce", "ct", "commit"})


class EnvelopeError(ValueError):
    """A sealed value is malformed, or does not open with the key given."""


@dataclass(frozen=True, slots=True)
class Envelope:
    kid: str
    nonce: bytes
    ciphertext: bytes
    commit: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=128)
def _cipher(key: bytes) -> AESGCM:
    """The AES-GCM object of ``key``, made once: its key schedule costs more than sealing
    a field.  Only a key the key store has just handed out is ever looked up here, so an
    erased key is never used again; the few most recent stay in memory until evicted."""
    return AESGCM(key)


def _aad(event_type: str, field: str, kid: str) -> bytes:
    return AAD_CONTEXT + canonical_bytes({"field": field, "kid": kid, "type": event_type})


def seal_value(value: Any, *, key: bytes, kid: str, event_type: str, field: str) -> dict[str, Any]:
    """The sealed form of ``value`` (a canonical JSON value) for ``field`` of a record."""
    fresh = os.urandom(SALT_BYTES + NONCE_BYTES)
    salt, nonce = fresh[:SALT_BYTES], fresh[SALT_BYTES:]
    plaintext = canonical_bytes({"salt": _b64(salt), "value": value})
    ciphertext = _cipher(key).encrypt(nonce, plaintext, _aad(event_type, field, kid))
    commit = hashlib.sha256(COMMIT_CONTEXT + plaintext).hexdigest()
    body = {"v": 1, "alg": ALGORITHM, "kid": kid, "nonce": _b64(nonce), "ct": _b64(ciphertext)}
    return {MARK: {**body, "commit": commit}}


def _decode(text: Any, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError("nonce and ct must be base64 strings")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise EnvelopeError("nonce and ct must be base64 strings") from exc
    if size is not None and len(raw) != size:
        raise EnvelopeError(f"nonce must be {size} bytes")
    return raw


def read_envelope(value: Any) -> Envelope | None:
    """The envelope ``value`` is, ``None`` when it is a plain value; ``EnvelopeError``
    when it claims to be sealed but is malformed."""
    if not (isinstance(value, dict) and len(value) == 1 and MARK in value):
        return None
    body = value[MARK]
    if not isinstance(body, dict) or body.keys() != _MEMBERS:
        raise EnvelopeError(f"a sealed value has exactly the members {sorted(_MEMBERS)}")
    if body["v"] != 1 or body["alg"] != ALGORITHM:
        raise EnvelopeError(f"unsupported sealed value: v {body['v']!r}, alg {body['alg']!r}")
    if not isinstance(body["kid"], str) or _KID.fullmatch(body["kid"]) is None:
        raise EnvelopeError("kid must be 32 lower-case hex digits")
    if not isinstance(body["commit"], str) or _HEX64.fullmatch(body["commit"]) is None:
        raise EnvelopeError("commit must be 64 lower-case hex digits")
    return Envelope(
        kid=body["kid"],
        nonce=_decode(body["nonce"], NONCE_BYTES),
        ciphertext=_decode(body["ct"]),
        commit=body["commit"],
    )


def open_envelope(envelope: Envelope, *, key: bytes, event_type: str, field: str) -> Any:
    """The value sealed in ``envelope``; ``EnvelopeError`` when it does not open or does
    not match its commitment."""
    try:
        plaintext = _cipher(key).decrypt(
            envelope.nonce, envelope.ciphertext, _aad(event_type, field, envelope.kid)
        )
    except (InvalidTag, ValueError) as exc:
        raise EnvelopeError(f"{field}: does not open with data key {envelope.kid}") from exc
    commit = hashlib.sha256(COMMIT_CONTEXT + plaintext).hexdigest()
    if not hmac.compare_digest(commit, envelope.commit):
        raise EnvelopeError(f"{field}: opened value does not match its commitment")
    try:
        return json.loads(plaintext)["value"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvelopeError(f"{field}: sealed plaintext is not a salted value") from exc

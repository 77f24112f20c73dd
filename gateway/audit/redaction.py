"""Keep secrets out of the audit log, whoever builds the record.

A value is dropped (replaced by ``"[redacted]"``) when its key names a secret (password,
token, seed, one-time code, private key, ...) or when the value looks like one (a bearer or
SSWS token, a JWT, an ``otpauth://`` URI, a PEM private key), or when it is a pydantic
``SecretStr``/``SecretBytes``.  The paths of what was dropped are kept, never the values.

``SignedLines`` (a field kit's segment lines merged into the central log) are left as they
are, unread: each is a record signed by a device key, and a changed byte would break its
signature.  What they hold was redacted when the device wrote them, by the kit's rules.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import SecretBytes, SecretStr

__all__ = ["REDACTED", "SignedLines", "redact"]

REDACTED = "[redacted]"


class SignedLines(list[str]):
    """Lines signed by another key (a field kit's device), embedded verbatim in a payload:
    redaction leaves them byte for byte as they are."""


# Keys, lower-cased with everything but letters removed: secret when equal to one of
# _SECRET_NAMES or containing one of _SECRET_STEMS.
_SECRET_NAMES = frozenset({"pwd", "pin", "otp", "cookie", "authorization", "sessionid", "code"})
_SECRET_STEMS = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "seed",
    "totp",
    "otpcode",
    "mfacode",
    "pincode",
    "authcode",
    "securitycode",
    "verificationcode",
    "recoverycode",
    "credential",
)
_SECRET_VALUE = re.compile(
    r"^\s*(bearer|ssws|basic)\s+\S+"  # HTTP authorization values
    r"|^\s*ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\."  # JSON web tokens
    r"|^\s*otpauth://"  # TOTP provisioning URIs carry the seed
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----",
    re.IGNORECASE,
)


_STEM = re.compile("|".join(_SECRET_STEMS))
_NOT_LETTER = re.compile(r"[^a-z]")


@lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    normalised = _NOT_LETTER.sub("", key.lower())
    return normalised in _SECRET_NAMES or _STEM.search(normalised) is not None


# Values kept as they are without a look: they can hold no secret.
_PLAIN = frozenset({int, bool, float, type(None)})


def _path(trail: Any) -> str:
    """The text of ``trail``: a path, or ``(parent trail, key or index, is an index)``;
    only built for what is dropped."""
    if isinstance(trail, str):
        return trail
    parent, step, index = trail
    return f"{_path(parent)}[{step}]" if index else f"{_path(parent)}.{step}"


def _walk(value: Any, trail: Any, dropped: list[str]) -> Any:
    if type(value) is SignedLines:
        return value
    if isinstance(value, (SecretStr, SecretBytes)):
        dropped.append(_path(trail))
        return REDACTED
    if isinstance(value, dict):
        clean = {}
        for key, item in value.items():
            if isinstance(key, str) and _is_secret_key(key):
                dropped.append(_path((trail, key, False)))
                clean[key] = REDACTED
            elif type(item) in _PLAIN or (type(item) is str and not _SECRET_VALUE.search(item)):
                clean[key] = item
            else:
                clean[key] = _walk(item, (trail, key, False), dropped)
        return clean
    if isinstance(value, (list, tuple)):
        return [
            item if type(item) in _PLAIN else _walk(item, (trail, index, True), dropped)
            for index, item in enumerate(value)
        ]
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        dropped.append(_path(trail))
        return REDACTED
    return value


def redact(value: Any, path: str = "payload") -> tuple[Any, list[str]]:
    """``value`` with every secret replaced, and the paths that were replaced."""
    dropped: list[str] = []
    return _walk(value, path, dropped), dropped

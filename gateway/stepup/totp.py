"""TOTP (RFC 6238) as the gateway uses it: SHA-1, 6 digits, 30-second steps.

``pyotp`` computes the codes; this module decides which inputs are well formed and
which time steps a code matches, so the service can refuse replays by time step.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime

import pyotp

from gateway.stepup.errors import MalformedCodeError

__all__ = [
    "DIGITS",
    "PERIOD_SECONDS",
    "check_code_format",
    "matching_step",
    "new_seed",
    "provisioning_uri",
    "time_step",
]

DIGITS = 6
PERIOD_SECONDS = 30
_ASCII_DIGITS = frozenset("0123456789")


def new_seed() -> str:
    """A random base32 seed of 160 bits (32 characters)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(seed: str, *, user: str, issuer: str) -> str:
    """The ``otpauth://totp/ISSUER:USER?secret=...&issuer=...`` URI an authenticator scans."""
    return pyotp.TOTP(seed, issuer=issuer, name=user).provisioning_uri()


def check_code_format(code: object) -> str:
    """``code`` if it is exactly six ASCII digits, else ``MalformedCodeError`` (never echoed)."""
    if not isinstance(code, str) or len(code) != DIGITS or not set(code) <= _ASCII_DIGITS:
        raise MalformedCodeError(f"step-up code must be exactly {DIGITS} ASCII digits")
    return code


def time_step(moment: datetime) -> int:
    """The RFC 6238 counter: whole 30-second steps since the Unix epoch."""
    if moment.tzinfo is None:
        raise TypeError("step-up times must be timezone-aware")
    return int(moment.timestamp()) // PERIOD_SECONDS


def _window(step: int, valid_window: int) -> Iterator[int]:
    """The steps to try, the current one first, then nearest outwards; never below zero."""
    yield step
    for distance in range(1, valid_window + 1):
        for candidate in (step - distance, step + distance):
            if candidate >= 0:
                yield candidate


def matching_step(seed: str, code: str, moment: datetime, valid_window: int) -> int | None:
    """The highest step within ``valid_window`` of ``moment`` whose code is ``code``."""
    totp = pyotp.TOTP(seed, digits=DIGITS)
    found: int | None = None
    for step in _window(time_step(moment), valid_window):
        # Compare every candidate (no early exit), in constant time.
        if hmac.compare_digest(totp.generate_otp(step), code) and (found is None or step > found):
            found = step
    return found

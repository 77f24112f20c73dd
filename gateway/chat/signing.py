"""Slack's request signature, and the memory that refuses a request seen before.

Slack ("Verifying requests from Slack", api.slack.com/authentication/verifying-requests-
from-slack) sends ``X-Slack-Request-Timestamp`` (Unix seconds) and ``X-Slack-Signature:
v0=<hex>``, the hex being HMAC-SHA256 of ``v0:<timestamp>:<raw body>`` keyed with the app's
signing secret.  A request is refused when either header is missing, the timestamp is more
than ``max_age`` seconds away from now (either way), or the signature differs (compared in
constant time over the raw bytes).  A signature already accepted within the window is a
replay and is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from gateway.chat.errors import ChatRefusedError

__all__ = ["ReplayGuard", "sign", "verify_slack_request"]

TIMESTAMP = "x-slack-request-timestamp"
SIGNATURE = "x-slack-signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=<hex>`` for ``body`` sent at ``timestamp``."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack_request(
    secret: SecretStr, headers: Mapping[str, str], body: bytes, now: float, max_age: int
) -> str:
    """The signature of a genuine, fresh request; ``ChatRefusedError`` otherwise."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP)
    signature = lowered.get(SIGNATURE)
    if not timestamp or not signature:
        raise ChatRefusedError("unsigned", "the request carries no Slack signature")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise ChatRefusedError("bad_signature", "the Slack request timestamp is not a number")
    age = now - int(timestamp)
    if abs(age) > max_age:
        raise ChatRefusedError(
            "expired", f"the Slack request is {int(age)}s old; at most {max_age}s is accepted"
        )
    expected = sign(secret.get_secret_value(), timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise ChatRefusedError("bad_signature", "the Slack signature does not match the body")
    return signature


class ReplayGuard:
    """Signatures accepted in the last ``window`` seconds; thread-safe.  A signature seen
    again is refused (``replayed``).  Kept in memory: a gateway of several processes sees
    a replay sent to another process as new (the 5-minute window still bounds it)."""

    def __init__(self, window: float, monotonic: Callable[[], float]) -> None:
        self._window = window
        self._monotonic = monotonic
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def admit(self, signature: str) -> None:
        now = self._monotonic()
        with self._lock:
            if len(self._seen) > 1024:
                self._seen = {s: t for s, t in self._seen.items() if t > now}
            until = self._seen.get(signature)
            if until is not None and until > now:
                raise ChatRefusedError("replayed", "this Slack request was already taken")
            self._seen[signature] = now + self._window

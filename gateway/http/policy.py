"""When an outbound call is tried again, and how long to wait first.

``RetryPolicy`` holds the limits: at most ``max_retries`` extra attempts after an answer of
HTTP 429 or 5xx (and, when ``retry_transport_errors``, after a connection failure or a
timeout); the wait before retry ``n`` (0-based) is ``backoff_seconds * 2**n``, or the wait
the server asked for, each wait capped by ``max_wait_seconds``.

The server asks with ``Retry-After`` (RFC 9110, section 10.2.3): delay-seconds or an
HTTP-date, read by ``retry_after``.  A connector whose server speaks another header (Okta's
``X-Rate-Limit-Reset``) passes its own ``WaitHint``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["RetryPolicy", "WaitHint", "is_retryable", "retry_after"]

WaitHint = Callable[[httpx.Response, datetime], float | None]
"""Seconds a server asked to wait before the next attempt, read from its answer at a
moment, or ``None`` when it did not say."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Limits for retrying one call; ``max_retries=0`` never retries."""

    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_wait_seconds: float = 30.0
    retry_transport_errors: bool = True

    def wait(self, attempt: int, asked: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): what the server ``asked``
        for when it did, else the exponential backoff, capped either way."""
        if asked is None:
            asked = self.backoff_seconds * 2.0**attempt
        return min(self.max_wait_seconds, max(0.0, asked))


def is_retryable(status: int) -> bool:
    """HTTP 429 (too many requests) and every 5xx are worth another attempt."""
    return status == 429 or status >= 500


def retry_after(response: httpx.Response, now: datetime) -> float | None:
    """The seconds ``Retry-After`` asks for (delay-seconds or an HTTP-date, counted from
    ``now``); ``None`` when the header is missing or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except ValueError:
            return None
        seconds = (moment.replace(tzinfo=moment.tzinfo or UTC) - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None

"""Bounds on intake that no credential vouches for.

The Jira webhook carries no gateway credential, only a signature checked after the body
is read; anyone can send one.  So deliveries from such a source pass a token bucket per
source (``[tickets] unauthenticated_per_minute``, ``unauthenticated_burst``) before the
body is looked at.  A refused delivery is counted here, in memory, and nothing else: no
dead letter, no audit record.  Authenticated sources (an API key, a polled help desk, a
local replay file) are not limited here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.tickets.errors import IntakeRateLimitedError

__all__ = ["IntakeLimits", "RefusalCounter", "TokenBucket"]


@dataclass
class TokenBucket:
    """``burst`` tokens, refilled at ``per_minute`` a minute; a delivery takes one."""

    per_minute: float
    burst: int
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until the next one."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    @property
    def rate(self) -> float:
        return self.per_minute / 60.0


class RefusalCounter:
    """Deliveries refused before intake, by source and reason (kept in memory only)."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = {}

    def add(self, source: str, reason: str) -> None:
        counts = self._counts.setdefault(source, {})
        counts[reason] = counts.get(reason, 0) + 1

    def as_json(self) -> dict[str, dict[str, int]]:
        return {source: dict(counts) for source, counts in sorted(self._counts.items())}


class IntakeLimits:
    """One token bucket per unauthenticated source, and the count of what was refused."""

    def __init__(
        self,
        per_minute: float = 120.0,
        burst: int = 30,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self.per_minute = per_minute
        self.burst = burst
        self.refused = RefusalCounter()
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def admit(self, source: str) -> None:
        """Take a token for one delivery from ``source`` or raise
        ``IntakeRateLimitedError`` (counted) with the whole seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = TokenBucket(self.per_minute, self.burst, float(self.burst), now)
            self._buckets[source] = bucket
        wait = bucket.take(now)
        if wait > 0:
            self.refused.add(source, "rate_limited")
            raise IntakeRateLimitedError(source, max(1, math.ceil(wait)))

"""The one clock: services take a ``Clock`` to read the time, and ``utcnow`` is the real one.

Tests pass a fake ``Clock`` (any callable returning an aware ``datetime``) to the service
under test instead of patching the module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "utcnow"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)

"""What a chat entry answers the platform, and what it does right after answering."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import GatewayError

__all__ = ["ChatAnswer"]

_log = logging.getLogger(__name__)


@dataclass
class ChatAnswer:
    """HTTP ``status`` with the JSON ``body`` (none: an empty 200); ``later`` runs after
    the answer is sent (Slack wants an answer within 3 seconds)."""

    status: int = 200
    body: dict[str, Any] | None = None
    later: list[Callable[[], None]] = field(default_factory=list)

    def run_later(self) -> None:
        """Each task in turn; one that fails is logged (its error holds no secret) and
        the others still run: the vote or run itself is already recorded."""
        for task in self.later:
            try:
                task()
            except GatewayError as exc:
                _log.warning("chat follow-up failed: %s", exc)

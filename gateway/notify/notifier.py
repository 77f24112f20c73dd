"""The one interface every notification channel implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gateway.notify.model import Notification

__all__ = ["Notifier"]


@runtime_checkable
class Notifier(Protocol):
    """Delivers a notification, or raises ``NotificationError`` once it has given up."""

    def send(self, notification: Notification) -> None: ...

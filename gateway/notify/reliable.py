"""A notifier that never raises and never loses: every notification goes through an outbox.

``ReliableNotifier.send`` first writes the notification to the ``Outbox``, claimed by this
process, and then (unless ``deliver_now=False``) tries the wrapped notifier once, which
retries as it is configured to.  Delivered, the row is deleted; failed, the error is kept
and ``send`` returns all the same, so an approval is never refused or lost because a
notification channel is down.  ``flush`` (called by a worker or a timer) claims the
notifications that are due and that no process holds, oldest first, tries each, and
reports what it delivered and what is still pending.

``send`` never raises: even an outbox that cannot be written is only logged, at ERROR.
With the outbox shared by several processes (``gateway.storage``), each notification is
delivered by the one process that claimed it; only a crash between delivery and deletion
sends it again.  Set the wrapped notifier's ``RetryPolicy`` small (or
``deliver_now=False``) to keep ``send`` fast.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gateway.notify.errors import NotificationError
from gateway.notify.model import Notification
from gateway.notify.notifier import Notifier
from gateway.notify.outbox import Outbox, PendingNotification

__all__ = ["FlushReport", "ReliableNotifier"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What one ``flush`` delivered (notification ids) and what is still pending."""

    delivered: tuple[str, ...]
    pending: tuple[PendingNotification, ...]


class ReliableNotifier:
    """A ``Notifier`` wrapping another with a durable outbox."""

    def __init__(self, notifier: Notifier, outbox: Outbox, *, deliver_now: bool = True) -> None:
        self._notifier = notifier
        self.outbox = outbox
        self._deliver_now = deliver_now
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    def __repr__(self) -> str:
        return f"ReliableNotifier({self._notifier!r}, {self.outbox!r})"

    def send(self, notification: Notification) -> None:
        """Queue ``notification`` durably and try to deliver it; never raises."""
        try:
            held = self.outbox.add(notification, claim=self._deliver_now)
        except NotificationError as error:
            _log.error("notification %s not queued: %s", notification.id, error)
            self._attempt(notification, queued=False)
            return
        if held:
            self._attempt(notification, queued=True)

    def flush(self) -> FlushReport:
        """Try every notification that is due and held by no process; ``NotificationError``
        if the outbox is unreadable."""
        delivered = []
        for entry in self.outbox.claim():
            if self._attempt(entry.notification, queued=True):
                delivered.append(entry.notification.id)
        return FlushReport(tuple(delivered), tuple(self.outbox.pending()))

    def close(self) -> None:
        """Close the outbox (the wrapped notifier is its builder's to close)."""
        self.outbox.close()

    def _attempt(self, notification: Notification, *, queued: bool) -> bool:
        """One delivery; the outcome is written to the outbox when ``queued``."""
        with self._lock:
            if notification.id in self._in_flight:
                return False
            self._in_flight.add(notification.id)
        try:
            try:
                self._notifier.send(notification)
            except NotificationError as error:
                problem = str(error)
            except Exception as error:  # a broken notifier must not break an approval
                problem = f"unexpected {type(error).__name__}"
            else:
                if queued:
                    self.outbox.delivered(notification.id)
                return True
            _log.warning("notification %s not delivered: %s", notification.id, problem)
            if queued:
                self.outbox.failed(notification.id, problem)
            return False
        except NotificationError as error:
            _log.error("notification %s: outbox not updated: %s", notification.id, error)
            return False
        finally:
            with self._lock:
                self._in_flight.discard(notification.id)

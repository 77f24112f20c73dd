"""The error raised when a notification cannot be delivered.

``NotificationError`` derives from ``GatewayError``.  Its message names the service and
the host only (``Slack webhook at hooks.slack.com: HTTP 404 no_service``): never a webhook
URL (its path is the secret), a bot token or a password.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = ["NotificationError"]


class NotificationError(GatewayError):
    """A notification was not delivered, after every retry the notifier allows.

    ``retryable`` is false when sending it again cannot help without a configuration change
    (an unknown channel, a refused login); the outbox keeps it either way.
    """

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(message)

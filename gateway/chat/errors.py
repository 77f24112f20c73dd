"""Errors of the chat entries::

    GatewayError
    └── ChatRefusedError     a chat request was refused before anything happened: bad or
                             missing signature or token, too old, replayed, malformed, or
                             from a platform user who is no directory person

``reason`` is a short machine-readable word, also written to the audit log.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = ["ChatRefusedError"]


class ChatRefusedError(GatewayError):
    exit_code = ExitCode.DENIED

    def __init__(self, reason: str, message: str, *, status: int = 401) -> None:
        self.reason = reason
        self.status = status  # the HTTP status the platform is answered with
        super().__init__(message)

"""Errors of guided troubleshooting.

::

    GatewayError
    ├── SourceError                a tree file is invalid (every problem with file and line)
    └── TroubleshootingError       a session could not be started or changed
        ├── UnknownTreeError       no tree has that id
        ├── UnknownSessionError    no session has that id
        ├── AnswerError            an answer has the wrong type or is outside the choices
        ├── FactError              a fact given at the start is unknown or has the wrong type
        ├── SessionStateError      the session cannot do that now (finished, nothing to undo)
        ├── SessionStoreError      the session store cannot be read or written
        └── MonitoringQueryError   the monitoring system refused a query (bad PromQL)

A session is never changed by a call that raises: the store is written only after a step
has been worked out completely.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = [
    "AnswerError",
    "FactError",
    "MonitoringQueryError",
    "SessionStateError",
    "SessionStoreError",
    "TroubleshootingError",
    "UnknownSessionError",
    "UnknownTreeError",
]


class TroubleshootingError(GatewayError):
    """A troubleshooting session could not be started or changed."""


class UnknownTreeError(TroubleshootingError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, tree: str, known: list[str]) -> None:
        self.tree = tree
        super().__init__(f"unknown tree {tree!r}; known: {', '.join(known) or 'none'}")


class UnknownSessionError(TroubleshootingError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"unknown session {session_id!r}")


class AnswerError(TroubleshootingError):
    """The answer does not fit the question; the session is unchanged."""

    exit_code = ExitCode.INVALID_INPUT


class FactError(TroubleshootingError):
    """A fact given at the start is not declared by the tree or has the wrong type."""

    exit_code = ExitCode.INVALID_INPUT


class SessionStateError(TroubleshootingError):
    """The session cannot do what was asked in its current state."""


class SessionStoreError(TroubleshootingError):
    """The session store cannot be opened, read or written."""

    exit_code = ExitCode.UNAVAILABLE


class MonitoringQueryError(TroubleshootingError):
    """The monitoring system refused the query itself (Prometheus ``bad_data`` or
    ``execution``): the check is an error, not an answer."""

    exit_code = ExitCode.INVALID_INPUT

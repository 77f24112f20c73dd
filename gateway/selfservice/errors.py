"""Errors of the self-service catalog.

::

    GatewayError
    └── SelfServiceError        a catalog request could not be served
        ├── UnknownItemError    no catalog item has that id (or the caller may not see it)
        ├── RunRefusedError     a guardrail or the policy refused the run; ``reason`` says
        │                       which (quota, rate_limit, maintenance, target_not_allowed, ...)
        ├── UnknownRunError     no run has that id
        ├── RunStateError       the run cannot do that now (cancel a finished run, ...)
        └── SelfServiceStoreError  the run store cannot be opened, read or written

Invalid parameters raise the runtime's ``ParameterError`` (it names every parameter, why,
and what is allowed).  Every refusal is recorded and audited before it is raised.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = [
    "RunRefusedError",
    "RunStateError",
    "SelfServiceError",
    "SelfServiceStoreError",
    "UnknownItemError",
    "UnknownRunError",
]


class SelfServiceError(GatewayError):
    """A catalog request could not be served."""


class UnknownItemError(SelfServiceError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        super().__init__(f"unknown catalog item {item_id[:64]!r}")


class RunRefusedError(SelfServiceError):
    """A guardrail or the policy refused the run; nothing was executed."""

    exit_code = ExitCode.DENIED

    def __init__(self, item_id: str, reason: str, message: str) -> None:
        self.item_id = item_id
        self.reason = reason
        self.detail = message
        super().__init__(f"{item_id}: refused ({reason}): {message}")


class UnknownRunError(SelfServiceError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"unknown catalog run {run_id[:64]!r}")


class RunStateError(SelfServiceError):
    """The run cannot do what was asked in its current state."""


class SelfServiceStoreError(SelfServiceError):
    exit_code = ExitCode.UNAVAILABLE

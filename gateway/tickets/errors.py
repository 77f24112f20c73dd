"""Errors of ticket intake, routing and write-back.

::

    GatewayError
    └── TicketError                 a ticket event, a help desk or the ticket store failed
        ├── TicketEventError        an event is malformed (names the field); dead-lettered
        │   ├── SignatureError      a webhook signature is missing or does not verify
        │   └── UnknownTicketError  the event names a ticket the help desk does not have
        ├── SourceNotConfiguredError  deliveries from a source that is not set up (not kept)
        ├── IntakeRateLimitedError  too many unauthenticated deliveries (not kept; retry later)
        ├── HelpDeskUnavailableError  the help desk cannot be reached (retried later)
        ├── HelpDeskError           the help desk refused a request (not retried)
        ├── WriteBackRefusedError   a write-back text looks like it holds a secret
        ├── UnknownDeadLetterError  no dead letter has that id
        └── TicketStoreError        the ticket store cannot be read or written

Messages never hold a secret: not a webhook secret, an API token, or a ticket's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.errors import ExitCode, GatewayError

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "HelpDeskError",
    "HelpDeskUnavailableError",
    "IntakeRateLimitedError",
    "SignatureError",
    "SourceNotConfiguredError",
    "TicketError",
    "TicketEventError",
    "TicketStoreError",
    "UnknownDeadLetterError",
    "UnknownTicketError",
    "WriteBackRefusedError",
]


class TicketError(GatewayError):
    """A ticket event, a help desk or the ticket store failed."""


class TicketEventError(TicketError):
    """An event cannot be used as it is; it goes to the dead-letter store."""

    exit_code = ExitCode.INVALID_INPUT

    @classmethod
    def invalid(cls, exc: ValidationError, prefix: str = "") -> TicketEventError:
        """The first three problems of a validation, each naming its field."""
        details = exc.errors(include_url=False, include_input=False)
        parts = [
            f"{prefix}{'.'.join(str(p) for p in d['loc']) or 'body'}: {d['msg']}"
            for d in details[:3]
        ]
        more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
        return cls("; ".join(parts) + more)


class SignatureError(TicketEventError):
    """A webhook's signature is missing or does not match the shared secret."""


class UnknownTicketError(TicketEventError):
    """The event names a ticket that the help desk does not have."""


class SourceNotConfiguredError(TicketError):
    """Deliveries from this source cannot be checked here; nothing is kept."""

    exit_code = ExitCode.INVALID_INPUT


class IntakeRateLimitedError(TicketError):
    """Too many unauthenticated deliveries from one source; nothing is kept."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, source: str, retry_after: int) -> None:
        self.source = source
        self.retry_after = retry_after
        super().__init__(f"too many unauthenticated {source} deliveries; retry in {retry_after} s")


class HelpDeskUnavailableError(TicketError):
    """The help desk cannot be reached or is overloaded; try again later."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class HelpDeskError(TicketError):
    """The help desk refused a request; trying again will not help."""


class WriteBackRefusedError(TicketError):
    """A write-back text looks like it carries a secret; nothing is written."""

    exit_code = ExitCode.DENIED


class UnknownDeadLetterError(TicketError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, letter_id: int) -> None:
        self.letter_id = letter_id
        super().__init__(f"unknown dead letter {letter_id}")


class TicketStoreError(TicketError):
    """The ticket store cannot be opened, read or written."""

    exit_code = ExitCode.UNAVAILABLE

"""Errors of step-up verification (to move into ``gateway/errors.py``)::

    GatewayError
    └── StepUpError              step-up verification refused or could not run
        ├── MalformedCodeError   the code is not in the expected form (also a RequestError)
        ├── CodeRejectedError    the code is wrong, outside the time window, or already used
        ├── StepUpLockedError    too many failures: step-up is locked for a while
        ├── NotEnrolledError     the user has no step-up enrolment
        ├── EnrolmentChangedError  the enrolment changed while a new one was being decided
        ├── SeedKeyError         the seed encryption key is missing, unsafe or invalid
        └── StepUpStoreError     the store cannot be used, or a stored seed does not decrypt

No message ever holds a code, a seed or a recovery code.
"""

from __future__ import annotations

from datetime import datetime

from gateway.errors import ExitCode, GatewayError, RequestError

__all__ = [
    "CodeRejectedError",
    "EnrolmentChangedError",
    "MalformedCodeError",
    "NotEnrolledError",
    "SeedKeyError",
    "StepUpError",
    "StepUpLockedError",
    "StepUpStoreError",
]


class StepUpError(GatewayError):
    """Step-up verification was refused or could not run."""

    exit_code = ExitCode.DENIED


class MalformedCodeError(StepUpError, RequestError):
    """The code is not in the expected form; the message describes the form, not the input."""

    exit_code = ExitCode.INVALID_INPUT


class CodeRejectedError(StepUpError):
    """The code is wrong, outside the accepted time window, or was already used.

    ``reason`` is ``wrong_code``, ``replayed`` or ``used_recovery_code``.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class StepUpLockedError(StepUpError):
    """Too many failed attempts; step-up is refused for the user until ``until``."""

    def __init__(self, user: str, until: datetime, message: str) -> None:
        self.user = user
        self.until = until
        super().__init__(message)


class NotEnrolledError(StepUpError):
    """The user has no step-up enrolment."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, user: str) -> None:
        self.user = user
        super().__init__(f"user {user!r} is not enrolled for step-up")


class EnrolmentChangedError(StepUpError):
    """Someone enrolled the user, or replaced the enrolment, after the decision was made."""

    exit_code = ExitCode.FAILED

    def __init__(self, user: str, enrolled: bool) -> None:
        self.user = user
        now = "enrolled" if enrolled else "not enrolled"
        super().__init__(f"user {user!r} is {now} now, unlike when it was decided; try again")


class SeedKeyError(StepUpError):
    """The key that encrypts stored seeds is missing, readable by others, or invalid."""

    exit_code = ExitCode.INVALID_INPUT


class StepUpStoreError(StepUpError):
    """The step-up store cannot be opened or written, or a stored seed does not decrypt."""

    exit_code = ExitCode.UNAVAILABLE

"""Step-up verification: TOTP (RFC 6238) with replay protection, lockout, one-time
recovery codes and binding to one action request; state in SQLite, seeds encrypted.

See ``docs/step-up.md``.
"""

from gateway.stepup.binding import request_digest
from gateway.stepup.errors import (
    CodeRejectedError,
    EnrolmentChangedError,
    MalformedCodeError,
    NotEnrolledError,
    SeedKeyError,
    StepUpError,
    StepUpLockedError,
    StepUpStoreError,
)
from gateway.stepup.seeds import SeedCipher
from gateway.stepup.service import Enrolment, StepUpService
from gateway.stepup.settings import StepUpSettings
from gateway.stepup.store import StepUpStore

__all__ = [
    "CodeRejectedError",
    "Enrolment",
    "EnrolmentChangedError",
    "MalformedCodeError",
    "NotEnrolledError",
    "SeedCipher",
    "SeedKeyError",
    "StepUpError",
    "StepUpLockedError",
    "StepUpService",
    "StepUpSettings",
    "StepUpStore",
    "StepUpStoreError",
    "request_digest",
]

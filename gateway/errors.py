"""Errors raised by the gateway.

Every error the gateway raises on untrusted input derives from one root, so a caller
can catch ``GatewayError`` once and print ``diagnostics()``::

    GatewayError
    ├── ConfigError            the configuration file is missing, unreadable or invalid
    ├── SourceError            an input file (policy, definition, directory) is invalid;
    │   │                      carries every problem found, each with file and line
    │   └── PolicyBundleError  the policy bundle failed to load or validate
    ├── RequestError           an access request is malformed (bad resource, bad context)
    ├── IdentityError          identity facts cannot be resolved
    │   ├── UnknownActorError  the directory has no such user
    │   ├── DirectoryUnavailableError  a directory cannot be reached (fail closed)
    │   └── DirectoryActionError  a directory change was refused or failed
    ├── StepUpError            a step-up was refused (gateway.stepup.errors: malformed,
    │                          rejected or replayed code, lockout, not enrolled, seed key)
    ├── ApprovalError          an approval vote or request was refused (gateway.approvals.errors:
    │                          not eligible, self-approval, finished, digest mismatch, unknown)
    ├── NotificationError      a notification could not be delivered (gateway.notify.errors)
    ├── ExpressionError        an expression or template is invalid or cannot be evaluated
    │                          (gateway.expressions.errors: syntax, evaluation, undefined name)
    ├── ExecutionError         an execution could not be started or changed (gateway.runtime.errors)
    ├── TargetUnavailableError the system an action talks to cannot be reached (retried later)
    ├── ActionFailedError      the system refused an action (the workflow is rolled back)
    └── AuditError             the audit log cannot be written or does not verify
        ├── AuditWriteError    an append failed: the guarded action must not run
        ├── AuditKeyError      a signing or verification key is missing or invalid
        └── VerificationError  the log, a checkpoint or a proof does not verify

Messages are short and factual and never contain a secret.  Caller misuse (calling an
API the wrong way) raises ``RuntimeError``/``TypeError`` instead, as it is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

__all__ = [
    "ActionFailedError",
    "AuditError",
    "AuditKeyError",
    "AuditWriteError",
    "ConfigError",
    "DirectoryActionError",
    "DirectoryUnavailableError",
    "ExitCode",
    "GatewayError",
    "IdentityError",
    "PolicyBundleError",
    "RequestError",
    "SourceError",
    "SourceProblem",
    "TargetUnavailableError",
    "UnknownActorError",
    "VerificationError",
]


class ExitCode(IntEnum):
    """Exit codes of the ``gateway`` command, documented in the README."""

    OK = 0
    FAILED = 1  # a check or test failed
    USAGE = 2  # the command line was wrong
    DENIED = 3  # the decision was deny
    INVALID_INPUT = 4  # a configuration, policy or definition file is invalid
    UNAVAILABLE = 5  # an outside system could not be reached
    WAITING = 6  # the execution waits for an approval or a step-up


class GatewayError(Exception):
    """The root of every error the gateway raises on bad input or outside failures."""

    exit_code: ExitCode = ExitCode.FAILED

    def diagnostics(self) -> str:
        """A human-readable explanation for the command line."""
        return str(self)


class ConfigError(GatewayError):
    """The configuration file is missing, unreadable or invalid."""

    exit_code = ExitCode.INVALID_INPUT


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """One problem found in an input file, located by file and line (1-based; 0 if unknown)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class SourceError(GatewayError):
    """One or more input files are invalid; every problem names its file and line."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, summary: str, problems: list[SourceProblem]) -> None:
        self.summary = summary
        self.problems = tuple(problems)
        first = f": {problems[0]}" if problems else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{summary}{first}{more}")

    @classmethod
    def single(cls, summary: str, file: Path | str, line: int, message: str) -> SourceError:
        return cls(summary, [SourceProblem(str(file), line, message)])

    def diagnostics(self) -> str:
        lines = [f"{self.summary}:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


class PolicyBundleError(SourceError):
    """The policy bundle failed to load or validate; the last good bundle stays in force."""


class RequestError(GatewayError):
    """An access request is malformed."""

    exit_code = ExitCode.INVALID_INPUT


class IdentityError(GatewayError):
    """Identity facts cannot be resolved."""

    exit_code = ExitCode.UNAVAILABLE


class UnknownActorError(IdentityError):
    """The directory has no user with this id."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(f"unknown user {user_id!r}: not found in the directory")


class DirectoryUnavailableError(IdentityError):
    """A directory cannot be reached; privileged decisions fail closed."""

    exit_code = ExitCode.UNAVAILABLE


class DirectoryActionError(IdentityError):
    """A directory change was refused or failed; the message never holds a secret."""

    exit_code = ExitCode.FAILED


class TargetUnavailableError(GatewayError):
    """The system an action talks to cannot be reached; the action is tried again later."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, system: str, detail: str) -> None:
        self.system = system
        super().__init__(f"{system} is unavailable: {detail}")


class ActionFailedError(GatewayError):
    """The system refused the action; trying again will not help."""


class AuditError(GatewayError):
    """The audit log cannot be written or does not verify."""


class AuditWriteError(AuditError):
    """An append did not become durable; whatever it guarded must not happen."""

    exit_code = ExitCode.UNAVAILABLE


class AuditKeyError(AuditError):
    """A signing or verification key is missing, unreadable or invalid."""

    exit_code = ExitCode.INVALID_INPUT


class VerificationError(AuditError):
    """The log, a checkpoint or a proof does not verify.

    ``sequence`` is the first bad record's sequence number (or line index) when known and
    ``kind`` names the failure: ``bad signature``, ``broken chain``, ``gap``, ``out of
    order``, ``unknown key``, ``malformed record``, ``shorter than checkpoint``, ...
    """

    def __init__(self, kind: str, message: str, sequence: int | None = None) -> None:
        self.kind = kind
        self.sequence = sequence
        where = f"record {sequence}: " if sequence is not None else ""
        super().__init__(f"{where}{kind}: {message}")

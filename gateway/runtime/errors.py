"""Errors of the guarded runtime.

::

    GatewayError
    └── ExecutionError             an execution could not be started or changed
        ├── UnknownWorkflowError   no workflow has that id
        ├── ParameterError         a parameter is missing, unknown or invalid (names it)
        ├── IdempotencyConflictError  a key was reused with a different request
        ├── TargetConflictError    another execution is already acting on the target
        ├── UnknownExecutionError  no execution has that id
        ├── ExecutionStateError    the execution cannot do that in its state
        │   └── SecretReaderError  someone but the execution's actor asked for a secret output
        └── ExecutionStoreError    the execution store cannot be read or written

Actions report outside failures with ``gateway.errors.TargetUnavailableError`` (the
system is down: the step waits and is retried with backoff) or ``ActionFailedError`` (the
system refused: the step fails and the workflow is rolled back).  Neither carries a secret.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = [
    "ExecutionError",
    "ExecutionStateError",
    "ExecutionStoreError",
    "IdempotencyConflictError",
    "ParameterError",
    "SecretReaderError",
    "TargetConflictError",
    "UnknownExecutionError",
    "UnknownWorkflowError",
]


class ExecutionError(GatewayError):
    """An execution could not be started or changed."""


class UnknownWorkflowError(ExecutionError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, workflow: str, known: list[str]) -> None:
        self.workflow = workflow
        super().__init__(f"unknown workflow {workflow!r}; known: {', '.join(known) or 'none'}")


class ChangeRequestError(ExecutionError):
    """A change number given to a workflow that takes none, or missing where required."""

    exit_code = ExitCode.INVALID_INPUT


class ParameterError(ExecutionError):
    """Parameters were refused; ``problems`` maps each parameter to what is wrong."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, subject: str, problems: dict[str, str]) -> None:
        self.problems = dict(problems)
        listed = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
        super().__init__(f"invalid parameters for {subject}: {listed}")


class IdempotencyConflictError(ExecutionError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, key: str, execution_id: str) -> None:
        self.execution_id = execution_id
        super().__init__(
            f"idempotency key {key!r} was used for execution {execution_id} "
            "with a different request; use a new key"
        )


class TargetConflictError(ExecutionError):
    def __init__(self, target: str, execution_id: str) -> None:
        self.target = target
        self.execution_id = execution_id
        super().__init__(
            f"conflict: execution {execution_id} is already acting on {target}; "
            "wait for it to finish or cancel it"
        )


class UnknownExecutionError(ExecutionError):
    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        super().__init__(f"unknown execution {execution_id!r}")


class ExecutionStateError(ExecutionError):
    """The execution cannot do what was asked in its current state."""


class SecretReaderError(ExecutionStateError):
    """Only the execution's actor may read its secret outputs; anyone else is refused."""

    exit_code = ExitCode.DENIED


class ExecutionStoreError(ExecutionError):
    """The execution store cannot be opened, read or written."""

    exit_code = ExitCode.UNAVAILABLE

"""Problem details (RFC 9457): the one shape of every error the HTTP API returns.

A problem's ``type`` is ``urn:it-support-gateway:problem:<name>``; ``title`` is fixed per
type, ``detail`` says what happened this time (never a secret: the gateway's messages
hold none), ``instance`` is the request path.  ``problem_for`` maps the gateway's errors
to a status and a type by walking the error's class hierarchy, so a new subclass gets its
parent's answer until it is given its own.  A store's error raised because the database
cannot serve (``gateway.storage.errors.unavailable_cause``) is answered as
``storage-unavailable`` (503), whichever store met it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse

from gateway.approvals.errors import (
    ApprovalError,
    ApprovalStoreError,
    ConflictingVoteError,
    DigestMismatchError,
    RequestFinishedError,
    UnknownApprovalError,
)
from gateway.callers.errors import (
    AuthenticationError,
    CallerError,
    ForbiddenError,
    KeySetUnavailableError,
)
from gateway.clock import utcnow
from gateway.enforcement.errors import PolicyDeniedError
from gateway.errors import (
    AuditError,
    GatewayError,
    IdentityError,
    RequestError,
    SourceError,
    UnknownActorError,
)
from gateway.expressions import ExpressionError
from gateway.runtime.errors import (
    ChangeRequestError,
    ExecutionStateError,
    ExecutionStoreError,
    IdempotencyConflictError,
    ParameterError,
    TargetConflictError,
    UnknownExecutionError,
    UnknownWorkflowError,
)
from gateway.stepup.errors import (
    CodeRejectedError,
    MalformedCodeError,
    NotEnrolledError,
    StepUpError,
    StepUpLockedError,
    StepUpStoreError,
)
from gateway.storage.errors import StorageUnavailableError, unavailable_cause

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPE_PREFIX",
    "ApiProblem",
    "FieldProblem",
    "Problem",
    "problem_for",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:it-support-gateway:problem:"
AUTHENTICATE = 'Bearer realm="it-support-gateway"'


class FieldProblem(BaseModel):
    """One invalid field of a request: where (``input.actor``, ``index``) and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem; the optional members are this API's extensions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] | None = None  # every invalid field (400, 422)
    scope: str | None = None  # the scope that is missing (403 missing-scope)
    decision_id: str | None = None  # the audited decision a refusal refers to
    checks: dict[str, str] | None = None  # failed readiness checks (503 not-ready)


class ApiProblem(GatewayError):
    """A problem the API answers with; raised by routes for what is HTTP's own business."""

    def __init__(
        self,
        status: int,
        name: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.name = name
        self.title = title
        self.headers = headers
        self.extensions = extensions
        super().__init__(detail)


# (error class, status, name, title); the first entry on the error's MRO wins.
_MAPPING: dict[type[GatewayError], tuple[int, str, str]] = {
    AuthenticationError: (401, "unauthenticated", "Authentication failed"),
    PolicyDeniedError: (403, "policy-denied", "Denied by policy"),
    ForbiddenError: (403, "forbidden", "Not allowed"),
    KeySetUnavailableError: (503, "token-keys-unavailable", "Token keys unavailable"),
    CallerError: (503, "caller-authentication-unavailable", "Caller authentication unavailable"),
    MalformedCodeError: (422, "malformed-code", "Malformed step-up code"),
    CodeRejectedError: (401, "step-up-rejected", "Step-up code refused"),
    StepUpLockedError: (429, "step-up-locked", "Step-up locked"),
    NotEnrolledError: (409, "step-up-not-enrolled", "Not enrolled for step-up"),
    StepUpStoreError: (503, "step-up-unavailable", "Step-up unavailable"),
    StepUpError: (503, "step-up-unavailable", "Step-up unavailable"),
    UnknownApprovalError: (404, "approval-not-found", "No such approval request"),
    RequestFinishedError: (409, "approval-finished", "Approval request finished"),
    DigestMismatchError: (409, "digest-mismatch", "Request digest mismatch"),
    ConflictingVoteError: (409, "conflicting-vote", "Vote already cast"),
    ApprovalStoreError: (503, "approvals-unavailable", "Approvals unavailable"),
    ApprovalError: (403, "vote-refused", "Vote refused"),
    UnknownWorkflowError: (404, "workflow-not-found", "No such workflow"),
    UnknownExecutionError: (404, "execution-not-found", "No such execution"),
    ParameterError: (422, "invalid-parameters", "Invalid parameters"),
    ChangeRequestError: (422, "invalid-change-request", "Invalid change request"),
    IdempotencyConflictError: (409, "idempotency-key-reused", "Idempotency key reused"),
    TargetConflictError: (409, "target-busy", "Another execution acts on the target"),
    ExecutionStateError: (409, "execution-state", "Not possible in this state"),
    ExecutionStoreError: (503, "executions-unavailable", "Executions unavailable"),
    ExpressionError: (422, "invalid-expression", "Invalid expression"),
    SourceError: (503, "definitions-invalid", "Definitions invalid"),
    RequestError: (422, "invalid-request", "Invalid request"),
    UnknownActorError: (422, "unknown-user", "Unknown user"),
    IdentityError: (503, "directory-unavailable", "Directory unavailable"),
    AuditError: (503, "audit-unavailable", "Audit log unavailable"),
    StorageUnavailableError: (503, "storage-unavailable", "Storage unavailable"),
}
_REASONED = frozenset({AuthenticationError, ForbiddenError, ApprovalError})
_INTERNAL = (500, "internal-error", "Internal error")


def problem_for(error: GatewayError, *, now: datetime | None = None) -> ApiProblem:
    """The problem that answers ``error``; an error the mapping does not know gives a 500
    whose detail says nothing more."""
    if isinstance(error, ApiProblem):
        return error
    unavailable = unavailable_cause(error)  # whichever store met it: the database is down
    if unavailable is not None:
        error = unavailable
    kind = next((kind for kind in type(error).__mro__ if kind in _MAPPING), None)
    status, name, title = _MAPPING[kind] if kind is not None else _INTERNAL
    if kind in _REASONED:  # one type per reason: missing-scope, self-approval, ...
        name = str(getattr(error, "reason", name)).replace("_", "-")
    headers: dict[str, str] | None = None
    extensions: dict[str, Any] = {}
    if status == 401:
        headers = {"WWW-Authenticate": AUTHENTICATE}
    elif isinstance(error, StepUpLockedError):
        wait = (error.until - (now or utcnow())).total_seconds()
        headers = {"Retry-After": str(max(1, math.ceil(wait)))}
    scope = getattr(error, "scope", None)
    if isinstance(scope, str):
        extensions["scope"] = scope
    if isinstance(error, ParameterError):
        extensions["errors"] = [
            FieldProblem(field=f"parameters.{name}", message=why)
            for name, why in sorted(error.problems.items())
        ]
    detail = str(error) if status != 500 else "the gateway could not complete the request"
    return ApiProblem(status, name, title, detail, headers=headers, **extensions)


def problem_response(problem: ApiProblem, instance: str) -> JSONResponse:
    """The ``application/problem+json`` response for ``problem``."""
    body = Problem(
        type=PROBLEM_TYPE_PREFIX + problem.name,
        title=problem.title,
        status=problem.status,
        detail=str(problem),
        instance=instance,
        **problem.extensions,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )

"""Errors of approvals (to move into ``gateway/errors.py``)::

    GatewayError
    └── ApprovalError              an approval request or a vote was refused
        ├── UnknownApprovalError   no approval request has this id
        ├── RequestFinishedError   the request is no longer pending (approved, rejected,
        │                          expired or cancelled)
        ├── DigestMismatchError    the vote names another request digest than the one
        │                          the approval is bound to
        ├── SelfApprovalError      the requester or the target tried to approve
        ├── NotEligibleError       the approver is not among the obligation's approvers
        │                          (or not in the directory)
        ├── NotAuthorisedError     the authorisation check refused the approver
        ├── StepUpRequiredError    the approver has no fresh step-up bound to the request
        ├── ConflictingVoteError   the person already voted the other way
        ├── NoApproverError        nobody can give an obligation of the request (and it
        │                          has no escalation that somebody can give)
        └── ApprovalStoreError     the approval store cannot be used

Every error carries ``reason``, a short machine-readable word also written to the audit
log.  Messages are short and factual and never contain a secret.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = [
    "ApprovalError",
    "ApprovalStoreError",
    "ConflictingVoteError",
    "DigestMismatchError",
    "NoApproverError",
    "NotAuthorisedError",
    "NotEligibleError",
    "RequestFinishedError",
    "SelfApprovalError",
    "StepUpRequiredError",
    "UnknownApprovalError",
]


class ApprovalError(GatewayError):
    """An approval request or a vote on it was refused."""

    exit_code = ExitCode.DENIED
    reason = "refused"


class UnknownApprovalError(ApprovalError):
    """No approval request has this id."""

    exit_code = ExitCode.INVALID_INPUT
    reason = "unknown_request"

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"approval {request_id}: unknown request")


class RequestFinishedError(ApprovalError):
    """The request is no longer pending."""

    reason = "finished"

    def __init__(self, request_id: str, state: str) -> None:
        self.request_id = request_id
        self.state = state
        super().__init__(f"approval {request_id}: expected pending, found {state}")


class DigestMismatchError(ApprovalError):
    """The vote is for another request digest (a parameter changed)."""

    reason = "digest_mismatch"

    def __init__(self, request_id: str, expected: str, found: str) -> None:
        self.request_id = request_id
        super().__init__(
            f"approval {request_id}: request digest mismatch: expected {expected}, found {found}"
        )


class SelfApprovalError(ApprovalError):
    """Separation of duties: the requester or the target cannot approve."""

    reason = "self_approval"

    def __init__(self, request_id: str, approver: str, role: str) -> None:
        self.request_id = request_id
        super().__init__(f"approval {request_id}: {approver!r} is the {role} and cannot vote")


class NotEligibleError(ApprovalError):
    """The approver is not among the approvers of any obligation of the request."""

    reason = "not_eligible"

    def __init__(self, request_id: str, approver: str, detail: str) -> None:
        self.request_id = request_id
        super().__init__(f"approval {request_id}: {approver!r} {detail}")


class NotAuthorisedError(ApprovalError):
    """The authorisation check refused the approver."""

    reason = "not_authorised"

    def __init__(self, request_id: str, approver: str, why: str) -> None:
        self.request_id = request_id
        super().__init__(f"approval {request_id}: {approver!r} not authorised: {why}")


class StepUpRequiredError(ApprovalError):
    """The approver has no fresh step-up bound to this request's digest."""

    reason = "step_up_required"

    def __init__(self, request_id: str, approver: str) -> None:
        self.request_id = request_id
        super().__init__(
            f"approval {request_id}: {approver!r} needs a fresh step-up bound to the request"
        )


class ConflictingVoteError(ApprovalError):
    """The person already voted the other way; a vote is final."""

    reason = "conflicting_vote"

    def __init__(self, request_id: str, approver: str, expected: str, found: str) -> None:
        self.request_id = request_id
        super().__init__(
            f"approval {request_id}: {approver!r} already voted: expected {expected}, found {found}"
        )


class NoApproverError(ApprovalError):
    """An obligation names nobody who could approve: the request is refused when it is
    opened rather than left waiting until it expires."""

    reason = "no_approver"

    def __init__(self, action: str, resource: str, obligation: str, why: str) -> None:
        self.obligation = obligation
        super().__init__(f"approval for {action} on {resource}: {obligation} {why}")


class ApprovalStoreError(ApprovalError):
    """The approval store cannot be opened or used."""

    exit_code = ExitCode.UNAVAILABLE
    reason = "store_failed"

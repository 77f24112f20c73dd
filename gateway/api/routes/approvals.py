"""Approval requests for the calling person: what waits for their vote, and the vote.

People only (bearer token with ``approvals:write``): the voter is the token's subject,
so a service can never vote for a named person; an API key trying to vote is refused and
audited as ``api.refused``.  A vote names the digest the person saw: what was approved is
what runs.  The approval service decides who may vote and audits every vote or refusal;
the vote that finishes a request tells its requester through the configured channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem, FieldProblem
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.approvals.errors import UnknownApprovalError
from gateway.approvals.model import ApprovalRequest, Verdict
from gateway.approvals.notices import approval_notice
from gateway.approvals.reading import READ_ACTION
from gateway.approvals.service import ApprovalService
from gateway.audit.redaction import redact
from gateway.callers.caller import Caller
from gateway.callers.scopes import APPROVALS_WRITE
from gateway.enforcement import PolicyDeniedError, require_allowed
from gateway.notify.model import NotificationKind

__all__ = ["ApprovalView", "VoteRequest", "router"]

router = APIRouter(tags=["approvals"])


class ObligationView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    approvers: list[str]
    quorum: int
    approved_by: list[str]
    rejected_by: list[str]
    met: bool


class ApprovalView(BaseModel):
    """An approval request as an approver sees it (secrets in the context redacted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    state: str
    actor: str
    action: str
    resource: str
    context: dict[str, JsonValue]
    requester: str
    target: str | None
    digest: str  # vote with exactly this digest
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    finished_by: str | None
    approved_by_policy: bool  # approved automatically, no person voted
    obligations: list[ObligationView]

    @classmethod
    def of(cls, item: ApprovalRequest) -> ApprovalView:
        request = item.request
        context, _ = redact(dict(request.context), "context")
        return cls(
            id=item.id,
            state=str(item.state),
            actor=request.actor,
            action=request.action,
            resource=str(request.resource),
            context=context,
            requester=item.requester,
            target=item.target,
            digest=item.digest,
            created_at=item.created_at,
            expires_at=item.expires_at,
            finished_at=item.finished_at,
            finished_by=item.finished_by,
            approved_by_policy=item.auto is not None,
            obligations=[
                ObligationView(
                    name=obligation.name,
                    approvers=list(obligation.approvers),
                    quorum=obligation.quorum,
                    approved_by=sorted(item.voters(index, Verdict.APPROVE)),
                    rejected_by=sorted(item.voters(index, Verdict.REJECT)),
                    met=item.met(index),
                )
                for index, obligation in enumerate(item.obligations)
            ],
        )


class VoteRequest(BaseModel):
    """The request digest the approver saw (``digest`` of the approval request)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")


def _approvals(services: ApiServices) -> ApprovalService:
    approvals = services.gateway.approvals
    if approvals is None:
        raise ApiProblem(
            404,
            "approvals-disabled",
            "Approvals are off",
            "approvals are disabled ([approvals] enabled = false)",
        )
    return approvals


_OUTCOME = {"approved": NotificationKind.APPROVED, "rejected": NotificationKind.DENIED}


def _tell_requester(services: ApiServices, item: ApprovalRequest, voter: Caller) -> None:
    """The vote that finished the request tells the requester (as the command line does);
    a notification that fails waits in the outbox, never in the way of the vote."""
    outcome = _OUTCOME.get(str(item.state))
    if outcome is not None and item.finished_by == voter.id and services.notifier is not None:
        services.notifier.send(approval_notice(outcome, item, (item.requester,)))
    runtime = services.runtime
    if outcome is not None and runtime is not None:  # the waiting execution goes on now
        execution_id = runtime.execution_for_approval(item.id)
        if execution_id is not None:
            runtime.wake(execution_id)


_Services = Annotated[ApiServices, Depends(get_services)]
_Reader = Annotated[Caller, Depends(Requires(APPROVALS_WRITE, people_only=True))]
_Voter = Annotated[Caller, Depends(Requires(APPROVALS_WRITE, people_only=True, audited=True))]
_ApprovalId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_READ_ERRORS = problem_responses(*ERRORS_OF_CALLERS, 404, 422)
_VOTE_ERRORS = problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES, 404, 409)


@router.get("/v1/approvals", responses=_READ_ERRORS)
def list_pending(
    caller: _Reader,
    services: _Services,
    mine: Annotated[
        bool,
        Query(
            description="Must be true: the pending requests the caller may vote on.",
            json_schema_extra={"enum": [True]},
        ),
    ] = True,
) -> list[ApprovalView]:
    """Pending requests the calling person may still vote on, oldest first."""
    if not mine:
        message = "only mine=true is supported: the requests the caller may vote on"
        raise ApiProblem(
            422,
            "invalid-request",
            "Invalid request",
            f"mine: {message}",
            errors=[FieldProblem(field="mine", message=message)],
        )
    return [ApprovalView.of(item) for item in _approvals(services).list_pending(caller.id)]


@router.get("/v1/approvals/{approval_id}", responses=_READ_ERRORS)
def show(approval_id: _ApprovalId, caller: _Reader, services: _Services) -> ApprovalView:
    """One approval request and its votes, for whom policy allows ``approval.read`` (its
    requester, its approvers, auditors); anyone else gets the 404 of an unknown request."""
    approvals = _approvals(services)
    reads = services.gateway.approval_reads
    try:
        if reads is None:
            raise PolicyDeniedError(READ_ACTION, f"approval:{approval_id}", (), None)
        require_allowed(
            reads, actor=caller.id, action=READ_ACTION, resource=f"approval:{approval_id}"
        )
    except PolicyDeniedError as exc:
        raise UnknownApprovalError(approval_id) from exc
    return ApprovalView.of(approvals.get(approval_id))


@router.post("/v1/approvals/{approval_id}/approve", responses=_VOTE_ERRORS)
def approve(
    approval_id: _ApprovalId, body: VoteRequest, caller: _Voter, services: _Services
) -> ApprovalView:
    """Approve as the calling person; refused for the requester, the target, people the
    obligations do not name, a changed digest, or a finished request."""
    item = _approvals(services).approve(approval_id, caller.id, digest=body.digest)
    _tell_requester(services, item, caller)
    return ApprovalView.of(item)


@router.post("/v1/approvals/{approval_id}/reject", responses=_VOTE_ERRORS)
def reject(
    approval_id: _ApprovalId, body: VoteRequest, caller: _Voter, services: _Services
) -> ApprovalView:
    """Reject as the calling person (by default one rejection rejects the request)."""
    item = _approvals(services).reject(approval_id, caller.id, digest=body.digest)
    _tell_requester(services, item, caller)
    return ApprovalView.of(item)

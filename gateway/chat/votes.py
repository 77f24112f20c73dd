"""A vote cast from chat: audited as a chat interaction first, then handed to the approval
service exactly as the HTTP API does (eligibility, separation of duties, digest binding,
quorum and step-up are all the service's).  A step-up code collected in chat is checked by
the step-up service, bound to the request's digest, before the vote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.approvals.errors import ApprovalError, RequestFinishedError, StepUpRequiredError
from gateway.approvals.model import ApprovalRequest, ApprovalState, Verdict
from gateway.approvals.service import ApprovalService
from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink, record_first
from gateway.errors import GatewayError
from gateway.stepup.errors import StepUpError
from gateway.stepup.service import StepUpService

__all__ = ["ChatVotes", "VoteOutcome", "accepted_event", "refused_event"]

Finished = Callable[[ApprovalRequest, str], None]
"""Told of a vote that finished a request (the requester is notified, a waiting execution
wakes up), as the HTTP API does."""


def accepted_event(
    platform: str, person: str, kind: str, resource: str, **payload: object
) -> AuditEvent:
    return AuditEvent(
        type="chat.interaction_accepted",
        actor=person,
        resource=resource,
        payload={"platform": platform, "kind": kind, **payload},
    )


def refused_event(platform: str, reason: str, message: str, **payload: object) -> AuditEvent:
    return AuditEvent(
        type="chat.interaction_refused",
        payload={"platform": platform, "reason": reason, "message": message[:300], **payload},
    )


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """The request after the vote, or why the vote was not counted."""

    item: ApprovalRequest | None
    refused: GatewayError | None = None

    @property
    def needs_step_up(self) -> bool:
        return isinstance(self.refused, StepUpRequiredError)

    @property
    def stale(self) -> bool:
        return isinstance(self.refused, RequestFinishedError)

    def text(self, person: str) -> str:
        if self.refused is not None:
            return f"Not counted: {self.refused}"
        item = self.item
        if item is None:  # pragma: no cover - a VoteOutcome has an item or a refusal
            raise RuntimeError("a vote outcome without a request")
        if item.state is ApprovalState.PENDING:
            short = [o.name for i, o in enumerate(item.obligations) if not item.met(i)]
            return f"{person} voted; still waiting for: {', '.join(short)}"
        return f"{str(item.state).capitalize()} by {item.finished_by or person}"


class ChatVotes:
    def __init__(
        self,
        approvals: ApprovalService,
        stepup: StepUpService | None,
        audit: AuditSink | None,
        finished: Finished | None = None,
    ) -> None:
        self.approvals = approvals
        self._stepup = stepup
        self._audit = audit
        self._finished = finished

    def cast(
        self,
        platform: str,
        person: str,
        approval_id: str,
        digest: str,
        verdict: Verdict,
        *,
        code: str | None = None,
    ) -> VoteOutcome:
        """Audit the interaction, check ``code`` when given, then vote."""
        record_first(
            self._audit,
            accepted_event(
                platform,
                person,
                "vote",
                f"approval:{approval_id}",
                verdict=str(verdict),
                step_up=code is not None,
            ),
        )
        if code is not None:
            if self._stepup is None:
                return VoteOutcome(None, StepUpRequiredError(approval_id, person))
            try:
                self._stepup.verify(person, code, bound_to=digest)
            except StepUpError as exc:
                return VoteOutcome(None, exc)
        vote = self.approvals.approve if verdict is Verdict.APPROVE else self.approvals.reject
        try:
            item = vote(approval_id, person, digest=digest)
        except ApprovalError as exc:
            return VoteOutcome(None, exc)
        if self._finished is not None and not item.pending and item.finished_by == person:
            self._finished(item, person)
        return VoteOutcome(item)

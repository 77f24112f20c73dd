"""Reading an approval request is a decision: the action ``approval.read``.

``ApprovalReads.authorize`` asks the policy decision point::

    principal  User::"READER"
    action     Action::"approval.read"
    resource   Approval::"ID" with the attributes below, set by the gateway
    context    empty

    Approval attribute   value
    actor                the request's actor (a User)
    requester            who asked for the approval (a User)
    action               the requested action
    resource_type        the requested resource's type
    target               the requested resource's id
    reader_is_approver   whether the reader may vote on one of its obligations now
                         (escalation included), as the approval service decides

The shipped policies allow the requester, the approvers and the security team (as
auditors); guardrails refuse inactive accounts.  The decision is recorded before it is
returned.  An unknown request raises ``UnknownApprovalError`` before anything is asked;
callers show a refusal exactly like an unknown request, so nobody learns which ids exist.
"""

from __future__ import annotations

from gateway.approvals.auto import RecordDecision
from gateway.approvals.model import ApprovalRequest
from gateway.approvals.service import ApprovalService
from gateway.errors import DirectoryUnavailableError, UnknownActorError
from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest

__all__ = ["READ_ACTION", "ApprovalReads", "read_facts"]

READ_ACTION = "approval.read"


def read_facts(item: ApprovalRequest, reader_is_approver: bool) -> ResourceFacts:
    """The ``Approval`` entity ``approval.read`` policies see for one reader."""
    ref = item.request.resource
    return ResourceFacts(
        type="approval",
        id=item.id,
        attributes={
            "actor": {"type": "User", "id": item.request.actor},
            "requester": {"type": "User", "id": item.requester},
            "action": item.request.action,
            "resource_type": ref.type,
            "target": ref.id,
            "reader_is_approver": reader_is_approver,
        },
    )


class ApprovalReads:
    """Decides who may read an approval request (an ``Authorizer`` for the enforcement
    point: ``authorize(request) -> Decision``)."""

    def __init__(
        self,
        service: ApprovalService,
        decision_point: PolicyDecisionPoint,
        *,
        record: RecordDecision | None = None,
    ) -> None:
        self.service = service
        self._decision_point = decision_point
        self._record = record

    def authorize(self, request: AccessRequest) -> Decision:
        """The ``approval.read`` decision for ``request`` (its resource ``approval:ID``),
        recorded.  ``UnknownApprovalError`` when no such request exists."""
        item = self.service.get(request.resource.id)
        try:
            try:
                reader: IdentityFacts | None = self.service.directory.get_user(request.actor)
            except UnknownActorError:
                reader = None
        except DirectoryUnavailableError as exc:
            decision = self._decision_point.refuse(request, str(exc), unavailable=True)
        else:
            approver = reader is not None and self.service.may_vote(item, reader)
            decision = self._decision_point.decide(request, reader, read_facts(item, approver))
        if self._record is not None:
            self._record(decision)
        return decision

"""Automatic approval, written as policy: the action ``approval.auto``.

After a decision allows a request with an approval obligation and the approval request is
opened, ``AutoApprover.try_approve`` asks the policy decision point one more question::

    principal  User::"REQUESTER"
    action     Action::"approval.auto"
    resource   Approval::"ID" with the attributes below
    context    the request's own context (change, channel, ...) with what the gateway
               sets (change_freeze from the change calendar, step_up_age_seconds)

    Approval attribute   value
    actor                the request's actor (a User)
    action               the requested action (software.install)
    resource_type        the requested resource's type (software)
    target               the requested resource's id (visio)
    target_privileged    the target's ``privileged`` fact; true when the directory does
                         not know the target
    change               the context's ``change`` (standard, normal, emergency), else normal

Only an allow without obligations approves (``ApprovalService.approve_automatically``):
the request moves to approved together with its ``approval.auto_approved`` audit record.
A deny, a forbid anywhere, an evaluation error, an allow that carries obligations or a
directory that cannot be read all leave the request pending for people.  The question is
a decision like any other, so it is recorded (``record``) before anything changes.

Before the action runs, ``shortfall`` asks the same question again with today's facts
and bundle: an automatic approval holds only while the rule still allows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import JsonValue

from gateway.approvals.model import ApprovalRequest
from gateway.approvals.service import ApprovalService
from gateway.errors import DirectoryUnavailableError, UnknownActorError
from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest

__all__ = [
    "AUTO_ACTION",
    "AutoApprover",
    "AutoOutcome",
    "GatewayContext",
    "RecordDecision",
    "approval_facts",
    "auto_request",
    "why_not",
]

AUTO_ACTION = "approval.auto"
DEFAULT_CHANGE = "normal"

RecordDecision = Callable[[Decision], object]
"""``record(decision)``: append the decision to the audit log; raises when it cannot."""

GatewayContext = Callable[[str], dict[str, JsonValue]]
"""``context(actor)``: the context only the gateway sets (a freeze, a step-up's age)."""


def auto_request(
    item: ApprovalRequest, gateway_context: dict[str, JsonValue] | None = None
) -> AccessRequest:
    """The ``approval.auto`` question for ``item``: may the requester skip the people?"""
    return AccessRequest(
        actor=item.requester,
        action=AUTO_ACTION,
        resource=f"approval:{item.id}",
        context={**item.request.context, **(gateway_context or {})},
    )


def approval_facts(item: ApprovalRequest, target: ResourceFacts | None) -> ResourceFacts:
    """The ``Approval`` entity ``approval.auto`` policies see, with ``target`` the
    directory's facts about the requested resource (``None`` when it has none)."""
    ref = item.request.resource
    change = item.request.context.get("change")
    privileged = target is None or target.attributes.get("privileged", False) is not False
    return ResourceFacts(
        type="approval",
        id=item.id,
        attributes={
            "actor": {"type": "User", "id": item.request.actor},
            "action": item.request.action,
            "resource_type": ref.type,
            "target": ref.id,
            "target_privileged": privileged,
            "change": change if isinstance(change, str) else DEFAULT_CHANGE,
        },
        stale_since=target.stale_since if target is not None else None,
    )


def why_not(decision: Decision) -> str | None:
    """Why ``decision`` does not approve automatically, or ``None`` when it does."""
    if decision.allowed:
        if not decision.obligations:
            return None
        kinds = ", ".join(sorted({item.type for item in decision.obligations}))
        return f"{AUTO_ACTION} allows only with obligations ({kinds})"
    messages = [r.message for r in decision.reasons if r.effect in ("deny", "forbid", "error")]
    return f"{AUTO_ACTION} denied: {'; '.join(messages)}"


@dataclass(frozen=True, slots=True)
class AutoOutcome:
    """What asking ``approval.auto`` did: the request as it is now, the decision (``None``
    when the request was no longer pending, so nothing was asked) and, unless the request
    is approved automatically, why not."""

    request: ApprovalRequest
    decision: Decision | None
    why_not: str | None

    @property
    def approved(self) -> bool:
        return self.request.auto is not None


class AutoApprover:
    """Asks policy whether a pending approval request is approved without people."""

    def __init__(
        self,
        service: ApprovalService,
        decision_point: PolicyDecisionPoint,
        *,
        record: RecordDecision | None = None,
        gateway_context: GatewayContext | None = None,
    ) -> None:
        self.service = service
        self._decision_point = decision_point
        self._record = record
        self._gateway_context = gateway_context

    def decide(self, item: ApprovalRequest) -> Decision:
        """The ``approval.auto`` decision for ``item`` with the directory's facts today,
        recorded before it is returned.  Never raises for facts it cannot read: an
        unreachable directory gives a deny that says so."""
        added = self._gateway_context(item.requester) if self._gateway_context else None
        request = auto_request(item, added)
        directory = self.service.directory
        try:
            try:
                actor: IdentityFacts | None = directory.get_user(item.requester)
            except UnknownActorError:
                actor = None
            ref = item.request.resource
            target = directory.get_resource(ref.type, ref.id)
        except DirectoryUnavailableError as exc:
            decision = self._decision_point.refuse(request, str(exc))
        else:
            decision = self._decision_point.decide(request, actor, approval_facts(item, target))
        if self._record is not None:
            self._record(decision)
        return decision

    def try_approve(self, request_id: str) -> AutoOutcome:
        """Approve the pending request ``request_id`` if policy allows ``approval.auto``;
        otherwise leave it pending.  A request no longer pending is left alone and no
        question is asked, so asking twice does nothing the second time."""
        item = self.service.get(request_id)
        if not item.pending:
            return AutoOutcome(item, None, _finished(item))
        decision = self.decide(item)
        why = why_not(decision)
        if why is not None:
            return AutoOutcome(item, decision, why)
        item = self.service.approve_automatically(request_id, decision)
        return AutoOutcome(item, decision, _finished(item))

    def shortfall(self, item: ApprovalRequest) -> str | None:
        """Why the automatic approval of ``item`` no longer suffices, or ``None`` when
        ``approval.auto`` still allows it with today's facts and bundle (asked again and
        recorded)."""
        if item.auto is None:
            return f"approval {item.id} was not approved automatically"
        return why_not(self.decide(item))


def _finished(item: ApprovalRequest) -> str | None:
    """Why a request no longer pending was not approved automatically (``None`` if it was)."""
    return None if item.auto is not None else f"approval {item.id} is {item.state}, not pending"

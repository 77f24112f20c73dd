"""The decision before a privileged step: allowed, waiting for an obligation, or refused.

``StepGuard.check`` asks the decision point (which audits the decision) and then looks at
what the decision demands, in this order:

1. A deny refuses the step, with the reasons.
2. Approval obligations: the first time, an approval request bound to the exact request is
   opened and the step waits; later, a pending request keeps it waiting, a rejected,
   expired or cancelled one refuses it, and an approved one is confirmed by deciding again
   with current facts and the bundle in force (``confirm_approved``): if the approval no
   longer suffices, the step is refused and the reason recorded.
3. Step-up obligations: the actor must have stepped up, bound to the exact request, within
   the obligation's maximum age; otherwise the step waits.  The step-up is used up by the
   step that ``consumer`` names (another execution of the same request needs its own),
   unless the obligation allows reuse within its window.

Only when every obligation is met does the step go ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.approvals.auto import AutoApprover
from gateway.approvals.errors import NoApproverError
from gateway.approvals.model import ApprovalRequest, ApprovalState, approval_digest
from gateway.approvals.service import ApprovalService
from gateway.policy.decision import ApprovalObligation, Decision, StepUpObligation
from gateway.policy.request import AccessRequest
from gateway.stepup.service import StepUpService

__all__ = ["Allowed", "DecisionMaker", "Refused", "StepGuard", "WaitApproval", "WaitStepUp"]


class DecisionMaker(Protocol):
    """What the runtime needs from the gateway: audited decisions and its obligations."""

    approvals: ApprovalService | None
    auto_approver: AutoApprover | None
    stepup: StepUpService | None

    def authorize(
        self, request: AccessRequest, *, gateway_context: Mapping[str, Any] | None = None
    ) -> Decision: ...

    def confirm_approved(
        self, approval_id: str, *, gateway_context: Mapping[str, Any] | None = None
    ) -> Decision: ...


@dataclass(frozen=True, slots=True)
class Allowed:
    decision: Decision
    digest: str


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str
    decision_id: str | None = None
    unavailable: bool = False  # only because facts could not be read: try again later


@dataclass(frozen=True, slots=True)
class WaitApproval:
    approval: ApprovalRequest
    decision_id: str


@dataclass(frozen=True, slots=True)
class WaitStepUp:
    digest: str
    max_age_seconds: int
    decision_id: str


Outcome = Allowed | Refused | WaitApproval | WaitStepUp


def _why(decision: Decision) -> str:
    """The reasons that refused, without the ones that would have allowed; when the gateway
    itself explains the refusal (no facts for the target), that explanation alone."""
    refusing = [r for r in decision.reasons if r.effect not in ("allow", "permit")]
    own = [r for r in refusing if r.engine == "gateway"]
    return "; ".join(reason.message for reason in own or refusing or decision.reasons) or "denied"


class StepGuard:
    def __init__(
        self,
        gateway: DecisionMaker,
        *,
        approval_opened: Callable[[ApprovalRequest], None] | None = None,
    ) -> None:
        self._gateway = gateway
        self._approval_opened = approval_opened

    def check(
        self,
        request: AccessRequest,
        approval_id: str | None,
        *,
        consumer: str | None = None,
        gateway_context: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Decide ``request`` for a step that already opened ``approval_id`` (or none);
        ``consumer`` names the step a bound step-up is used up by; ``gateway_context`` is
        context the runtime computed for the step (a change request's status)."""
        digest = approval_digest(request)
        extra = {} if gateway_context is None else {"gateway_context": gateway_context}
        if approval_id is not None:
            decision = self._approved(approval_id, extra)
            if isinstance(decision, (Refused, WaitApproval)):
                return decision
        else:
            decision = self._gateway.authorize(request, **extra)
            if not decision.allowed:
                return Refused(_why(decision), decision.decision_id, decision.unavailable)
            needed = [o for o in decision.obligations if isinstance(o, ApprovalObligation)]
            if needed:
                return self._open(request, decision, needed)
        return self._step_up(request.actor, decision, digest, consumer)

    def _approved(
        self, approval_id: str, extra: dict[str, Any]
    ) -> Decision | Refused | WaitApproval:
        service = self._gateway.approvals
        if service is None:
            return Refused("approvals are disabled, so the approval cannot be checked")
        item = service.get(approval_id)
        if item.state is ApprovalState.PENDING:
            return WaitApproval(item, item.decision_id)
        if item.state is not ApprovalState.APPROVED:
            return Refused(f"approval {approval_id} was {item.state}", item.decision_id)
        decision = self._gateway.confirm_approved(approval_id, **extra)
        if not decision.allowed:
            return Refused(_why(decision), decision.decision_id, decision.unavailable)
        return decision

    def _open(
        self, request: AccessRequest, decision: Decision, needed: list[ApprovalObligation]
    ) -> Refused | WaitApproval:
        service = self._gateway.approvals
        if service is None:
            return Refused(
                "the policy demands an approval but approvals are disabled", decision.decision_id
            )
        try:
            item = service.open(request, decision, needed, requester=request.actor)
        except NoApproverError as exc:  # nobody could ever approve it: refused, audited
            return Refused(str(exc), decision.decision_id)
        auto = self._gateway.auto_approver
        if auto is not None and auto.try_approve(item.id).approved:
            return WaitApproval(service.get(item.id), decision.decision_id)
        if self._approval_opened is not None:
            self._approval_opened(item)
        return WaitApproval(item, decision.decision_id)

    def _step_up(
        self, actor: str, decision: Decision, digest: str, consumer: str | None
    ) -> Outcome:
        for obligation in decision.obligations:
            if not isinstance(obligation, StepUpObligation):
                continue
            stepup = self._gateway.stepup
            if stepup is None:
                return Refused(
                    "the policy demands a step-up but step-up is disabled", decision.decision_id
                )
            if not stepup.claim(obligation, actor, bound_to=digest, consumer=consumer):
                return WaitStepUp(digest, obligation.max_age_seconds, decision.decision_id)
        return Allowed(decision, digest)

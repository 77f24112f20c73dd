"""The decision for a request: facts, the decision point, the audit record, in that order.

``EnforcementPoint.authorize`` is what every entry calls (HTTP routes, commands, the runtime's
step guard, the capabilities): it refuses context only the gateway may set, adds that
context (a step-up's age, a change freeze from the change calendar), reads the actor's and
the resource's facts from the directory, asks the policy decision point, and appends the
decision to the audit log before returning it.  ``gateway.app.Gateway`` builds one from
configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import JsonValue

from gateway.approvals.auto import AutoApprover
from gateway.approvals.eligibility import engine_roles
from gateway.approvals.model import ApprovalState
from gateway.approvals.reading import ApprovalReads
from gateway.approvals.recheck import shortfall
from gateway.approvals.service import ApprovalService
from gateway.audit.records import AuditEvent
from gateway.audit.store import AuditStore
from gateway.audit.unsafe import warn_unaudited
from gateway.changes.calendar import ChangeCalendar
from gateway.errors import ConfigError, DirectoryUnavailableError, UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import IdentityFacts
from gateway.identity.resolver import Conflict
from gateway.policy.decision import ApprovalObligation, Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.recorded_facts import recorded_facts
from gateway.policy.request import GATEWAY_CONTEXT, AccessRequest
from gateway.policy.store import PolicyStore
from gateway.stepup.service import StepUpService

__all__ = ["EnforcementPoint", "conflict_event", "decision_event"]


def conflict_event(conflict: Conflict) -> AuditEvent:
    return AuditEvent(
        type="identity.conflict",
        actor=conflict.user_id,
        payload={"fact": conflict.fact, "values": conflict.values, "chosen": conflict.chosen},
    )


def decision_event(decision: Decision, facts: dict[str, Any] | None = None) -> AuditEvent:
    """The decision record; ``facts`` (``recorded_facts``) when the policies decided on
    directory facts, so that the decision can be replayed on exactly those facts."""
    request = decision.request
    payload: dict[str, Any] = {
        "decision": str(decision.decision),
        "policy_signers": list(decision.policy_signers),
        "context": request.context,
        "obligations": [item.model_dump(mode="json") for item in decision.obligations],
        "reasons": [reason.model_dump(mode="json") for reason in decision.reasons],
    }
    if facts is not None:
        payload["facts"] = facts
    return AuditEvent(
        type="decision",
        actor=request.actor,
        action=request.action,
        resource=str(request.resource),
        decision_id=decision.decision_id,
        policy_digest=decision.policy_digest,
        payload=payload,
    )


class EnforcementPoint:
    """The gateway as a Python caller sees it: ask for a decision, get one you can trust.

    With an audit log, every decision is appended (durably) before it is returned; if the
    append fails, ``AuditWriteError`` is raised and no decision is given.  Without one
    (``[audit] unsafe_no_audit = true``), every decision logs an ``UNSAFE`` warning.
    """

    def __init__(
        self,
        policies: PolicyStore,
        directory: DirectoryConnector,
        audit: AuditStore | None = None,
        *,
        stale_tolerant_actions: frozenset[str] = frozenset(),
        stepup: StepUpService | None = None,
        changes: ChangeCalendar | None = None,
    ) -> None:
        self.policies = policies
        self.changes = changes
        self.directory = directory
        self.audit = audit
        self.stepup = stepup
        self.approvals: ApprovalService | None = None
        self.auto_approver: AutoApprover | None = None
        self.approval_reads: ApprovalReads | None = None  # decides approval.read
        self.roles = engine_roles(lambda: policies.engine)
        self.decision_point = PolicyDecisionPoint(
            lambda: policies.engine, stale_tolerant_actions=stale_tolerant_actions
        )

    def authorize(
        self,
        request: AccessRequest,
        *,
        gateway_context: Mapping[str, JsonValue] | None = None,
    ) -> Decision:
        """Decide ``request`` with the actor's and the resource's directory facts.

        A directory that cannot be reached (and has no usable cached facts) gives a deny
        that says so: never an allow on facts that could not be read.  Context the gateway
        vouches for (how long ago the actor stepped up) comes from the gateway alone: a
        caller that supplies it is refused; so does whether a change freeze is in force
        (from the change calendar).  ``gateway_context`` is context the gateway computed
        for this request (the runtime's check of a change request): only the gateway's own
        code passes it, never a caller's body.
        """
        forged = GATEWAY_CONTEXT.intersection(request.context)
        if forged:
            names = ", ".join(sorted(forged))
            message = f"context {names} is set by the gateway, not by the caller"
            return self._audited(self.decision_point.refuse(request, message))
        added = {**self.gateway_context(request.actor), **(gateway_context or {})}
        if added:
            request = request.model_copy(update={"context": {**request.context, **added}})
        try:
            try:
                actor: IdentityFacts | None = self.directory.get_user(request.actor)
            except UnknownActorError:
                actor = None
            ref = request.resource
            resource = self.directory.get_resource(ref.type, ref.id)
        except DirectoryUnavailableError as exc:
            decision = self.decision_point.refuse(request, str(exc), unavailable=True)
        else:
            decision = self.decision_point.decide(request, actor, resource)
            if actor is not None:
                return self._audited(decision, recorded_facts(actor, resource))
        return self._audited(decision)

    def gateway_context(self, actor: str) -> dict[str, JsonValue]:
        """The context only the gateway sets for ``actor``'s requests: whether the change
        calendar says a freeze is in force, and how long ago the actor stepped up."""
        added: dict[str, JsonValue] = {}
        if self.changes is not None:
            added.update(self.changes.state_at().context())
        if self.stepup is not None:
            added.update(self.stepup.context_for(actor))
        return added

    def confirm_approved(
        self, approval_id: str, *, gateway_context: Mapping[str, JsonValue] | None = None
    ) -> Decision:
        """Decide an approved request again, just before its action runs.

        Allowed only when the request is approved, a fresh decision (current facts, bundle
        in force) allows it, and the approvals given still meet the approval obligations
        that decision demands; otherwise a deny saying why.  Audited either way.
        """
        if self.approvals is None:
            raise ConfigError("approvals are disabled ([approvals] enabled = false)")
        item = self.approvals.get(approval_id)
        if item.state is not ApprovalState.APPROVED:
            message = f"approval {approval_id} is {item.state}, not approved"
            return self._audited(self.decision_point.refuse(item.request, message))
        decision = self.authorize(item.request, gateway_context=gateway_context)
        if not decision.allowed:
            return decision
        needed = [o for o in decision.obligations if isinstance(o, ApprovalObligation)]
        why = shortfall(item, needed, self.directory, self.roles)
        if why is not None and item.auto is not None and self.auto_approver is not None:
            why = self.auto_approver.shortfall(item)
        if why is not None:
            message = f"approval {approval_id} no longer suffices: {why}"
            return self._audited(self.decision_point.refuse(item.request, message))
        return decision

    def _audited(self, decision: Decision, facts: dict[str, Any] | None = None) -> Decision:
        if self.audit is not None:
            self.audit.append(decision_event(decision, facts))
        else:
            request = decision.request
            warn_unaudited(f"decision {request.action} on {request.resource} by {request.actor}")
        return decision

    def record_conflict(self, conflict: Conflict) -> None:
        """Sources disagreed about a fact: keep it in the audit log."""
        if self.audit is not None:
            self.audit.append(conflict_event(conflict))
        else:
            warn_unaudited(f"conflict over {conflict.fact} of {conflict.user_id}")

    def close(self) -> None:
        closer = getattr(self.directory, "close", None)
        if callable(closer):
            closer()
        if self.approvals is not None:
            self.approvals.store.close()
        if self.stepup is not None:
            self.stepup.close()
        if self.audit is not None:
            self.audit.close()

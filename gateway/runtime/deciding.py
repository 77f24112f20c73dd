"""The decide stage: may this step run now, under which decision?

A privileged step is decided with its own request through the step guard
(``check_obligations``): allowed, refused, or waiting for an approval or a step-up.  An
approval that policy approved as it opened is taken at once: it is kept on the step and
the step decided again with it.

A workflow often reads before it acts (``password-reset`` looks the account up, then
resets it).  What it reads is for someone allowed to act: so a step ahead of the first
privileged step runs only once the decision point allows the actor that privileged action
on its target, decided with the same request that step will make.  Obligations (step-up,
approval) are met later, at the privileged step itself.

A refusal says the same for every actor and target, whatever the reasons (an unknown
target, an unknown actor, a policy): ``ACTOR is not allowed ACTION on RESOURCE``; the
reasons are in the audited decision.  Facts that cannot be read put the step back in the
queue, as for any step.

An execution bound to a change request has the change checked by the gateway before each
decision (``gateway.changes.requests``); what was found goes to the policies as
``context.change_request`` and into the audited decision.  A change that is unknown, not
approved, not being implemented, outside its window, or that cannot be checked refuses
the step, whatever the policies say.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway.changes.requests import ChangeRequestSource, ChangeRequestStatus
from gateway.enforcement.step_guard import Allowed, DecisionMaker, Refused, StepGuard
from gateway.errors import AuditError
from gateway.expressions import ExpressionError, render_value
from gateway.policy.request import AccessRequest
from gateway.runtime.actions import ActionRegistry, ActionSpec
from gateway.runtime.errors import ParameterError
from gateway.runtime.model import Execution, StepRecord
from gateway.runtime.outcomes import Cleared, Failure, Retry
from gateway.runtime.store import ExecutionStore
from gateway.runtime.waiting import AwaitingApproval, Waiting, check_obligations
from gateway.runtime.workflows import StepDefinition, Workflow

__all__ = ["StepDecider", "step_request"]


def step_request(
    execution: Execution, action: ActionSpec, plain: dict[str, Any], actor: str
) -> AccessRequest:
    """What the decision point is asked before ``action`` runs with ``plain``."""
    if action.resource is None or action.permission is None:  # pragma: no cover
        raise RuntimeError(f"action {action.name} is not privileged")
    context: dict[str, Any] = {**action.context(plain), "channel": execution.channel}
    if execution.ticket is not None:
        context["ticket"] = execution.ticket
    context["parameters"] = plain
    return AccessRequest(
        actor=actor, action=action.permission, resource=action.resource(plain), context=context
    )


def _context(change: ChangeRequestStatus | None) -> dict[str, Any] | None:
    return None if change is None else {"change_request": change.context()}


class StepDecider:
    def __init__(
        self,
        gateway: DecisionMaker,
        guard: StepGuard,
        actions: ActionRegistry,
        store: ExecutionStore,
        *,
        changes: ChangeRequestSource | None = None,
    ) -> None:
        self._gateway = gateway
        self._changes = changes
        self._guard = guard
        self._actions = actions
        self._store = store

    def decide(
        self,
        execution: Execution,
        workflow: Workflow,
        record: StepRecord,
        action: ActionSpec,
        plain: dict[str, Any],
        scope: dict[str, Any],
    ) -> Cleared | Failure | Retry | Waiting:
        if action.privileged:
            return self._authorise(execution, record, action, plain)
        return self._predecide(execution, workflow, record, scope)

    def _authorise(
        self, execution: Execution, record: StepRecord, action: ActionSpec, plain: dict[str, Any]
    ) -> Cleared | Failure | Retry | Waiting:
        request = step_request(execution, action, plain, execution.actor)
        change = self._change(execution)
        found = check_obligations(
            self._guard,
            request,
            record.approval_id,
            consumer=f"{execution.id}/{record.step_id}",  # a bound step-up is used by it
            step=record.step_id,
            gateway_context=_context(change),
        )
        if change is not None and change.problem is not None:
            decision_id = (
                found.decision.decision_id if isinstance(found, Allowed) else found.decision_id
            )
            return Failure(f"step {record.step_id} refused: {change.problem}", decision_id)
        if isinstance(found, Allowed):
            return Cleared(found.decision.decision_id, found.digest)
        if isinstance(found, Refused) and found.unavailable:
            return Retry("directory", found.reason)
        if isinstance(found, Refused):
            return Failure(f"step {record.step_id} refused: {found.reason}", found.decision_id)
        if isinstance(found, AwaitingApproval) and found.approved and record.approval_id is None:
            with self._store.transaction() as tx:  # approved by policy as it opened
                tx.update_step(execution.id, record.step_id, approval_id=found.approval_id)
            approved = replace(record, approval_id=found.approval_id)
            return self._authorise(execution, approved, action, plain)
        return found

    def _change(self, execution: Execution) -> ChangeRequestStatus | None:
        number = execution.change_request
        if number is None:
            return None
        if self._changes is None:
            return ChangeRequestStatus(number, problem="no change request source is configured")
        return self._changes.check(number)

    def _first_privileged(
        self, workflow: Workflow
    ) -> tuple[int, StepDefinition, ActionSpec] | None:
        for index, step in enumerate(workflow.definition.steps):
            action = None if step.action is None else self._actions.get(step.action)
            if action is not None and action.privileged:
                return index, step, action
        return None

    def _predecide(
        self, execution: Execution, workflow: Workflow, record: StepRecord, scope: dict[str, Any]
    ) -> Cleared | Failure | Retry:
        """For a step ahead of the first privileged one: cleared when the decision allows
        that privileged step (the decision is audited before this step's ``action.started``)."""
        found = self._first_privileged(workflow)
        if found is None or found[0] <= record.index:
            return Cleared()
        _, step, privileged = found
        try:
            plain, _ = privileged.parameter_set.validate(render_value(step.with_, scope))
        except (ExpressionError, ParameterError) as exc:
            return Failure(
                f"step {record.step_id} refused: the decision before it cannot be made: "
                f"step {step.id}: {exc}"
            )
        request = step_request(execution, privileged, plain, execution.actor)
        change = self._change(execution)
        extra = {} if change is None else {"gateway_context": _context(change)}
        try:
            decision = self._gateway.authorize(request, **extra)
        except AuditError as exc:  # a decision that cannot be recorded is not made
            return Retry("audit log", f"not run: {exc}", audit_down=True)
        if change is not None and change.problem is not None:
            return Failure(f"step {record.step_id} refused: {change.problem}", decision.decision_id)
        if decision.allowed:
            return Cleared()
        if decision.unavailable:
            why = "; ".join(r.message for r in decision.reasons if r.engine == "gateway")
            return Retry("directory", why or "directory facts are unavailable")
        return Failure(
            f"step {record.step_id} refused: {request.actor} is not allowed "
            f"{request.action} on {request.resource}",
            decision.decision_id,
        )

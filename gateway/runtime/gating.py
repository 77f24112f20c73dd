"""The decision before the steps that come ahead of a workflow's first privileged step.

A workflow often reads before it acts (``password-reset`` looks the account up, then
resets it).  What it reads is for someone allowed to act: so a step ahead of the first
privileged step runs only once the decision point allows the actor that privileged action
on its target, decided with the same request that step will make.  Obligations (step-up,
approval) are met later, at the privileged step itself.

A refusal says the same for every actor and target, whatever the reasons (an unknown
target, an unknown actor, a policy): ``ACTOR is not allowed ACTION on RESOURCE``; the
reasons are in the audited decision.  Facts that cannot be read put the step back in the
queue, as for any step.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import AuditError
from gateway.expressions import ExpressionError, render_value
from gateway.runtime.actions import ActionSpec
from gateway.runtime.core import StopHere
from gateway.runtime.errors import ParameterError
from gateway.runtime.model import Execution, StepRecord
from gateway.runtime.rollback import RollingBack
from gateway.runtime.workflows import StepDefinition, Workflow

__all__ = ["Gating"]


class Gating(RollingBack):
    """Deciding a workflow's privileged action before the steps ahead of it run."""

    def _defer(
        self,
        execution: Execution,
        record: StepRecord,
        action: ActionSpec,
        system: str,
        detail: str,
        *,
        started: bool,
        audit_down: bool = False,
    ) -> None:  # pragma: no cover - the stepping layer puts a step back in the queue
        raise NotImplementedError

    def _first_privileged(
        self, workflow: Workflow
    ) -> tuple[int, StepDefinition, ActionSpec] | None:
        """The first privileged step, if any."""
        for index, step in enumerate(workflow.definition.steps):
            action = None if step.action is None else self.actions.get(step.action)
            if action is not None and action.privileged:
                return index, step, action
        return None

    def _predecide(
        self,
        execution: Execution,
        workflow: Workflow,
        record: StepRecord,
        action: ActionSpec,
        scope: dict[str, Any],
    ) -> None:
        """For a step ahead of the first privileged one: returns when the decision allows
        it (the decision is audited just before the step's ``action.started``); otherwise
        the step fails or waits and ``StopHere`` is raised."""
        found = self._first_privileged(workflow)
        if found is None or found[0] <= record.index:
            return
        _, step, privileged = found
        try:
            plain, _ = privileged.parameter_set.validate(render_value(step.with_, scope))
        except (ExpressionError, ParameterError) as exc:
            self._fail(
                execution,
                record,
                f"step {record.step_id} refused: the decision before it cannot be made: "
                f"step {step.id}: {exc}",
            )
            raise StopHere from None
        request = self._request(execution, privileged, plain, execution.actor)
        try:
            decision = self.gateway.authorize(request)
        except AuditError as exc:  # a decision that cannot be recorded is not made
            self._defer(
                execution,
                record,
                action,
                "audit log",
                f"not run: {exc}",
                started=False,
                audit_down=True,
            )
            raise StopHere from None
        if decision.allowed:
            return
        if decision.unavailable:
            why = "; ".join(r.message for r in decision.reasons if r.engine == "gateway")
            self._defer(
                execution,
                record,
                action,
                "directory",
                why or "directory facts are unavailable",
                started=False,
            )
            raise StopHere
        self._fail(
            execution,
            record,
            f"step {record.step_id} refused: {request.actor} is not allowed "
            f"{request.action} on {request.resource}",
            decision_id=decision.decision_id,
        )
        raise StopHere

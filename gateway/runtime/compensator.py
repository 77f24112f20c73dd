"""Finishing an execution that cannot go on: the failed step, the undo of what came
before it (each undo decided by policy and run as the service account), the final state."""

from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from gateway.approvals.model import ApprovalState
from gateway.clock import Clock
from gateway.enforcement.step_guard import Allowed, DecisionMaker, Refused, StepGuard
from gateway.errors import ActionFailedError, GatewayError
from gateway.runtime.actions import ActionCall, ActionRegistry, ActionSpec
from gateway.runtime.calls import ActionRunner, failure_reason
from gateway.runtime.deciding import step_request
from gateway.runtime.expiry import Cover, covers, expiry_workflow
from gateway.runtime.journal import Journal
from gateway.runtime.model import Execution, ExecutionState, StepRecord, StepState

__all__ = ["Compensator"]


class Compensator:
    """Fails, cancels and rolls back executions."""

    def __init__(
        self,
        journal: Journal,
        actions: ActionRegistry,
        runner: ActionRunner,
        gateway: DecisionMaker,
        guard: StepGuard,
        *,
        system_actor: str,
        clock: Clock,
    ) -> None:
        self._journal = journal
        self._actions = actions
        self._runner = runner
        self._gateway = gateway
        self._guard = guard
        self._system_actor = system_actor
        self._clock = clock

    def action_of(self, execution: Execution, record: StepRecord) -> ActionSpec | None:
        """The action of ``record``'s step (None for a schedule step)."""
        step = self._journal.workflow_of(execution).definition.steps[record.index]
        return None if step.action is None else self._actions.get(step.action)

    def fail(
        self,
        execution: Execution,
        record: StepRecord,
        reason: str,
        *,
        decision_id: str | None = None,
        started: bool = False,
        state: StepState = StepState.FAILED,
    ) -> None:
        """The step fails; once that is on record, what came before it is undone."""
        now = self._clock()
        with self._journal.store.transaction() as tx:
            changes: dict[str, Any] = {"state": state, "error": reason, "finished_at": now}
            if decision_id is not None:
                changes["decision_id"] = decision_id
            tx.update_step(execution.id, record.step_id, **changes)
            kept = self._journal.record_after(
                tx,
                "action.failed" if started else "step.refused",
                execution,
                {"step": record.step_id, "reason": reason},
                decision_id=decision_id,
            )
            if kept is not None:  # undo nothing before the failure is on record
                failing = replace(execution, error=reason)
                self._journal.wait_for_audit(tx, failing, record.step_id, kept, now)
        if kept is None:
            self._roll_back(self._journal.get(execution.id), reason, ExecutionState.FAILED)

    def resume(self, execution: Execution) -> None:
        """Roll back an execution whose failure waited for its record to be written."""
        self._roll_back(execution, str(execution.error), ExecutionState.FAILED)

    def cancel(self, execution: Execution, reason: str) -> None:
        self._roll_back(execution, reason, ExecutionState.CANCELLED)

    def cancel_approvals(self, execution: Execution) -> None:
        """Withdraw the approval requests of ``execution`` that are still pending."""
        approvals = self._gateway.approvals
        for record in execution.steps:
            if (
                record.approval_id is not None
                and approvals is not None
                and approvals.get(record.approval_id).state is ApprovalState.PENDING
            ):
                approvals.cancel(record.approval_id, execution.actor)

    def _roll_back(self, execution: Execution, reason: str, final: ExecutionState) -> None:
        """Undo the succeeded steps, last first; ``final`` unless something was undone
        (then ``compensated``), or ``failed`` when an undo itself failed."""
        undone: list[str] = []
        problems: list[str] = []
        covered = self._still_covered(execution)
        for record in reversed(execution.steps):
            if record.state is not StepState.SUCCEEDED:
                continue
            step_action = self.action_of(execution, record)
            if step_action is None or step_action.compensation is None or step_action.undo is None:
                continue
            if covered:  # no record, no skip: a log that refuses it leaves the step as it is
                try:
                    self._journal.record(
                        "compensation.skipped",
                        execution,
                        {"step": record.step_id, "action": step_action.compensation,
                         "covered_by": [cover.as_json() for cover in covered],
                         "why": "another live grant still covers this access"},
                    )  # fmt: skip
                except GatewayError as exc:
                    problems.append(f"{record.step_id}: {exc}")
                continue
            problem = self._compensate(execution, record, step_action)
            if problem is None:
                undone.append(record.step_id)
            else:
                problems.append(problem)
        if problems:
            final = ExecutionState.FAILED
            reason = f"{reason}; rollback incomplete: {'; '.join(problems)}"
        elif undone and final is ExecutionState.FAILED:
            final = ExecutionState.COMPENSATED
        self._journal.finish(execution, final, reason, undone=undone)

    def _still_covered(self, execution: Execution) -> list[Cover]:
        """For a grant with an ``expiry`` step: the other live grants of the same access,
        whose access an undo would take away too (none for any other workflow)."""
        revocation = expiry_workflow(self._journal.workflow_of(execution))
        if revocation is None:
            return []
        with self._journal.store.transaction(write=False) as tx:
            return covers(tx, revocation, execution, self._clock())

    def _compensate(
        self, execution: Execution, record: StepRecord, action: ActionSpec
    ) -> str | None:
        """Run the undo of one step as the service account; why it failed, or None."""
        undo_name = str(action.compensation)
        undo = self._actions.get(undo_name)
        if undo is None or action.undo is None:  # pragma: no cover - checked at start-up
            raise RuntimeError(f"compensation {undo_name} is not registered")
        try:
            plain, secrets = undo.parameter_set.validate(
                action.undo(record.parameters, record.output)
            )
            actor = self._system_actor
            decision_id = None
            if undo.privileged:
                request = step_request(execution, undo, plain, actor)
                outcome = self._guard.check(request, None)
                if not isinstance(outcome, Allowed):
                    why = outcome.reason if isinstance(outcome, Refused) else "needs an obligation"
                    raise ActionFailedError(f"{undo_name} refused: {why}")
                decision_id = outcome.decision.decision_id
            payload = {
                "step": record.step_id,
                "action": undo_name,
                "parameters": plain,
                "decision_id": decision_id,
            }
            self._journal.record(
                "compensation.started",
                execution,
                payload,
                decision_id=decision_id,
                action=undo.permission or undo_name,
            )
            result = self._runner.call(
                undo, ActionCall(execution.id, record.step_id, actor, plain, secrets)
            )
        except (GatewayError, FutureTimeout, Exception) as exc:
            reason = failure_reason(undo, exc)
            self._journal.record_quietly(
                "compensation.failed",
                execution,
                {"step": record.step_id, "action": undo_name, "reason": reason},
            )
            return f"{record.step_id}: {reason}"
        with self._journal.store.transaction() as tx:
            tx.update_step(
                execution.id, record.step_id, state=StepState.COMPENSATED, finished_at=self._clock()
            )
            self._journal.record_after(
                tx,
                "compensation.succeeded",
                execution,
                {"step": record.step_id, "action": undo_name, "detail": result.detail},
            )
        return None

"""Finishing an execution that cannot go on: the failed step, the undo of what came
before it (each undo decided by policy and run as the service account), the final state."""

from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from gateway.approvals.model import ApprovalState
from gateway.enforcement.step_guard import (
    Allowed,
    Refused,
)
from gateway.errors import (
    ActionFailedError,
    GatewayError,
)
from gateway.runtime.actions import ActionCall, ActionSpec
from gateway.runtime.core import (
    ExecutorCore,
    failure_reason,
)
from gateway.runtime.expiry import Cover, covers, expiry_workflow
from gateway.runtime.model import Execution, ExecutionState, StepRecord, StepState
from gateway.runtime.workflows import Workflow

__all__ = ["RollingBack"]


class RollingBack(ExecutorCore):
    """Failing, cancelling and compensating executions."""

    def _fail(
        self,
        execution: Execution,
        record: StepRecord,
        reason: str,
        *,
        decision_id: str | None = None,
        started: bool = False,
        state: StepState = StepState.FAILED,
    ) -> None:
        now = self._clock()
        with self.store.transaction() as tx:
            changes: dict[str, Any] = {"state": state, "error": reason, "finished_at": now}
            if decision_id is not None:
                changes["decision_id"] = decision_id
            tx.update_step(execution.id, record.step_id, **changes)
            kept = self._record_after(
                tx,
                "action.failed" if started else "step.refused",
                execution,
                {"step": record.step_id, "reason": reason},
                decision_id=decision_id,
            )
            if kept is not None:  # undo nothing before the failure is on record
                failing = replace(execution, error=reason)
                self._wait_for_audit(tx, failing, record.step_id, kept, now)
        if kept is None:
            self._roll_back(self.get(execution.id), reason, ExecutionState.FAILED)

    def _resume_roll_back(self, execution: Execution) -> None:
        """Roll back an execution whose failure waited for its record to be written."""
        self._roll_back(execution, str(execution.error), ExecutionState.FAILED)

    def _roll_back(self, execution: Execution, reason: str, final: ExecutionState) -> None:
        """Undo the succeeded steps, last first; ``final`` unless something was undone
        (then ``compensated``), or ``failed`` when an undo itself failed."""
        undone: list[str] = []
        problems: list[str] = []
        covered = self._still_covered(execution)
        for record in reversed(execution.steps):
            if record.state is not StepState.SUCCEEDED:
                continue
            step_action = self._action_of(execution, record)
            if step_action is None or step_action.compensation is None or step_action.undo is None:
                continue
            if covered:  # no record, no skip: a log that refuses it leaves the step as it is
                try:
                    self._record(
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
        self._finish(execution, final, reason, undone=undone)

    def _still_covered(self, execution: Execution) -> list[Cover]:
        """For a grant with an ``expiry`` step: the other live grants of the same access,
        whose access an undo would take away too (none for any other workflow)."""
        with self.store.transaction(write=False) as tx:
            workflow = Workflow.from_snapshot(
                tx.snapshot(execution.id), execution.workflow, execution.workflow_digest
            )
            revocation = expiry_workflow(workflow)
            if revocation is None:
                return []
            return covers(tx, revocation, execution, self._clock())

    def _compensate(
        self, execution: Execution, record: StepRecord, action: ActionSpec
    ) -> str | None:
        """Run the undo of one step as the service account; why it failed, or None."""
        undo_name = str(action.compensation)
        undo = self.actions.get(undo_name)
        if undo is None or action.undo is None:  # pragma: no cover - checked at start-up
            raise RuntimeError(f"compensation {undo_name} is not registered")
        try:
            plain, secrets = undo.parameter_set.validate(
                action.undo(record.parameters, record.output)
            )
            actor = self.settings.system_actor
            decision_id = None
            if undo.privileged:
                request = self._request(execution, undo, plain, actor)
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
            self._record(
                "compensation.started",
                execution,
                payload,
                decision_id=decision_id,
                action=undo.permission or undo_name,
            )
            result = self._call(
                undo, ActionCall(execution.id, record.step_id, actor, plain, secrets)
            )
        except (GatewayError, FutureTimeout, Exception) as exc:
            reason = failure_reason(undo, exc)
            self._record_quietly(
                "compensation.failed",
                execution,
                {"step": record.step_id, "action": undo_name, "reason": reason},
            )
            return f"{record.step_id}: {reason}"
        now = self._clock()
        with self.store.transaction() as tx:
            tx.update_step(
                execution.id, record.step_id, state=StepState.COMPENSATED, finished_at=now
            )
            self._record_after(
                tx,
                "compensation.succeeded",
                execution,
                {"step": record.step_id, "action": undo_name, "detail": result.detail},
            )
        return None

    def _finish(
        self,
        execution: Execution,
        state: ExecutionState,
        reason: str | None,
        *,
        undone: list[str] | None = None,
    ) -> None:
        now = self._clock()
        payload: dict[str, Any] = {"state": str(state), "reason": reason}
        if undone:
            payload["compensated"] = undone
        with self.store.transaction() as tx:
            tx.set_state(execution.id, state, now, error=reason)
            self._record_after(tx, "execution.finished", execution, payload)

    def _finish_cancelled(self, execution: Execution, reason: str) -> None:
        self._roll_back(execution, reason, ExecutionState.CANCELLED)

    def _cancel_approvals(self, execution: Execution) -> None:
        approvals = self.gateway.approvals
        for record in execution.steps:
            if (
                record.approval_id is not None
                and approvals is not None
                and approvals.get(record.approval_id).state is ApprovalState.PENDING
            ):
                approvals.cancel(record.approval_id, execution.actor)

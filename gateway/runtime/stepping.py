"""Advancing an execution one step at a time along the guarded path (see ``executor``)."""

from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import timedelta
from typing import Any

from gateway.approvals.model import ApprovalState
from gateway.audit.records import format_time
from gateway.enforcement.step_guard import (
    Allowed,
    Refused,
    WaitApproval,
)
from gateway.errors import (
    ActionFailedError,
    AuditError,
    TargetUnavailableError,
)
from gateway.expressions import ExpressionError, parse_expression, render_value
from gateway.runtime.actions import ActionCall, ActionOutput, ActionSpec
from gateway.runtime.core import (
    StopHere,
    failure_reason,
    log,
)
from gateway.runtime.errors import (
    ParameterError,
    UnknownWorkflowError,
)
from gateway.runtime.gating import Gating
from gateway.runtime.model import Execution, ExecutionState, StepRecord, StepState, Timer
from gateway.runtime.workflows import StepDefinition, Workflow

__all__ = ["Stepping"]


class Stepping(Gating):
    """Runs the next step of an execution until it waits or finishes."""

    def submit(self, execution_id: str) -> None:
        """Advance ``execution_id`` in the background."""
        self._background.submit(self._advance_quietly, execution_id)

    def _advance_quietly(self, execution_id: str) -> None:
        try:
            self.advance(execution_id)
        except Exception:
            log.exception("execution %s could not advance", execution_id)

    def advance(self, execution_id: str) -> Execution:
        """Run the execution's steps until it waits or finishes; returns where it is."""
        with self._busy_lock:
            if execution_id in self._busy:
                return self.get(execution_id)
            self._busy.add(execution_id)
        try:
            while self._step_once(execution_id):
                pass
            return self.get(execution_id)
        finally:
            with self._busy_lock:
                self._busy.discard(execution_id)

    def _step_once(self, execution_id: str) -> bool:
        """Do the next thing; False when there is nothing more to do now."""
        execution = self._flush(self.get(execution_id))
        if execution is None or execution.state.finished:
            return False
        if execution.cancel_requested:
            self._finish_cancelled(execution, "cancelled on request")
            return False
        with self.store.transaction(write=False) as tx:
            workflow = Workflow.from_snapshot(
                tx.snapshot(execution_id), execution.workflow, execution.workflow_digest
            )
        index = next(
            (
                i
                for i, record in enumerate(execution.steps)
                if record.state not in (StepState.SUCCEEDED, StepState.SKIPPED)
            ),
            None,
        )
        if index is None:
            self._finish(execution, ExecutionState.SUCCEEDED, None)
            return False
        record = execution.steps[index]
        if record.state is StepState.STARTED:
            return False  # running elsewhere, or orphaned (``recover`` decides)
        if record.state is StepState.FAILED and execution.error is not None:
            self._resume_roll_back(execution)  # its failure is on record now
            return False
        if record.state is not StepState.PENDING:
            raise RuntimeError(f"execution {execution_id}: step {record.step_id} is {record.state}")
        if record.next_attempt_at is not None and record.next_attempt_at > self._clock():
            return False
        try:
            return self._run_step(execution, workflow, record)
        except StopHere:
            return False

    def _scope(self, execution: Execution) -> dict[str, Any]:
        return {
            "params": execution.parameters,
            "steps": {
                s.step_id: {"state": str(s.state), "output": s.output} for s in execution.steps
            },
            "execution": {
                "id": execution.id,
                "actor": execution.actor,
                "channel": execution.channel,
                "ticket": execution.ticket,
            },
        }

    def _run_step(self, execution: Execution, workflow: Workflow, record: StepRecord) -> bool:
        step = workflow.definition.steps[record.index]
        scope = self._scope(execution)
        try:
            if step.when is not None and not parse_expression(step.when).evaluate_bool(scope):
                self._skip(execution, record)
                return True
            if step.schedule is not None:
                self._schedule(execution, step, record, scope)
                return True
            action = self.actions.get(str(step.action))
            if action is None:
                raise ParameterError(
                    f"step {step.id}", {"action": f"{step.action} is not registered"}
                )
            rendered = render_value(step.with_, scope)
            plain, secrets = action.parameter_set.validate(rendered)
        except (ExpressionError, ParameterError, UnknownWorkflowError) as exc:
            self._fail(execution, record, f"step {step.id}: {exc}")
            return False
        decision_id = None
        digest = None
        if action.permission is not None:
            verdict = self._authorise(execution, record, action, plain, execution.actor)
            decision_id, digest = verdict
        else:
            self._predecide(execution, workflow, record, action, scope)
        call = ActionCall(
            execution.id, record.step_id, execution.actor, plain, secrets, record.attempts + 1
        )
        return self._act(execution, record, action, call, decision_id, digest)

    def _authorise(
        self,
        execution: Execution,
        record: StepRecord,
        action: ActionSpec,
        plain: dict[str, Any],
        actor: str,
    ) -> tuple[str, str]:
        """The decision id and binding digest when allowed; otherwise the execution waits
        or fails and ``StopHere`` is raised."""
        request = self._request(execution, action, plain, actor)
        consumer = f"{execution.id}/{record.step_id}"  # a bound step-up is used by this step
        outcome = self._guard.check(request, record.approval_id, consumer=consumer)
        now = self._clock()
        if isinstance(outcome, Allowed):
            return outcome.decision.decision_id, outcome.digest
        if isinstance(outcome, Refused) and outcome.unavailable:
            self._defer(execution, record, action, "directory", outcome.reason, started=False)
            raise StopHere
        if isinstance(outcome, Refused):
            self._fail(
                execution,
                record,
                f"step {record.step_id} refused: {outcome.reason}",
                decision_id=outcome.decision_id,
            )
            raise StopHere
        if (
            isinstance(outcome, WaitApproval)
            and record.approval_id is None
            and (outcome.approval.state is ApprovalState.APPROVED)
        ):  # approved by policy as it opened: confirm it and go on
            with self.store.transaction() as tx:
                tx.update_step(execution.id, record.step_id, approval_id=outcome.approval.id)
            approved = replace(record, approval_id=outcome.approval.id)
            return self._authorise(execution, approved, action, plain, actor)
        if isinstance(outcome, WaitApproval):
            waiting: dict[str, Any] = {
                "kind": "approval",
                "step": record.step_id,
                "approval_id": outcome.approval.id,
                "digest": outcome.approval.digest,
                "expires_at": format_time(outcome.approval.expires_at),
            }
            state = ExecutionState.PENDING_APPROVAL
            with self.store.transaction() as tx:
                tx.update_step(
                    execution.id,
                    record.step_id,
                    approval_id=outcome.approval.id,
                    decision_id=outcome.decision_id,
                    digest=outcome.approval.digest,
                )
                self._wait(tx, execution, state, waiting, now)
            raise StopHere
        waiting = {
            "kind": "step_up",
            "step": record.step_id,
            "digest": outcome.digest,
            "max_age_seconds": outcome.max_age_seconds,
        }
        with self.store.transaction() as tx:
            tx.update_step(
                execution.id, record.step_id, decision_id=outcome.decision_id, digest=outcome.digest
            )
            self._wait(tx, execution, ExecutionState.AWAITING_STEP_UP, waiting, now)
        raise StopHere

    def _act(
        self,
        execution: Execution,
        record: StepRecord,
        action: ActionSpec,
        call: ActionCall,
        decision_id: str | None,
        digest: str | None,
    ) -> bool:
        now = self._clock()
        payload = {
            "step": record.step_id,
            "action": action.name,
            "attempt": call.attempt,
            "parameters": call.parameters,
            "decision_id": decision_id,
        }
        try:
            with self.store.transaction() as tx:
                claimed = tx.claim_step(
                    execution.id,
                    record.step_id,
                    now,
                    self._owner,
                    decision_id=decision_id,
                    digest=digest,
                    parameters=call.parameters,
                )
                if not claimed:
                    return False
                tx.set_state(execution.id, ExecutionState.RUNNING, now)
                self._record(
                    "action.started",
                    execution,
                    payload,
                    decision_id=decision_id,
                    action=action.permission or action.name,
                )
        except AuditError as exc:
            self._defer(
                execution,
                record,
                action,
                "audit log",
                f"not run: {exc}",
                started=False,
                audit_down=True,
            )
            return False
        try:
            output = self._call(action, call)
        except TargetUnavailableError as exc:
            self._defer(execution, record, action, exc.system, str(exc), started=True)
            return False
        except (ActionFailedError, FutureTimeout, Exception) as exc:
            reason = failure_reason(action, exc)
            if isinstance(exc, FutureTimeout) and action.idempotent:
                self._defer(execution, record, action, action.system, reason, started=True)
                return False
            self._fail(
                execution,
                record,
                f"step {record.step_id} failed: {reason}",
                decision_id=decision_id,
                started=True,
            )
            return False
        self._succeed(execution, record, action, call, output, decision_id)
        return True

    def _succeed(
        self,
        execution: Execution,
        record: StepRecord,
        action: ActionSpec,
        call: ActionCall,
        output: ActionOutput,
        decision_id: str | None,
    ) -> None:
        now = self._clock()
        sealed = tuple(sorted(output.secrets)) if self._sealer is not None else ()
        with self.store.transaction() as tx:
            for name, value in output.secrets.items():
                if self._sealer is not None:
                    self._sealer.seal(tx, execution.id, name, value, now)
            tx.update_step(
                execution.id,
                record.step_id,
                state=StepState.SUCCEEDED,
                output=output.values,
                sealed=sealed,
                finished_at=now,
                error=None,
                next_attempt_at=None,
            )
            tx.set_state(execution.id, ExecutionState.RUNNING, now)
            kept = self._record_after(
                tx,
                "action.succeeded",
                execution,
                {
                    "step": record.step_id,
                    "action": action.name,
                    "changed": output.changed,
                    "detail": output.detail,
                    "output": output.values,
                    "secret_outputs": list(sealed),
                },
                decision_id=decision_id,
                action=action.permission or action.name,
            )
            if kept is not None:  # nothing more runs before this is on record
                self._wait_for_audit(tx, execution, record.step_id, kept, now)

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
    ) -> None:
        """The step goes back to the queue with backoff, or fails after the last try.
        While the audit log is down it only waits: failing needs a record too."""
        now = self._clock()
        attempts = record.attempts + 1
        limit = action.max_attempts or self.settings.max_attempts
        if attempts >= limit and not audit_down:
            self._fail(
                execution,
                record,
                f"step {record.step_id}: {system} still unavailable after {attempts} "
                f"attempts: {detail}",
                started=started,
            )
            return
        delay = min(
            self.settings.backoff_seconds * 2 ** (attempts - 1), self.settings.max_backoff_seconds
        )
        next_at = now + timedelta(seconds=delay)
        waiting = {
            "kind": "target",
            "step": record.step_id,
            "system": system,
            "attempts": attempts,
            "next_at": format_time(next_at),
            "detail": detail,
        }
        try:
            with self.store.transaction() as tx:
                tx.update_step(
                    execution.id,
                    record.step_id,
                    state=StepState.PENDING,
                    attempts=attempts,
                    next_attempt_at=next_at,
                    error=detail,
                )
                self._wait(
                    tx, execution, ExecutionState.WAITING_FOR_TARGET, waiting, now, wake_at=next_at
                )
        except AuditError:
            with self.store.transaction() as tx:  # no record possible: keep the state
                tx.update_step(
                    execution.id,
                    record.step_id,
                    state=StepState.PENDING,
                    attempts=attempts,
                    next_attempt_at=next_at,
                    error=detail,
                )
                tx.set_state(
                    execution.id,
                    ExecutionState.WAITING_FOR_TARGET,
                    now,
                    waiting=waiting,
                    wake_at=next_at,
                )

    def _skip(self, execution: Execution, record: StepRecord) -> None:
        now = self._clock()
        with self.store.transaction() as tx:
            tx.update_step(execution.id, record.step_id, state=StepState.SKIPPED, finished_at=now)
            self._record(
                "step.skipped", execution, {"step": record.step_id, "why": "its condition is false"}
            )

    def _schedule(
        self, execution: Execution, step: StepDefinition, record: StepRecord, scope: dict[str, Any]
    ) -> None:
        schedule = step.schedule
        if schedule is None:  # pragma: no cover - only schedule steps come here
            raise RuntimeError("not a schedule step")
        hours = render_value(schedule.after_hours, scope)
        if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
            raise ParameterError(
                f"step {step.id}", {"after_hours": f"expected whole hours, found {hours!r}"}
            )
        parameters = render_value(schedule.with_, scope)
        self.workflows.get(schedule.workflow).parameter_set.validate(parameters)
        now = self._clock()
        timer = Timer(
            id=f"{execution.id}:{step.id}",
            due_at=now + timedelta(hours=hours),
            workflow=schedule.workflow,
            parameters=parameters,
            parent=execution.id,
        )
        with self.store.transaction() as tx:
            tx.add_timer(timer)
            tx.update_step(
                execution.id,
                record.step_id,
                state=StepState.SUCCEEDED,
                parameters=parameters,
                finished_at=now,
                output={"workflow": schedule.workflow, "due_at": format_time(timer.due_at)},
            )
            self._record(
                "execution.scheduled",
                execution,
                {
                    "step": step.id,
                    "workflow": schedule.workflow,
                    "parameters": parameters,
                    "due_at": format_time(timer.due_at),
                },
            )

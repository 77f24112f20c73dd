"""The guarded executor: request -> decision -> obligations -> audit -> action -> audit.

For every step of a workflow, in order:

1. The condition (``when``) is evaluated; a false one skips the step (audited).
2. Parameters are rendered from the workflow's parameters and earlier outputs and checked
   against the action's declaration.
3. A privileged step is decided (``StepGuard``): refused, waiting (approval, step-up) or
   allowed.  Waiting is durable: the execution's state says what for, and ``advance``
   picks it up again when it is met, after any number of restarts.
4. The step is claimed (``pending -> started``, one process wins) and ``action.started``
   is appended to the audit log in the same store transaction: if the append fails,
   nothing is claimed and the action does not run.
5. The action runs with its timeout.  Its outcome is stored and audited together.  A
   system that is down puts the step back in the queue with exponential backoff; a
   refusal or an error fails the execution and undoes the steps before it (compensation,
   each itself decided and audited, run by the gateway's service account).

After a crash, a step left ``started`` by a process that is gone is run again when its
action is idempotent, and otherwise marked ``unknown`` and the execution rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.audit.records import AuditEvent
from gateway.expressions import render_value
from gateway.runtime.core import (
    RuntimeSettings,
    log,
    process_alive,
    request_digest,
)
from gateway.runtime.errors import (
    ExecutionError,
    ExecutionStateError,
    IdempotencyConflictError,
    TargetConflictError,
)
from gateway.runtime.expiry import SKIPPED, covers
from gateway.runtime.model import Execution, ExecutionState, StepState, Timer
from gateway.runtime.stepping import Stepping
from gateway.runtime.workflows import Workflow

__all__ = ["Executor", "RuntimeSettings", "request_digest"]


class Executor(Stepping):
    """Starts and advances executions; safe to call from many threads and processes."""

    def start(
        self,
        workflow_id: str,
        parameters: Mapping[str, object],
        *,
        actor: str,
        channel: str = "api",
        ticket: str | None = None,
        idempotency_key: str | None = None,
        parent: str | None = None,
    ) -> Execution:
        """Record a new execution (not yet run: call ``advance``), or return the one the
        same idempotency key started for the same request."""
        workflow = self.workflows.get(workflow_id)
        plain, _ = workflow.parameter_set.validate(parameters)
        digest = request_digest(workflow.id, plain, ticket)
        target = self._target(workflow, plain)
        now = self._clock()
        with self.store.transaction() as tx:
            if idempotency_key is not None:
                existing = tx.find_idempotent(actor, idempotency_key)
                if existing is not None:
                    if existing.request_digest != digest:
                        raise IdempotencyConflictError(idempotency_key, existing.id)
                    return existing
            if target is not None:
                busy = tx.active_on(target)
                if busy is not None:
                    raise TargetConflictError(target, busy)
            execution = Execution(
                id=self._new_id(),
                workflow=workflow.id,
                workflow_version=workflow.definition.version,
                workflow_digest=workflow.digest,
                actor=actor,
                parameters=plain,
                channel=channel,
                state=ExecutionState.QUEUED,
                created_at=now,
                updated_at=now,
                target=target,
                ticket=ticket,
                idempotency_key=idempotency_key,
                request_digest=digest,
                parent=parent,
            )
            tx.insert(execution, workflow.snapshot(), [s.id for s in workflow.definition.steps])
            self._record(
                "execution.started",
                execution,
                {
                    "workflow": workflow.id,
                    "version": workflow.definition.version,
                    "workflow_digest": workflow.digest,
                    "parameters": plain,
                    "channel": channel,
                    "ticket": ticket,
                    "target": target,
                    "parent": parent,
                },
            )
        return execution

    def _target(self, workflow: Workflow, params: Mapping[str, Any]) -> str | None:
        template = workflow.definition.target
        if template is None:
            return None
        value = render_value(template, {"params": dict(params)})
        return None if value in (None, "") else str(value)

    def reveal(self, execution_id: str, name: str, reader: str) -> str:
        """A sealed secret output, once, to the execution's actor only."""
        execution = self.get(execution_id)
        if reader != execution.actor:
            raise ExecutionStateError(
                f"only {execution.actor} may read the secret outputs of execution {execution_id}"
            )
        if self._sealer is None:
            raise ExecutionStateError("secret outputs are not kept by this gateway")
        with self.store.transaction() as tx:
            value = self._sealer.take(tx, execution_id, name, self._clock())
            self._record("execution.secret_read", execution, {"output": name, "by": reader})
        return value

    def cancel(self, execution_id: str, by: str) -> Execution:
        """Cancel an unfinished execution, undoing what it did; a running step finishes
        first and the rest is cancelled right after it."""
        execution = self.get(execution_id)
        if execution.state.finished:
            raise ExecutionStateError(f"execution {execution_id} is already {execution.state}")
        with self.store.transaction() as tx:
            tx.request_cancel(execution_id)
            self._record("execution.cancel_requested", execution, {"by": by})
        if execution.state is not ExecutionState.RUNNING:
            self._cancel_approvals(execution)
            self._finish_cancelled(self.get(execution_id), f"cancelled by {by}")
            return self.get(execution_id)
        return self.advance(execution_id)

    def tick(self) -> int:
        """Resume whatever can go on: orphaned steps, due timers, met obligations, systems
        that are back.  Returns how many executions were advanced."""
        now = self._clock()
        self._flush_all()
        self.recover(now)
        self._fire_timers(now)
        with self.store.transaction(write=False) as tx:
            due = tx.unfinished(due=now)
        for execution_id in due:
            self._advance_quietly(execution_id)
        if self._sealer is not None:
            with self.store.transaction() as tx:
                tx.purge_sealed(now)
        return len(due)

    def _fire_timers(self, now: datetime) -> None:
        with self.store.transaction(write=False) as tx:
            timers = tx.due_timers(now)
        for timer in timers:
            if self._covered(timer, now):
                continue
            try:
                started = self.start(
                    timer.workflow,
                    timer.parameters,
                    actor=self.settings.system_actor,
                    channel="schedule",
                    idempotency_key=f"timer:{timer.id}",
                    parent=timer.parent,
                )
            except TargetConflictError:
                continue  # something is acting on it now; try on the next tick
            except ExecutionError as exc:  # its workflow changed since: the rest goes on
                log.error("timer %s cannot start %s: %s", timer.id, timer.workflow, exc)
                continue
            with self.store.transaction() as tx:
                tx.timer_started(timer.id, started.id)
            self._advance_quietly(started.id)

    def _covered(self, timer: Timer, now: datetime) -> bool:
        """Whether ``timer`` ends a grant another live grant still covers; then the skip
        is audited and the timer marked, in one transaction (no record, no skip)."""
        parent = self.get(timer.parent)
        with self.store.transaction() as tx:
            workflow = Workflow.from_snapshot(
                tx.snapshot(parent.id), parent.workflow, parent.workflow_digest
            )
            expiry = any(
                step.schedule is not None
                and step.schedule.expiry
                and timer.id == f"{parent.id}:{step.id}"
                for step in workflow.definition.steps
            )
            found = covers(tx, timer.workflow, parent, now) if expiry else []
            if not found:
                return False
            tx.timer_started(timer.id, SKIPPED)
            self._append(
                AuditEvent(
                    type="execution.expiry_skipped",
                    actor=self.settings.system_actor,
                    resource=parent.target,
                    payload={
                        "execution": parent.id,
                        "workflow": parent.workflow,
                        "timer": timer.id,
                        "skipped": timer.workflow,
                        "parameters": timer.parameters,
                        "covered_by": [cover.as_json() for cover in found],
                        "why": "another live grant still covers this access",
                    },
                )
            )
        return True

    def recover(self, now: datetime | None = None) -> list[str]:
        """Steps left ``started`` by a process that is gone: run idempotent ones again, mark
        the others ``unknown`` and roll their executions back."""
        moment = now or self._clock()
        with self.store.transaction(write=False) as tx:
            orphans = tx.orphaned_steps(moment, alive=process_alive)
        recovered = []
        for execution_id, step_id in orphans:
            execution = self.get(execution_id)
            record = execution.step(step_id)
            action = self._action_of(execution, record)
            if action is not None and action.idempotent:
                with self.store.transaction() as tx:
                    tx.update_step(execution_id, step_id, state=StepState.PENDING, owner=None)
                    self._record(
                        "action.resumed",
                        execution,
                        {"step": step_id, "why": "interrupted; idempotent, run again"},
                    )
            else:
                self._fail(
                    execution,
                    record,
                    f"step {step_id} was interrupted and its outcome is unknown",
                    started=True,
                    state=StepState.UNKNOWN,
                )
            recovered.append(execution_id)
        return recovered

    def wake(self, execution_id: str) -> None:
        """Something it waits for may have changed (a vote, a step-up): look now."""
        self.submit(execution_id)

    def wake_stepped_up(self, actor: str) -> list[str]:
        """``actor`` stepped up: their executions waiting for it look again now."""
        with self.store.transaction(write=False) as tx:
            waiting = tx.awaiting_step_up(actor)
        for execution_id in waiting:
            self.submit(execution_id)
        return waiting

    def execution_for_approval(self, approval_id: str) -> str | None:
        with self.store.transaction(write=False) as tx:
            return tx.waiting_on_approval(approval_id)

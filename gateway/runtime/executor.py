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

import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.approvals.model import ApprovalRequest, ApprovalState
from gateway.audit.records import AuditEvent, format_time
from gateway.errors import (
    ActionFailedError,
    AuditError,
    GatewayError,
    TargetUnavailableError,
)
from gateway.expressions import ExpressionError, parse_expression, render_value
from gateway.policy.request import AccessRequest
from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.errors import (
    ExecutionError,
    ExecutionStateError,
    IdempotencyConflictError,
    ParameterError,
    TargetConflictError,
    UnknownExecutionError,
    UnknownWorkflowError,
)
from gateway.runtime.guard import (
    Allowed,
    DecisionMaker,
    Refused,
    StepGuard,
    WaitApproval,
)
from gateway.runtime.model import Execution, ExecutionState, StepRecord, StepState, Timer
from gateway.runtime.sealing import OutputSealer
from gateway.runtime.store import ExecutionStore, Transaction
from gateway.runtime.workflows import StepDefinition, Workflow, WorkflowCatalog

__all__ = ["Executor", "RuntimeSettings"]

log = logging.getLogger(__name__)
AuditSink = Callable[[AuditEvent], object]


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    system_actor: str = "svc-gateway"
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 300.0
    workers: int = 8


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def request_digest(workflow: str, parameters: Mapping[str, Any], ticket: str | None) -> str:
    """What an idempotency key stands for: the workflow, its parameters and the ticket."""
    body = json.dumps(
        {"workflow": workflow, "parameters": parameters, "ticket": ticket}, sort_keys=True
    )
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


class _Stop(Exception):
    """The execution cannot go on now (it waits, or it finished)."""


class Executor:
    """Starts and advances executions; safe to call from many threads and processes."""

    def __init__(
        self,
        gateway: DecisionMaker,
        workflows: WorkflowCatalog,
        actions: ActionRegistry,
        store: ExecutionStore,
        *,
        audit: AuditSink | None,
        sealer: OutputSealer | None = None,
        settings: RuntimeSettings = RuntimeSettings(),
        clock: Callable[[], datetime] = _utcnow,
        new_id: Callable[[], str] = _new_id,
        approval_opened: Callable[[ApprovalRequest], None] | None = None,
    ) -> None:
        actions.check_compensations()
        self.gateway = gateway
        self.workflows = workflows
        self.actions = actions
        self.store = store
        self.settings = settings
        self._audit = audit
        self._sealer = sealer
        self._clock = clock
        self._new_id = new_id
        self._guard = StepGuard(gateway, approval_opened=approval_opened)
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="action")
        # Background advances wait on their actions: they get their own threads, so they
        # never hold every action thread while waiting for one.
        self._background = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="execution"
        )
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._owner = _owner()
        self._closers: list[Callable[[], object]] = []

    # -- starting ----------------------------------------------------------------------

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

    # -- reading -----------------------------------------------------------------------

    def get(self, execution_id: str) -> Execution:
        with self.store.transaction(write=False) as tx:
            execution = tx.load(execution_id)
        if execution is None:
            raise UnknownExecutionError(execution_id)
        return execution

    def recent(self, *, actor: str | None = None, limit: int = 100) -> list[Execution]:
        with self.store.transaction(write=False) as tx:
            found = [tx.load(i) for i in tx.recent(actor=actor, limit=limit)]
        return [execution for execution in found if execution is not None]

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

    # -- advancing ---------------------------------------------------------------------

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
        execution = self.get(execution_id)
        if execution.state.finished:
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
        if record.state is not StepState.PENDING:
            raise RuntimeError(f"execution {execution_id}: step {record.step_id} is {record.state}")
        if record.next_attempt_at is not None and record.next_attempt_at > self._clock():
            return False
        try:
            return self._run_step(execution, workflow.definition.steps[index], record)
        except _Stop:
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

    def _run_step(self, execution: Execution, step: StepDefinition, record: StepRecord) -> bool:
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
        call = ActionCall(
            execution.id, record.step_id, execution.actor, plain, secrets, record.attempts + 1
        )
        return self._act(execution, record, action, call, decision_id, digest)

    def _request(
        self, execution: Execution, action: ActionSpec, plain: dict[str, Any], actor: str
    ) -> AccessRequest:
        if action.resource is None or action.permission is None:  # pragma: no cover
            raise RuntimeError(f"action {action.name} is not privileged")
        context: dict[str, Any] = {**action.context(plain), "channel": execution.channel}
        if execution.ticket is not None:
            context["ticket"] = execution.ticket
        context["parameters"] = plain
        return AccessRequest(
            actor=actor, action=action.permission, resource=action.resource(plain), context=context
        )

    def _authorise(
        self,
        execution: Execution,
        record: StepRecord,
        action: ActionSpec,
        plain: dict[str, Any],
        actor: str,
    ) -> tuple[str, str]:
        """The decision id and binding digest when allowed; otherwise the execution waits
        or fails and ``_Stop`` is raised."""
        request = self._request(execution, action, plain, actor)
        outcome = self._guard.check(request, record.approval_id)
        now = self._clock()
        if isinstance(outcome, Allowed):
            return outcome.decision.decision_id, outcome.digest
        if isinstance(outcome, Refused) and outcome.unavailable:
            self._defer(execution, record, action, "directory", outcome.reason, started=False)
            raise _Stop
        if isinstance(outcome, Refused):
            self._fail(
                execution,
                record,
                f"step {record.step_id} refused: {outcome.reason}",
                decision_id=outcome.decision_id,
            )
            raise _Stop
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
            raise _Stop
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
        raise _Stop

    def _wait(
        self,
        tx: Transaction,
        execution: Execution,
        state: ExecutionState,
        waiting: dict[str, Any],
        now: datetime,
        wake_at: datetime | None = None,
    ) -> None:
        if execution.state is not state or execution.waiting != waiting:
            self._record(f"execution.{state}", execution, waiting)
        tx.set_state(execution.id, state, now, waiting=waiting, wake_at=wake_at)

    # -- running an action -----------------------------------------------------------------

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
            reason = _failure(action, exc)
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

    def _call(self, action: ActionSpec, call: ActionCall) -> ActionOutput:
        future = self._pool.submit(action.run, call) if action.timeout_seconds else None
        if future is None:  # pragma: no cover - every action has a timeout
            return action.run(call)
        try:
            return future.result(timeout=action.timeout_seconds)
        except FutureTimeout:
            if future.cancel():  # it never started: every worker was busy
                raise TargetUnavailableError(
                    "gateway", f"{action.name} did not start within {action.timeout_seconds:g} s"
                ) from None
            raise

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
            self._record(
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

    # -- skipping and scheduling -------------------------------------------------------------

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

    # -- finishing ----------------------------------------------------------------------------

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
            self._record(
                "action.failed" if started else "step.refused",
                execution,
                {"step": record.step_id, "reason": reason},
                decision_id=decision_id,
            )
        self._roll_back(self.get(execution.id), reason, ExecutionState.FAILED)

    def _roll_back(self, execution: Execution, reason: str, final: ExecutionState) -> None:
        """Undo the succeeded steps, last first; ``final`` unless something was undone
        (then ``compensated``), or ``failed`` when an undo itself failed."""
        undone: list[str] = []
        problems: list[str] = []
        for record in reversed(execution.steps):
            if record.state is not StepState.SUCCEEDED:
                continue
            step_action = self._action_of(execution, record)
            if step_action is None or step_action.compensation is None or step_action.undo is None:
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

    def _action_of(self, execution: Execution, record: StepRecord) -> ActionSpec | None:
        with self.store.transaction(write=False) as tx:
            workflow = Workflow.from_snapshot(
                tx.snapshot(execution.id), execution.workflow, execution.workflow_digest
            )
        step = workflow.definition.steps[record.index]
        return None if step.action is None else self.actions.get(step.action)

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
            reason = _failure(undo, exc)
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
            self._record(
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
            self._record_quietly("execution.finished", execution, payload)

    def _finish_cancelled(self, execution: Execution, reason: str) -> None:
        self._roll_back(execution, reason, ExecutionState.CANCELLED)

    # -- cancelling -----------------------------------------------------------------------------

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

    def _cancel_approvals(self, execution: Execution) -> None:
        approvals = self.gateway.approvals
        for record in execution.steps:
            if (
                record.approval_id is not None
                and approvals is not None
                and approvals.get(record.approval_id).state is ApprovalState.PENDING
            ):
                approvals.cancel(record.approval_id, execution.actor)

    # -- the background work ----------------------------------------------------------------------

    def tick(self) -> int:
        """Resume whatever can go on: orphaned steps, due timers, met obligations, systems
        that are back.  Returns how many executions were advanced."""
        now = self._clock()
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

    def recover(self, now: datetime | None = None) -> list[str]:
        """Steps left ``started`` by a process that is gone: run idempotent ones again, mark
        the others ``unknown`` and roll their executions back."""
        moment = now or self._clock()
        with self.store.transaction(write=False) as tx:
            orphans = tx.orphaned_steps(moment, alive=_alive)
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

    # -- audit ----------------------------------------------------------------------------------

    def _record(
        self,
        kind: str,
        execution: Execution,
        payload: dict[str, Any],
        *,
        decision_id: str | None = None,
        action: str | None = None,
    ) -> None:
        """Append to the audit log (raises ``AuditWriteError``: the caller's transaction
        then rolls back)."""
        if self._audit is None:
            return
        self._audit(
            AuditEvent(
                type=kind,
                actor=execution.actor,
                action=action,
                resource=execution.target,
                decision_id=decision_id,
                payload={"execution": execution.id, "workflow": execution.workflow, **payload},
            )
        )

    def _record_quietly(self, kind: str, execution: Execution, payload: dict[str, Any]) -> None:
        """For records after the fact (a failure, the end): a failing audit log must not
        leave the execution unfinished, so the failure is logged instead."""
        try:
            self._record(kind, execution, payload)
        except AuditError as exc:
            log.error("execution %s: %s not audited: %s", execution.id, kind, exc)

    def close_with(self, closer: Callable[[], object]) -> None:
        """Close ``closer`` (a connector the actions use) when the executor closes."""
        self._closers.append(closer)

    def close(self) -> None:
        self._background.shutdown(wait=True)  # first: a running advance still needs actions
        self._pool.shutdown(wait=True)
        for closer in reversed(self._closers):
            closer()
        self.store.close()


def _failure(action: ActionSpec, exc: BaseException) -> str:
    if isinstance(exc, FutureTimeout):
        return f"{action.name} timed out after {action.timeout_seconds:g} s"
    if isinstance(exc, GatewayError):
        return str(exc)
    return f"{action.name} raised {type(exc).__name__}"


def _alive(owner: str) -> bool:
    """Whether the process named by ``owner`` (host:pid) may still be running."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine: only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True

"""What every part of the executor shares: its parts, settings, reading, audit records.

``ExecutorCore`` holds the gateway, the workflows and actions, the store and the thread
pools; the steps (``stepping``), the rollback (``rollback``) and the public executor
(``executor``) build on it.
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.approvals.model import ApprovalRequest
from gateway.audit.records import AuditEvent, format_time
from gateway.audit.sink import AuditSink
from gateway.clock import Clock, utcnow
from gateway.enforcement.step_guard import (
    DecisionMaker,
    StepGuard,
)
from gateway.errors import (
    AuditError,
    GatewayError,
    TargetUnavailableError,
)
from gateway.policy.request import AccessRequest
from gateway.runtime import outbox
from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.errors import (
    UnknownExecutionError,
)
from gateway.runtime.model import Execution, ExecutionState, StepRecord
from gateway.runtime.sealing import OutputSealer
from gateway.runtime.store import ExecutionStore, Transaction
from gateway.runtime.workflows import Workflow, WorkflowCatalog

__all__ = [
    "ExecutorCore",
    "RuntimeSettings",
    "StopHere",
    "failure_reason",
    "process_alive",
    "request_digest",
]

log = logging.getLogger("gateway.runtime.executor")


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    system_actor: str = "svc-gateway"
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 300.0
    workers: int = 8


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


class StopHere(Exception):
    """The execution cannot go on now (it waits, or it finished)."""


class ExecutorCore:
    """The executor's parts and what every layer of it needs."""

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
        clock: Clock = utcnow,
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
        # who is told when a step opens an approval (self-service runs tell the same people)
        self.approval_opened = approval_opened
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

    def _action_of(self, execution: Execution, record: StepRecord) -> ActionSpec | None:
        with self.store.transaction(write=False) as tx:
            workflow = Workflow.from_snapshot(
                tx.snapshot(execution.id), execution.workflow, execution.workflow_digest
            )
        step = workflow.definition.steps[record.index]
        return None if step.action is None else self.actions.get(step.action)

    def _event(
        self,
        kind: str,
        execution: Execution,
        payload: dict[str, Any],
        *,
        decision_id: str | None = None,
        action: str | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            type=kind,
            actor=execution.actor,
            action=action,
            resource=execution.target,
            decision_id=decision_id,
            payload={"execution": execution.id, "workflow": execution.workflow, **payload},
        )

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
        self._append(self._event(kind, execution, payload, decision_id=decision_id, action=action))

    def _append(self, event: AuditEvent) -> None:
        if self._audit is not None:
            self._audit(event)

    def _record_after(
        self,
        tx: Transaction,
        kind: str,
        execution: Execution,
        payload: dict[str, Any],
        *,
        decision_id: str | None = None,
        action: str | None = None,
    ) -> str | None:
        """Record an outcome that already happened: appended now, or kept in ``tx`` (which
        then commits the outcome) to be written later, when the log refuses it or earlier
        records of the execution still wait (``outbox``).  Why it was kept, or None."""
        if self._audit is None:
            return None
        event = self._event(kind, execution, payload, decision_id=decision_id, action=action)
        why = "earlier records of this execution are not written yet"
        if not outbox.held(tx, execution.id):
            try:
                self._audit(event)
                return None
            except AuditError as exc:
                why = str(exc)
                log.error(
                    "execution %s: %s not audited: %s; kept to be written later",
                    execution.id,
                    kind,
                    why,
                )
        outbox.hold(tx, execution.id, event)
        return why

    def _record_quietly(self, kind: str, execution: Execution, payload: dict[str, Any]) -> None:
        """For a record after the fact in a transaction of its own (a failed undo)."""
        with self.store.transaction() as tx:
            self._record_after(tx, kind, execution, payload)

    def _wait_for_audit(
        self, tx: Transaction, execution: Execution, step: str, detail: str, now: datetime
    ) -> None:
        """The execution waits until its kept records are written; ``error`` stays."""
        next_at = now + timedelta(seconds=self.settings.backoff_seconds)
        waiting = {
            "kind": "audit",
            "step": step,
            "system": "audit log",
            "next_at": format_time(next_at),
            "detail": detail,
        }
        tx.set_state(
            execution.id,
            ExecutionState.WAITING_FOR_TARGET,
            now,
            waiting=waiting,
            error=execution.error,
            wake_at=next_at,
        )

    def _flush(self, execution: Execution) -> Execution | None:
        """Write the records kept for ``execution``, oldest first: the execution as it
        is then, or None while the log still refuses them (it goes on waiting)."""
        with self.store.transaction(write=False) as tx:
            kept = outbox.held(tx, execution.id)
        audit = self._audit
        if not kept or audit is None:
            return execution
        try:
            for seq, event in kept:
                with self.store.transaction() as tx:
                    if outbox.release(tx, seq):  # not already written by another process
                        audit(event)
        except AuditError as exc:
            if not execution.state.finished:
                step = str((execution.waiting or {}).get("step", ""))
                with self.store.transaction() as tx:
                    self._wait_for_audit(tx, execution, step, str(exc), self._clock())
            return None
        if not execution.state.finished and (execution.waiting or {}).get("kind") == "audit":
            with self.store.transaction() as tx:
                tx.set_state(
                    execution.id, ExecutionState.RUNNING, self._clock(), error=execution.error
                )
        return self.get(execution.id)

    def _flush_all(self) -> None:
        """Write every kept record the log now takes."""
        with self.store.transaction(write=False) as tx:
            waiting = outbox.held_executions(tx)
        for execution_id in waiting:
            self._flush(self.get(execution_id))

    def close_with(self, closer: Callable[[], object]) -> None:
        """Close ``closer`` (a connector the actions use) when the executor closes."""
        self._closers.append(closer)

    def close(self) -> None:
        self._background.shutdown(wait=True)  # first: a running advance still needs actions
        self._pool.shutdown(wait=True)
        for closer in reversed(self._closers):
            closer()
        self.store.close()


def failure_reason(action: ActionSpec, exc: BaseException) -> str:
    if isinstance(exc, FutureTimeout):
        return f"{action.name} timed out after {action.timeout_seconds:g} s"
    if isinstance(exc, GatewayError):
        return str(exc)
    return f"{action.name} raised {type(exc).__name__}"


def process_alive(owner: str) -> bool:
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

"""The guarded executor: starts executions and advances them, step by step, along the
one guarded path (``pipeline``).

It is put together from collaborators, each with one job: the ``journal`` (the
execution's recorded history, in the store and the audit log), the ``pipeline`` (one
step: render, validate, decide, claim and audit first, call, record), the
``compensator`` (a failed or cancelled execution: what came before is undone), the
``requeue`` (a system that is down), the ``timers`` (workflows started later) and the
action ``runner`` (threads and timeouts).

After a crash, a step left ``started`` by a process that is gone (or cut short in this
one while the database was away) is run again when its action is idempotent, and
otherwise marked ``unknown`` and the execution rolled back (``recovery``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from gateway.approvals.model import ApprovalRequest
from gateway.audit.sink import AuditSink
from gateway.changes.requests import CHANGE_NUMBER, ChangeRequestSource
from gateway.clock import Clock, utcnow
from gateway.enforcement.step_guard import DecisionMaker, StepGuard
from gateway.expressions import render_value
from gateway.runtime.actions import ActionRegistry
from gateway.runtime.advancing import Advancer
from gateway.runtime.calls import ActionRunner
from gateway.runtime.change_notes import ChangeNotes
from gateway.runtime.compensator import Compensator
from gateway.runtime.deciding import StepDecider
from gateway.runtime.errors import (
    ChangeRequestError,
    ExecutionError,
    ExecutionStateError,
    IdempotencyConflictError,
    SecretReaderError,
    TargetConflictError,
)
from gateway.runtime.journal import Journal
from gateway.runtime.model import Execution, ExecutionState
from gateway.runtime.pipeline import StepPipeline
from gateway.runtime.recovery import Recovery
from gateway.runtime.requeue import Requeue
from gateway.runtime.sealing import OutputSealer
from gateway.runtime.settings import RuntimeSettings
from gateway.runtime.store import ExecutionStore
from gateway.runtime.timers import Timers
from gateway.runtime.workflows import Workflow, WorkflowCatalog

__all__ = ["Executor", "RuntimeSettings", "request_digest"]

log = logging.getLogger(__name__)


DEFAULT_SETTINGS = RuntimeSettings()


def _new_id() -> str:
    return uuid.uuid4().hex


def request_digest(workflow: str, parameters: Mapping[str, Any], ticket: str | None) -> str:
    """What an idempotency key stands for: the workflow, its parameters and the ticket."""
    body = json.dumps(
        {"workflow": workflow, "parameters": parameters, "ticket": ticket}, sort_keys=True
    )
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def _check_change(workflow: Workflow, number: str | None) -> None:
    declared = workflow.definition.change_request
    if number is None and declared == "required":
        raise ChangeRequestError(f"workflow {workflow.id} requires a change request")
    if number is not None and declared is None:
        raise ChangeRequestError(f"workflow {workflow.id} is not bound to change requests")
    if number is not None and not re.fullmatch(CHANGE_NUMBER, number):
        raise ChangeRequestError(f"change {number!r} is not a change number")


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
        settings: RuntimeSettings = DEFAULT_SETTINGS,
        clock: Clock = utcnow,
        new_id: Callable[[], str] = _new_id,
        approval_opened: Callable[[ApprovalRequest], None] | None = None,
        changes: ChangeRequestSource | None = None,
    ) -> None:
        actions.check_compensations()
        self.gateway = gateway
        self.workflows = workflows
        self.actions = actions
        self.store = store
        self.settings = settings
        # who is told when a step opens an approval (self-service runs tell the same people)
        self.approval_opened = approval_opened
        self._sealer = sealer
        self._clock = clock
        self._new_id = new_id
        # who this process is in the steps it claims
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        guard = StepGuard(gateway, approval_opened=approval_opened)
        journal = Journal(store, audit, clock, backoff_seconds=settings.backoff_seconds)
        runner = ActionRunner(settings.workers)
        compensator = Compensator(
            journal,
            actions,
            runner,
            gateway,
            guard,
            system_actor=settings.system_actor,
            clock=clock,
        )
        self._journal = journal
        self._runner = runner
        self._compensator = compensator
        self._timers = Timers(journal, workflows, system_actor=settings.system_actor, clock=clock)
        pipeline = StepPipeline(
            journal,
            StepDecider(gateway, guard, actions, store, changes=changes),
            runner,
            compensator,
            Requeue(journal, compensator, settings, clock),
            self._timers,
            actions,
            sealer=sealer,
            clock=clock,
            owner=self.owner,
        )
        self._recovery = Recovery(journal, compensator, pipeline, self.owner)
        self._advancer = Advancer(
            journal, pipeline, compensator, workers=settings.workers, clock=clock
        )
        self._closers: list[Callable[[], object]] = []
        # the summaries of finished executions, put on their change requests
        self.change_notes = ChangeNotes(store, changes, audit, clock)

    # -- reading -------------------------------------------------------------------------

    def get(self, execution_id: str) -> Execution:
        return self._journal.get(execution_id)

    def recent(self, *, actor: str | None = None, limit: int = 100) -> list[Execution]:
        return self._journal.recent(actor=actor, limit=limit)

    def execution_for_approval(self, approval_id: str) -> str | None:
        with self.store.transaction(write=False) as tx:
            return tx.waiting_on_approval(approval_id)

    # -- starting ------------------------------------------------------------------------

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
        change_request: str | None = None,
    ) -> Execution:
        """Record a new execution (not yet run: call ``advance``), or return the one the
        same idempotency key started for the same request; ``change_request`` is the
        change number it acts under (checked before each privileged step)."""
        workflow = self.workflows.get(workflow_id)
        _check_change(workflow, change_request)
        plain, _ = workflow.parameter_set.validate(parameters)
        digest = request_digest(workflow.id, plain, ticket)
        if change_request is not None:
            digest = request_digest(workflow.id, {"change": change_request, **plain}, ticket)
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
                change_request=change_request,
                idempotency_key=idempotency_key,
                request_digest=digest,
                parent=parent,
            )
            tx.insert(execution, workflow.snapshot(), [s.id for s in workflow.definition.steps])
            self._journal.record(
                "execution.started",
                execution,
                {
                    "workflow": workflow.id,
                    "version": workflow.definition.version,
                    "workflow_digest": workflow.digest,
                    "parameters": plain,
                    "channel": channel,
                    "ticket": ticket,
                    "change_request": change_request,
                    "target": target,
                    "parent": parent,
                },
            )
        return execution

    def acting_on(self, workflow_id: str, parameters: Mapping[str, object]) -> tuple[str, str]:
        """The target an execution of ``workflow_id`` with ``parameters`` would lock, and
        the unfinished execution holding it now (``""`` when free, or the workflow names
        no target); nothing is started."""
        workflow = self.workflows.get(workflow_id)
        plain, _ = workflow.parameter_set.validate(parameters)
        target = self._target(workflow, plain)
        if target is None:
            return "", ""
        with self.store.transaction(write=False) as tx:
            return target, tx.active_on(target) or ""

    def _target(self, workflow: Workflow, params: Mapping[str, Any]) -> str | None:
        template = workflow.definition.target
        if template is None:
            return None
        value = render_value(template, {"params": dict(params)})
        return None if value in (None, "") else str(value)

    # -- advancing -----------------------------------------------------------------------

    def advance(self, execution_id: str) -> Execution:
        """Run the execution's steps until it waits or finishes; returns where it is.
        A finished execution bound to a change has its summary put on the change."""
        execution = self._advancer.advance(execution_id)
        if execution.state.finished and execution.change_request is not None:
            self.change_notes.flush()
        return execution

    def submit(self, execution_id: str) -> None:
        """Advance ``execution_id`` in the background."""
        self._advancer.submit(execution_id)

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

    def cancel(self, execution_id: str, by: str) -> Execution:
        """Cancel an unfinished execution, undoing what it did; a running step finishes
        first and the rest is cancelled right after it."""
        execution = self.get(execution_id)
        if execution.state.finished:
            raise ExecutionStateError(f"execution {execution_id} is already {execution.state}")
        with self.store.transaction() as tx:
            tx.request_cancel(execution_id)
            self._journal.record("execution.cancel_requested", execution, {"by": by})
        if execution.state is not ExecutionState.RUNNING:
            self._compensator.cancel_approvals(execution)
            self._compensator.cancel(self.get(execution_id), f"cancelled by {by}")
            return self.get(execution_id)
        return self.advance(execution_id)

    def reveal(self, execution_id: str, name: str, reader: str) -> str:
        """A sealed secret output, once, to the execution's actor only."""
        execution = self.get(execution_id)
        if reader != execution.actor:
            raise SecretReaderError(
                f"only {execution.actor} may read the secret outputs of execution {execution_id}"
            )
        if self._sealer is None:
            raise ExecutionStateError("secret outputs are not kept by this gateway")
        with self.store.transaction() as tx:
            value = self._sealer.take(tx, execution_id, name, self._clock())
            self._journal.record("execution.secret_read", execution, {"output": name, "by": reader})
        return value

    # -- the background beat -------------------------------------------------------------

    def tick(self) -> int:
        """Resume whatever can go on: orphaned steps, due timers, met obligations, systems
        that are back.  Returns how many executions were advanced."""
        now = self._clock()
        self._journal.flush_all()
        self.recover(now)
        self._fire_timers(now)
        with self.store.transaction(write=False) as tx:
            due = tx.unfinished(due=now)
        for execution_id in due:
            self._advancer.advance_quietly(execution_id)
        self.change_notes.flush()
        if self._sealer is not None:
            with self.store.transaction() as tx:
                tx.purge_sealed(now)
        return len(due)

    def _fire_timers(self, now: datetime) -> None:
        for timer in self._timers.due(now):
            if self._timers.skip_covered(timer, now):
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
            self._timers.started(timer, started.id)
            self._advancer.advance_quietly(started.id)

    def recover(self, now: datetime | None = None) -> list[str]:
        """Steps left ``started`` with nobody running them (their process is gone, or
        this process's thread was cut short): store an outcome this process kept, give a
        step it claimed and never called back to be called once, run idempotent ones
        again, mark the others ``unknown`` and roll their executions back.  The
        executions looked at."""
        return self._recovery.recover()

    def recover_own(self) -> list[str]:
        """``recover`` for this process's own steps only: every process runs it on each
        beat, whoever holds the lease on ``tick``."""
        return self._recovery.recover(own_only=True)

    def watch_hosts(self, alive: Callable[[str], bool]) -> None:
        """How to tell whether a process of another host (``host:pid``) still lives (its
        liveness lease); without it, such a process is taken to live."""
        self._recovery.elsewhere = alive

    # -- closing -------------------------------------------------------------------------

    def close_with(self, closer: Callable[[], object]) -> None:
        """Close ``closer`` (a connector the actions use) when the executor closes."""
        self._closers.append(closer)

    def close(self) -> None:
        self._advancer.close()  # first: a running advance still needs actions
        self._runner.close()
        for closer in reversed(self._closers):
            closer()
        self.store.close()

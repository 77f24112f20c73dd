"""A run's workflow executions: starting them (exactly once), following them, and
bringing the run's own state up to date from theirs.

Each execution is started with the idempotency key ``catalog:<run>:<n>``, so starting a
run's executions again (after a crash, or from two processes) gives the same executions.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.clock import Clock
from gateway.runtime.errors import ExecutionError
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution, ExecutionState
from gateway.selfservice.model import Run, RunState
from gateway.selfservice.store import RunStore, RunTransaction

__all__ = ["RunKeeper"]

log = logging.getLogger(__name__)


def run_event(
    kind: str, run: Run, payload: dict[str, Any], decision_id: str | None = None
) -> AuditEvent:
    return AuditEvent(
        type=kind,
        actor=run.actor,
        action="selfservice.run",
        resource=f"catalog_item:{run.item}",
        decision_id=decision_id,
        payload={"run": run.id, "item": run.item, "version": run.item_version, **payload},
    )


def _outcome(executions: list[Execution], error: str | None) -> RunState:
    states = {execution.state for execution in executions}
    if not executions or error is not None:
        return RunState.FAILED
    if states == {ExecutionState.SUCCEEDED}:
        return RunState.SUCCEEDED
    if ExecutionState.CANCELLED in states and states <= {
        ExecutionState.CANCELLED,
        ExecutionState.SUCCEEDED,
    }:
        return RunState.CANCELLED
    return RunState.FAILED


class RunKeeper:
    def __init__(
        self,
        executor: Executor,
        store: RunStore,
        audit: AuditSink | None,
        clock: Clock,
    ) -> None:
        self.executor = executor
        self.store = store
        self._audit = audit
        self._clock = clock

    def record(self, event: AuditEvent) -> None:
        """Append to the audit log; a failure raises and rolls the caller's
        transaction back."""
        if self._audit is not None:
            self._audit(event)

    # -- following -----------------------------------------------------------------------

    def synced(self, run: Run) -> Run:
        """The run as its executions say it is now (not stored)."""
        if run.state is not RunState.RUNNING:
            return run
        executions = [self.executor.get(i) for i in run.executions]
        status = "; ".join(f"{e.target or e.workflow}: {e.status}" for e in executions)
        if run.error is not None:
            status = f"{status}; {run.error}" if status else run.error
        if executions and not all(e.state.finished for e in executions):
            waiting = next(
                ({"execution": e.id, **e.waiting} for e in executions if e.waiting), None
            )
            return replace(run, status=status, waiting=waiting)
        failures = [f"{e.target or e.workflow}: {e.error}" for e in executions if e.error]
        error = "; ".join(filter(None, [run.error, *failures])) or None
        state = _outcome(executions, run.error)
        if state is RunState.CANCELLED:
            error = None
        now = self._clock()
        return replace(
            run,
            state=state,
            status=status,
            waiting=None,
            error=error,
            finished_at=now,
            updated_at=now,
        )

    def resync(self, tx: RunTransaction, run_id: str) -> Run:
        """Load, bring up to date and store the run (inside ``tx``)."""
        run = tx.load(run_id)
        if run is None:  # pragma: no cover - ids come from the same store
            raise RuntimeError(f"run {run_id} vanished")
        current = self.synced(run)
        if current != run:
            tx.update(current)
            if current.state.finished:
                minutes = run.minutes_saved if current.state is RunState.SUCCEEDED else 0
                self.record(
                    run_event(
                        "selfservice.run_finished",
                        current,
                        {
                            "state": str(current.state),
                            "minutes_saved": minutes,
                            "error": current.error,
                        },
                    )
                )
        return current

    def sync(self, run_id: str) -> Run:
        with self.store.transaction() as tx:
            return self.resync(tx, run_id)

    # -- starting ------------------------------------------------------------------------

    def start(
        self,
        run: Run,
        workflow: str,
        plans: list[dict[str, Any]],
        channel: str,
        *,
        background: bool = False,
    ) -> Run:
        """Start one execution per plan (idempotently) and run them until they wait or
        finish (or hand them to the executor's background threads)."""
        started: list[str] = []
        errors: list[str] = []
        for index, parameters in enumerate(plans):
            try:
                execution = self.executor.start(
                    workflow,
                    parameters,
                    actor=run.actor,
                    channel=channel,
                    ticket=run.ticket,
                    idempotency_key=f"catalog:{run.id}:{index}",
                )
            except ExecutionError as exc:
                errors.append(str(exc))
                continue
            started.append(execution.id)
        now = self._clock()
        running = replace(
            run,
            state=RunState.RUNNING,
            executions=tuple(started),
            waiting=None,
            error="; ".join(errors) or None,
            updated_at=now,
        )
        with self.store.transaction() as tx:
            tx.update(running)
            self.record(
                run_event(
                    "selfservice.run_started",
                    running,
                    {"executions": list(started), "errors": errors},
                    running.decision_id,
                )
            )
        for execution_id in started:
            if background:
                self.executor.submit(execution_id)
            else:
                self.executor.advance(execution_id)
        return self.sync(run.id)

    def advance(self, run: Run) -> Run:
        """Let the run's unfinished executions go on where they can."""
        for execution_id in run.executions:
            self.executor.advance(execution_id)  # a finished one returns at once
        return self.sync(run.id)

    def cancel_executions(self, run: Run, by: str) -> Run:
        for execution_id in run.executions:
            if not self.executor.get(execution_id).state.finished:
                try:
                    self.executor.cancel(execution_id, by)
                except ExecutionError as exc:  # pragma: no cover - finished meanwhile
                    log.info("run %s: execution %s: %s", run.id, execution_id, exc)
        return self.sync(run.id)

"""The journal: an execution's recorded history, in the store and in the audit log.

Every change of an execution goes through here, with its audit record.  A record of a
change that has not happened yet is appended first (``record``: if the log refuses it,
the caller's transaction rolls back and nothing changes).  A record of an outcome that
already happened is appended now or kept with the outcome in the same transaction and
written later, oldest first (``record_after``, ``outbox``); until then the execution
waits for the log and nothing new is started for it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from gateway.audit.records import AuditEvent, format_time
from gateway.audit.sink import AuditSink
from gateway.clock import Clock
from gateway.errors import AuditError
from gateway.runtime import outbox
from gateway.runtime.change_notes import queue_note, summary
from gateway.runtime.errors import UnknownExecutionError
from gateway.runtime.model import Execution, ExecutionState
from gateway.runtime.store import ExecutionStore, Transaction
from gateway.runtime.workflows import Workflow

__all__ = ["Journal"]

log = logging.getLogger("gateway.runtime.executor")


class Journal:
    def __init__(
        self,
        store: ExecutionStore,
        audit: AuditSink | None,
        clock: Clock,
        *,
        backoff_seconds: float,
    ) -> None:
        self.store = store
        self._audit = audit
        self._clock = clock
        self._backoff_seconds = backoff_seconds

    # -- reading -------------------------------------------------------------------------

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

    def workflow_of(self, execution: Execution) -> Workflow:
        """The workflow as it was when ``execution`` started."""
        with self.store.transaction(write=False) as tx:
            return Workflow.from_snapshot(
                tx.snapshot(execution.id), execution.workflow, execution.workflow_digest
            )

    # -- recording -----------------------------------------------------------------------

    def event(
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
            payload={
                "execution": execution.id,
                "workflow": execution.workflow,
                **(
                    {}
                    if execution.change_request is None
                    else {"change_request": execution.change_request}
                ),
                **payload,
            },
        )

    def record(
        self,
        kind: str,
        execution: Execution,
        payload: dict[str, Any],
        *,
        decision_id: str | None = None,
        action: str | None = None,
    ) -> None:
        """Append first (raises ``AuditWriteError``: the caller's transaction then rolls
        back and the change does not happen)."""
        self.append(self.event(kind, execution, payload, decision_id=decision_id, action=action))

    def append(self, event: AuditEvent) -> None:
        if self._audit is not None:
            self._audit(event)

    def record_after(
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
        event = self.event(kind, execution, payload, decision_id=decision_id, action=action)
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

    def record_quietly(self, kind: str, execution: Execution, payload: dict[str, Any]) -> None:
        """For a record after the fact in a transaction of its own (a failed undo)."""
        with self.store.transaction() as tx:
            self.record_after(tx, kind, execution, payload)

    # -- states --------------------------------------------------------------------------

    def wait(
        self,
        tx: Transaction,
        execution: Execution,
        state: ExecutionState,
        waiting: dict[str, Any],
        now: datetime,
        wake_at: datetime | None = None,
    ) -> None:
        """The execution waits for ``waiting``; audited when that is news."""
        if execution.state is not state or execution.waiting != waiting:
            self.record(f"execution.{state}", execution, waiting)
        tx.set_state(execution.id, state, now, waiting=waiting, wake_at=wake_at)

    def wait_for_audit(
        self, tx: Transaction, execution: Execution, step: str, detail: str, now: datetime
    ) -> None:
        """The execution waits until its kept records are written; ``error`` stays."""
        next_at = now + timedelta(seconds=self._backoff_seconds)
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

    def finish(
        self,
        execution: Execution,
        state: ExecutionState,
        reason: str | None,
        *,
        undone: list[str] | None = None,
    ) -> None:
        payload: dict[str, Any] = {"state": str(state), "reason": reason}
        if undone:
            payload["compensated"] = undone
        now = self._clock()
        with self.store.transaction() as tx:
            tx.set_state(execution.id, state, now, error=reason)
            self.record_after(tx, "execution.finished", execution, payload)
            queue_note(tx, execution, summary(execution, state, reason), now)

    # -- kept records --------------------------------------------------------------------

    def flush(self, execution: Execution) -> Execution | None:
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
                    self.wait_for_audit(tx, execution, step, str(exc), self._clock())
            return None
        if not execution.state.finished and (execution.waiting or {}).get("kind") == "audit":
            with self.store.transaction() as tx:
                tx.set_state(
                    execution.id, ExecutionState.RUNNING, self._clock(), error=execution.error
                )
        return self.get(execution.id)

    def flush_all(self) -> None:
        """Write every kept record the log now takes."""
        with self.store.transaction(write=False) as tx:
            waiting = outbox.held_executions(tx)
        for execution_id in waiting:
            self.flush(self.get(execution_id))

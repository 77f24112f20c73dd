"""A step whose system is down goes back to the queue, with exponential backoff.

After its last attempt it fails (and what came before it is undone).  While the audit
log itself is down the step only waits, however long: failing needs a record too.
"""

from __future__ import annotations

from datetime import timedelta

from gateway.audit.records import format_time
from gateway.clock import Clock
from gateway.errors import AuditError
from gateway.runtime.actions import ActionSpec
from gateway.runtime.compensator import Compensator
from gateway.runtime.journal import Journal
from gateway.runtime.model import Execution, ExecutionState, StepRecord, StepState
from gateway.runtime.outcomes import Retry
from gateway.runtime.settings import RuntimeSettings
from gateway.runtime.store import Transaction

__all__ = ["Requeue"]


class Requeue:
    def __init__(
        self,
        journal: Journal,
        compensator: Compensator,
        settings: RuntimeSettings,
        clock: Clock,
    ) -> None:
        self._journal = journal
        self._compensator = compensator
        self._settings = settings
        self._clock = clock

    def defer(
        self, execution: Execution, record: StepRecord, action: ActionSpec, retry: Retry
    ) -> None:
        """Back to the queue with backoff, or failed after the last try."""
        now = self._clock()
        attempts = record.attempts + 1
        limit = action.max_attempts or self._settings.max_attempts
        if attempts >= limit and not retry.audit_down:
            self._compensator.fail(
                execution,
                record,
                f"step {record.step_id}: {retry.system} still unavailable after {attempts} "
                f"attempts: {retry.detail}",
                started=retry.started,
            )
            return
        delay = min(
            self._settings.backoff_seconds * 2 ** (attempts - 1),
            self._settings.max_backoff_seconds,
        )
        next_at = now + timedelta(seconds=delay)
        waiting = {
            "kind": "target",
            "step": record.step_id,
            "system": retry.system,
            "attempts": attempts,
            "next_at": format_time(next_at),
            "detail": retry.detail,
        }
        state = ExecutionState.WAITING_FOR_TARGET
        store = self._journal.store

        def back_in_queue(tx: Transaction) -> None:
            tx.update_step(
                execution.id,
                record.step_id,
                state=StepState.PENDING,
                attempts=attempts,
                next_attempt_at=next_at,
                error=retry.detail,
            )

        try:
            with store.transaction() as tx:
                back_in_queue(tx)
                self._journal.wait(tx, execution, state, waiting, now, wake_at=next_at)
        except AuditError:
            with store.transaction() as tx:  # no record possible: keep the state
                back_in_queue(tx)
                tx.set_state(execution.id, state, now, waiting=waiting, wake_at=next_at)

"""Advancing executions: one thread at a time per execution, step after step.

``advance`` runs an execution's next steps through the ``pipeline`` until it waits or
finishes; the execution's records kept for the audit log are written first, a cancel
that was asked for rolls it back, and a failure whose record was kept is rolled back
once that record is written.  ``submit`` does the same on background threads of their
own, so they never hold every action thread while waiting for one.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from gateway.clock import Clock
from gateway.runtime.compensator import Compensator
from gateway.runtime.journal import Journal
from gateway.runtime.model import Execution, ExecutionState, StepState
from gateway.runtime.pipeline import StepPipeline

__all__ = ["Advancer"]

log = logging.getLogger("gateway.runtime.executor")


class Advancer:
    def __init__(
        self,
        journal: Journal,
        pipeline: StepPipeline,
        compensator: Compensator,
        *,
        workers: int,
        clock: Clock,
    ) -> None:
        self._journal = journal
        self._pipeline = pipeline
        self._compensator = compensator
        self._clock = clock
        self._background = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="execution")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    def submit(self, execution_id: str) -> None:
        """Advance ``execution_id`` in the background."""
        self._background.submit(self.advance_quietly, execution_id)

    def advance_quietly(self, execution_id: str) -> None:
        try:
            self.advance(execution_id)
        except Exception:
            log.exception("execution %s could not advance", execution_id)

    def advance(self, execution_id: str) -> Execution:
        """Run the execution's steps until it waits or finishes; returns where it is."""
        with self._busy_lock:
            if execution_id in self._busy:
                return self._journal.get(execution_id)
            self._busy.add(execution_id)
        try:
            while self._step_once(execution_id):
                pass
            return self._journal.get(execution_id)
        finally:
            with self._busy_lock:
                self._busy.discard(execution_id)

    def _step_once(self, execution_id: str) -> bool:
        """Do the next thing; False when there is nothing more to do now."""
        execution = self._journal.flush(self._journal.get(execution_id))
        if execution is None or execution.state.finished:
            return False
        if execution.cancel_requested:
            self._compensator.cancel(execution, "cancelled on request")
            return False
        record = next(
            (r for r in execution.steps if r.state not in (StepState.SUCCEEDED, StepState.SKIPPED)),
            None,
        )
        if record is None:
            self._journal.finish(execution, ExecutionState.SUCCEEDED, None)
            return False
        if record.state is StepState.STARTED:
            return False  # running elsewhere, or orphaned (``recover`` decides)
        if record.state is StepState.FAILED and execution.error is not None:
            self._compensator.resume(execution)  # its failure is on record now
            return False
        if record.state is not StepState.PENDING:
            raise RuntimeError(f"execution {execution_id}: step {record.step_id} is {record.state}")
        if record.next_attempt_at is not None and record.next_attempt_at > self._clock():
            return False
        workflow = self._journal.workflow_of(execution)
        return self._pipeline.run(execution, workflow, record)

    def close(self) -> None:
        """Wait for the advances running in the background."""
        self._background.shutdown(wait=True)

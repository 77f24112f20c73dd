"""Steps left ``started`` with nobody running them.

A step is orphaned when the process that claimed it is gone (on this host: no such
pid; on another host: its liveness lease has expired, as ``elsewhere`` tells), or when
it is this process's own and no thread of it runs the step any more (the database went
away after the action ran and before its outcome was stored).  An outcome this process
kept in memory is stored then, its audit record written once; otherwise an idempotent
action is simply run again (``action.resumed``), and any other is marked ``unknown``,
since what it did cannot be known, and its execution is rolled back: an action that may
have run is never run again unless it is idempotent.

One of its own steps this process claimed and never called (the claim's commit reached
the database, its reply was lost) is known never to have run: it is given back to be
called once (``action.not_called``), whatever its action.  Another process cannot know
that, so a step of a dead process is always settled as above.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from gateway.runtime.compensator import Compensator
from gateway.runtime.journal import Journal
from gateway.runtime.model import StepState
from gateway.runtime.pipeline import StepPipeline

__all__ = ["Recovery", "process_alive"]


def process_alive(owner: str, elsewhere: Callable[[str], bool] | None = None) -> bool:
    """Whether the process named by ``owner`` (host:pid) may still be running; a process
    on another host is asked of ``elsewhere`` (its lease), alive when there is none."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True if elsewhere is None else elsewhere(owner)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


class Recovery:
    """Finds and settles orphaned steps; ``owner`` names this process as its claims do."""

    def __init__(
        self, journal: Journal, compensator: Compensator, pipeline: StepPipeline, owner: str
    ) -> None:
        self._journal = journal
        self._compensator = compensator
        self._pipeline = pipeline
        self.owner = owner
        self.elsewhere: Callable[[str], bool] | None = None

    def recover(self, *, own_only: bool = False) -> list[str]:
        """Settle the orphaned steps (with ``own_only``, only this process's own); the
        executions looked at."""
        steps = self._pipeline.steps
        idle = steps.idle_uncalled()  # before the read: their claims are settled by then
        with self._journal.store.transaction(write=False) as tx:
            started = tx.started_steps()
        ours = {(e, s) for e, s, owner in started if owner == self.owner}
        for key in idle - ours:  # claims that were never stored
            steps.forget_uncalled(key)
        recovered = []
        for execution_id, step_id, owner in started:
            if owner == self.owner:
                settled = self._own(execution_id, step_id)
            elif own_only or (owner is not None and process_alive(owner, self.elsewhere)):
                settled = False
            else:
                settled = self._settle(execution_id, step_id)
            if settled:
                recovered.append(execution_id)
        kept = steps.all_kept()
        for outcome in [o for o in kept if o.key not in ours]:  # taken over meanwhile:
            self._pipeline.store(outcome)  # dropped by ``store``
            recovered.append(outcome.execution.id)
        return recovered

    def _own(self, execution_id: str, step_id: str) -> bool:
        steps = self._pipeline.steps
        if steps.running((execution_id, step_id)):  # first: a thread keeps, then leaves
            return False
        kept = steps.kept((execution_id, step_id))
        if kept is not None:
            self._pipeline.store(kept)
            return True
        with self._journal.store.transaction(write=False) as tx:  # its thread may have
            if not tx.still_started_by(execution_id, step_id, self.owner):  # just ended
                return False
        if steps.never_called((execution_id, step_id)):
            return self._release(execution_id, step_id)
        return self._settle(execution_id, step_id)

    def _release(self, execution_id: str, step_id: str) -> bool:
        """A step claimed here and never called goes back to be called once; its claim
        does not count as an attempt."""
        execution = self._journal.get(execution_id)
        attempts = execution.step(step_id).attempts
        with self._journal.store.transaction() as tx:
            tx.update_step(
                execution_id, step_id, state=StepState.PENDING, owner=None, attempts=attempts - 1
            )
            self._journal.record(
                "action.not_called",
                execution,
                {"step": step_id, "why": "claimed, never called: its claim's reply was lost"},
            )
        self._pipeline.steps.forget_uncalled((execution_id, step_id))
        return True

    def _settle(self, execution_id: str, step_id: str) -> bool:
        execution = self._journal.get(execution_id)
        record = execution.step(step_id)
        action = self._compensator.action_of(execution, record)
        if action is not None and action.idempotent:
            with self._journal.store.transaction() as tx:
                tx.update_step(execution_id, step_id, state=StepState.PENDING, owner=None)
                self._journal.record(
                    "action.resumed",
                    execution,
                    {"step": step_id, "why": "interrupted; idempotent, run again"},
                )
        else:
            self._compensator.fail(
                execution,
                record,
                f"step {step_id} was interrupted and its outcome is unknown",
                started=True,
                state=StepState.UNKNOWN,
            )
        return True

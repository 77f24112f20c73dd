"""The steps this process is running now, and the outcomes it could not store yet.

A step is ``started`` in the store from its claim until its outcome is stored.  If the
database goes away after the action ran and before its outcome was stored, the step
stays ``started`` while this process lives; recovery must tell such a step from one a
thread of this process is still running.  So a step is entered here *before* it is
claimed and left only after its outcome is stored or kept here (``keep``): a step
``started`` by this process, neither running nor kept, was cut short and is recovered
like one of a dead process.  A kept outcome is stored again once the store takes it,
with its audit record appended only if it was not appended already.

A step is also *uncalled* from its entry until its action is called.  The action is
called only once the claim's commit is acknowledged, so a step this process left
``started`` while still uncalled (the reply to the claim's commit was lost: the
connection dropped after ``COMMIT``) was claimed and never called: recovery gives it back
to be called once (``action.not_called``) rather than resuming or giving it up as one
whose outcome is unknown.  This is known only in the process that claimed it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gateway.runtime.actions import ActionOutput, ActionSpec
from gateway.runtime.model import Execution, StepRecord
from gateway.runtime.outcomes import Cleared

__all__ = ["Outcome", "RunningSteps", "StepKey"]

StepKey = tuple[str, str]  # (execution id, step id)


@dataclass(frozen=True)
class Outcome:
    """What an action did, to be stored with its audit record."""

    execution: Execution
    record: StepRecord
    action: ActionSpec
    output: ActionOutput
    cleared: Cleared
    on_record: bool = False  # its ``action.succeeded`` is in the audit log already
    kept: bool = False  # stored after the fact: only while the step is still ours

    @property
    def key(self) -> StepKey:
        return (self.execution.id, self.record.step_id)


class RunningSteps:
    """Thread-safe bookkeeping of the steps running here and the outcomes kept here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[StepKey] = set()  # one thread per execution (``advancing``)
        self._kept: dict[StepKey, Outcome] = {}
        self._uncalled: set[StepKey] = set()  # entered, its action not called yet

    def enter(self, key: StepKey) -> None:
        """The step runs here from now on; its action is not called yet."""
        with self._lock:
            self._running.add(key)
            self._uncalled.add(key)

    def calling(self, key: StepKey) -> None:
        """Its claim is acknowledged: the action is called now."""
        with self._lock:
            self._uncalled.discard(key)

    def never_called(self, key: StepKey) -> bool:
        """Whether this process entered the step and never called its action."""
        with self._lock:
            return key in self._uncalled

    def idle_uncalled(self) -> set[StepKey]:
        """The steps no thread runs any more whose action was never called here."""
        with self._lock:
            return self._uncalled - self._running

    def forget_uncalled(self, key: StepKey) -> None:
        with self._lock:
            self._uncalled.discard(key)

    def leave(self, key: StepKey) -> None:
        with self._lock:
            self._running.discard(key)

    def running(self, key: StepKey) -> bool:
        with self._lock:
            return key in self._running

    def keep(self, outcome: Outcome) -> None:
        with self._lock:
            self._kept[outcome.key] = outcome

    def kept(self, key: StepKey) -> Outcome | None:
        with self._lock:
            return self._kept.get(key)

    def all_kept(self) -> list[Outcome]:
        with self._lock:
            return list(self._kept.values())

    def forget(self, key: StepKey) -> None:
        with self._lock:
            self._kept.pop(key, None)

"""The steps this process is running now, and the outcomes it could not store yet.

A step is ``started`` in the store from its claim until its outcome is stored.  If the
database goes away after the action ran and before its outcome was stored, the step
stays ``started`` while this process lives; recovery must tell such a step from one a
thread of this process is still running.  So a step is entered here *before* it is
claimed and left only after its outcome is stored or kept here (``keep``): a step
``started`` by this process, neither running nor kept, was cut short and is recovered
like one of a dead process.  A kept outcome is stored again once the store takes it,
with its audit record appended only if it was not appended already.
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

    def enter(self, key: StepKey) -> None:
        with self._lock:
            self._running.add(key)

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

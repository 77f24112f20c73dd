"""Conflicts found at admission, before a run is charged to any quota or rate limit: a
submission identical to one still in flight gives that run back (what a double click
means), and a target that an execution or another admitted run is acting on refuses the
run, naming who holds it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gateway.runtime.executor import Executor
from gateway.selfservice.model import Refusal, RefusalReason, Run
from gateway.selfservice.store import RunTransaction

__all__ = ["TargetLocks", "busy_target", "in_flight", "target_locks"]

Resync = Callable[[RunTransaction, str], Run]
# Each planned execution's target and the execution holding it now ("" when free).
TargetLocks = list[tuple[str, str]]


def target_locks(executor: Executor, workflow: str, plans: Sequence[dict[str, Any]]) -> TargetLocks:
    """What the run's executions would lock, read before the admitting transaction."""
    locks = [executor.acting_on(workflow, plan) for plan in plans]
    return [(target, holder) for target, holder in locks if target]


def _busy(holder: str, target: str) -> Refusal:
    return Refusal(
        RefusalReason.TARGET_BUSY,
        f"{holder} is already acting on {target}; try again when it finishes",
    )


def busy_target(tx: RunTransaction, locks: TargetLocks, resync: Resync) -> Refusal | None:
    """The first target held by an unfinished execution or an unfinished run."""
    for target, execution in locks:
        if execution:
            return _busy(f"execution {execution}", target)
    for run_id, target in tx.holding([target for target, _ in locks]):
        if not resync(tx, run_id).state.finished:
            return _busy(f"run {run_id}", target)
    return None


def in_flight(tx: RunTransaction, actor: str, item: str, digest: str, resync: Resync) -> Run | None:
    """The person's unfinished run of exactly this request, brought up to date."""
    for run_id in tx.in_flight(actor, item, digest):
        run = resync(tx, run_id)
        if not run.state.finished:
            return run
    return None

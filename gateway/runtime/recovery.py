"""After a crash: steps left ``started`` by a process that is gone.

An idempotent action is simply run again (``action.resumed``); any other is marked
``unknown``, since what it did cannot be known, and its execution is rolled back.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

from gateway.runtime.compensator import Compensator
from gateway.runtime.journal import Journal
from gateway.runtime.model import StepState

__all__ = ["process_alive", "recover_orphans"]


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


def recover_orphans(journal: Journal, compensator: Compensator, now: datetime) -> list[str]:
    """Run idempotent orphaned steps again, fail the others; the executions looked at."""
    with journal.store.transaction(write=False) as tx:
        orphans = tx.orphaned_steps(now, alive=process_alive)
    recovered = []
    for execution_id, step_id in orphans:
        execution = journal.get(execution_id)
        record = execution.step(step_id)
        action = compensator.action_of(execution, record)
        if action is not None and action.idempotent:
            with journal.store.transaction() as tx:
                tx.update_step(execution_id, step_id, state=StepState.PENDING, owner=None)
                journal.record(
                    "action.resumed",
                    execution,
                    {"step": step_id, "why": "interrupted; idempotent, run again"},
                )
        else:
            compensator.fail(
                execution,
                record,
                f"step {step_id} was interrupted and its outcome is unknown",
                started=True,
                state=StepState.UNKNOWN,
            )
        recovered.append(execution_id)
    return recovered

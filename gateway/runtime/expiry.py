"""When a time-boxed grant ends: only access that no other live grant still covers goes.

The same holds when a grant is rolled back because a later step of its execution failed
(``expiry_workflow`` names the revocation of a workflow that has an ``expiry`` step): the
undo is skipped and audited (``compensation.skipped``) while another grant covers the access.

A schedule step marked ``expiry`` (the revocation of a time-boxed grant) ends what its
execution did.  When it is due, the other executions of the same workflow on the same
target are looked at; one still covers the access when it succeeded, no revocation (an
execution of the scheduled workflow on that target) succeeded after it, and it is
open-ended (nothing scheduled to end it) or its own end is still ahead.  While one
covers it, the scheduled workflow is not started: the skip is audited
(``execution.expiry_skipped``, with what covers it and until when) and the timer is
marked ``SKIPPED``; the covering grant's own end revokes the access later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.audit.records import format_time
from gateway.runtime.model import Execution
from gateway.runtime.store import Transaction
from gateway.runtime.workflows import Workflow

__all__ = ["SKIPPED", "Cover", "covers", "expiry_workflow"]

SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Cover:
    """Another execution that still grants what the timer would end, until when."""

    execution: str
    until: datetime | None  # None: open-ended

    def as_json(self) -> dict[str, str | None]:
        return {
            "execution": self.execution,
            "until": None if self.until is None else format_time(self.until),
        }


def covers(tx: Transaction, revocation: str, parent: Execution, now: datetime) -> list[Cover]:
    """The live executions, other than ``parent``, that still cover the access ``parent``
    granted and the workflow ``revocation`` ends (none for a workflow without a target:
    NULL equals nothing in SQL)."""
    rows = tx.db.execute(
        "SELECT id, number FROM executions WHERE workflow = ? AND target = ?"
        " AND state = 'succeeded' AND id != ? ORDER BY number",
        (parent.workflow, parent.target, parent.id),
    ).fetchall()
    found = []
    for execution_id, order in rows:
        revoked_since = tx.db.execute(
            "SELECT 1 FROM executions WHERE workflow = ? AND target = ?"
            " AND state = 'succeeded' AND number > ?",
            (revocation, parent.target, order),
        ).fetchone()
        if revoked_since is not None:
            continue
        ends = tx.timers_of(str(execution_id))
        if not ends:
            found.append(Cover(str(execution_id), None))
            continue
        ahead = [end.due_at for end in ends if end.started is None and end.due_at > now]
        if ahead:
            found.append(Cover(str(execution_id), max(ahead)))
    return found


def expiry_workflow(workflow: Workflow) -> str | None:
    """The revocation workflow of ``workflow``'s ``expiry`` step, or ``None`` when it has none."""
    for step in workflow.definition.steps:
        if step.schedule is not None and step.schedule.expiry:
            return step.schedule.workflow
    return None

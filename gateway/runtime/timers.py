"""Schedule steps and their timers: a workflow started later (the end of a time-boxed grant).

A schedule step renders when and with what the workflow starts, checks the parameters
against that workflow, and keeps a timer, audited in the same transaction.  When a timer
is due and it ends a grant that another live grant still covers (``expiry``), the skip is
audited and the timer marked instead of starting the workflow.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.audit.records import AuditEvent, format_time
from gateway.clock import Clock
from gateway.expressions import render_value
from gateway.runtime.errors import ParameterError
from gateway.runtime.expiry import SKIPPED, covers
from gateway.runtime.journal import Journal
from gateway.runtime.model import Execution, StepRecord, StepState, Timer
from gateway.runtime.workflows import StepDefinition, WorkflowCatalog

__all__ = ["Timers"]


class Timers:
    def __init__(
        self, journal: Journal, workflows: WorkflowCatalog, *, system_actor: str, clock: Clock
    ) -> None:
        self._journal = journal
        self._workflows = workflows
        self._system_actor = system_actor
        self._clock = clock

    def schedule(
        self, execution: Execution, step: StepDefinition, record: StepRecord, scope: dict[str, Any]
    ) -> None:
        """Keep the timer of a schedule step (raises ``ParameterError``, ``ExpressionError``
        or ``UnknownWorkflowError`` when it cannot be made)."""
        schedule = step.schedule
        if schedule is None:  # pragma: no cover - only schedule steps come here
            raise RuntimeError("not a schedule step")
        hours = render_value(schedule.after_hours, scope)
        if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
            raise ParameterError(
                f"step {step.id}", {"after_hours": f"expected whole hours, found {hours!r}"}
            )
        parameters = render_value(schedule.with_, scope)
        self._workflows.get(schedule.workflow).parameter_set.validate(parameters)
        now = self._clock()
        timer = Timer(
            id=f"{execution.id}:{step.id}",
            due_at=now + timedelta(hours=hours),
            workflow=schedule.workflow,
            parameters=parameters,
            parent=execution.id,
        )
        with self._journal.store.transaction() as tx:
            tx.add_timer(timer)
            tx.update_step(
                execution.id,
                record.step_id,
                state=StepState.SUCCEEDED,
                parameters=parameters,
                finished_at=now,
                output={"workflow": schedule.workflow, "due_at": format_time(timer.due_at)},
            )
            self._journal.record(
                "execution.scheduled",
                execution,
                {
                    "step": step.id,
                    "workflow": schedule.workflow,
                    "parameters": parameters,
                    "due_at": format_time(timer.due_at),
                },
            )

    def due(self, now: datetime) -> list[Timer]:
        with self._journal.store.transaction(write=False) as tx:
            return tx.due_timers(now)

    def started(self, timer: Timer, execution_id: str) -> None:
        with self._journal.store.transaction() as tx:
            tx.timer_started(timer.id, execution_id)

    def skip_covered(self, timer: Timer, now: datetime) -> bool:
        """Whether ``timer`` ends a grant another live grant still covers; then the skip
        is audited and the timer marked, in one transaction (no record, no skip)."""
        parent = self._journal.get(timer.parent)
        workflow = self._journal.workflow_of(parent)
        expiry = any(
            step.schedule is not None
            and step.schedule.expiry
            and timer.id == f"{parent.id}:{step.id}"
            for step in workflow.definition.steps
        )
        with self._journal.store.transaction() as tx:
            found = covers(tx, timer.workflow, parent, now) if expiry else []
            if not found:
                return False
            tx.timer_started(timer.id, SKIPPED)
            self._journal.append(
                AuditEvent(
                    type="execution.expiry_skipped",
                    actor=self._system_actor,
                    resource=parent.target,
                    payload={
                        "execution": parent.id,
                        "workflow": parent.workflow,
                        "timer": timer.id,
                        "skipped": timer.workflow,
                        "parameters": timer.parameters,
                        "covered_by": [cover.as_json() for cover in found],
                        "why": "another live grant still covers this access",
                    },
                )
            )
        return True

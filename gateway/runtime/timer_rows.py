"""The timers in the store: workflows to start later (a time-boxed grant's revocation),
each started once (``started`` names the execution it started)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gateway.audit.records import format_time
from gateway.runtime.model import Timer
from gateway.storage import Connection

__all__ = ["TimerRows"]


class TimerRows:
    """The ``timers`` rows of one store transaction."""

    db: Connection

    def add_timer(self, timer: Timer) -> None:
        self.db.execute(
            "INSERT INTO timers (id, due_at, workflow, parameters, parent)"
            " VALUES (?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
            (
                timer.id,
                format_time(timer.due_at),
                timer.workflow,
                json.dumps(timer.parameters, sort_keys=True),
                timer.parent,
            ),
        )

    def due_timers(self, now: datetime) -> list[Timer]:
        rows = self.db.execute(
            "SELECT * FROM timers WHERE started IS NULL AND due_at <= ? ORDER BY due_at",
            (format_time(now),),
        ).fetchall()
        return [self._timer(row) for row in rows]

    def timers_of(self, parent: str) -> list[Timer]:
        rows = self.db.execute(
            "SELECT * FROM timers WHERE parent = ? ORDER BY due_at", (parent,)
        ).fetchall()
        return [self._timer(row) for row in rows]

    @staticmethod
    def _timer(row: Any) -> Timer:
        return Timer(
            id=row["id"],
            due_at=datetime.fromisoformat(row["due_at"]),
            workflow=row["workflow"],
            parameters=json.loads(row["parameters"]),
            parent=row["parent"],
            started=row["started"],
        )

    def timer_started(self, timer_id: str, execution_id: str) -> None:
        self.db.execute("UPDATE timers SET started = ? WHERE id = ?", (execution_id, timer_id))

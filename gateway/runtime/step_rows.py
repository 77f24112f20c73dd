"""The steps of executions in the store: read from their rows, claimed by one process
(``pending -> started``, the ``owner`` naming it) and updated."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gateway.audit.records import format_time
from gateway.runtime.model import StepRecord, StepState
from gateway.storage import Connection

__all__ = ["StepRows", "optional_time", "step_from_row"]

_STEP_COLUMNS = frozenset(
    {
        "state",
        "attempts",
        "decision_id",
        "approval_id",
        "digest",
        "parameters",
        "output",
        "sealed",
        "error",
        "started_at",
        "finished_at",
        "next_attempt_at",
        "owner",
    }
)


def optional_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def step_from_row(row: Any) -> StepRecord:
    return StepRecord(
        step_id=row["step_id"],
        index=row["position"],
        state=StepState(row["state"]),
        attempts=row["attempts"],
        decision_id=row["decision_id"],
        approval_id=row["approval_id"],
        digest=row["digest"],
        parameters=json.loads(row["parameters"]),
        output=json.loads(row["output"]),
        sealed=tuple(json.loads(row["sealed"])),
        error=row["error"],
        started_at=optional_time(row["started_at"]),
        finished_at=optional_time(row["finished_at"]),
        next_attempt_at=optional_time(row["next_attempt_at"]),
    )


class StepRows:
    """The ``steps`` rows of one store transaction."""

    db: Connection

    def update_step(self, execution_id: str, step_id: str, **changes: Any) -> None:
        columns = []
        values: list[Any] = []
        for name, value in changes.items():
            if name not in _STEP_COLUMNS:
                raise RuntimeError(f"steps has no column {name!r}")
            if name in ("parameters", "output"):
                value = json.dumps(value, sort_keys=True)
            elif name == "sealed":
                value = json.dumps(list(value))
            elif name == "state":
                value = str(value)
            elif isinstance(value, datetime):
                value = format_time(value)
            columns.append(f"{name} = ?")
            values.append(value)
        self.db.execute(
            # Column names come from _STEP_COLUMNS only; values are bound parameters.
            f"UPDATE steps SET {', '.join(columns)} WHERE execution_id = ? AND step_id = ?",  # noqa: S608
            (*values, execution_id, step_id),
        )

    def claim_step(
        self,
        execution_id: str,
        step_id: str,
        now: datetime,
        owner: str,
        *,
        decision_id: str | None,
        digest: str | None,
        parameters: dict[str, Any],
    ) -> bool:
        """Mark a pending step started by ``owner``; False if another got there first."""
        cursor = self.db.execute(
            "UPDATE steps SET state = 'started', attempts = attempts + 1, started_at = ?,"
            " owner = ?, decision_id = ?, digest = ?, parameters = ?, next_attempt_at = NULL"
            " WHERE execution_id = ? AND step_id = ? AND state = 'pending' AND EXISTS"
            " (SELECT 1 FROM executions WHERE id = ? AND finished_at IS NULL"
            "  AND cancel_requested = 0)",
            (
                format_time(now),
                owner,
                decision_id,
                digest,
                json.dumps(parameters, sort_keys=True),
                execution_id,
                step_id,
                execution_id,
            ),
        )
        return cursor.rowcount == 1

    def started_steps(self) -> list[tuple[str, str, str | None]]:
        """Every step marked started: execution, step and the process that claimed it."""
        rows = self.db.execute(
            "SELECT execution_id, step_id, owner FROM steps WHERE state = 'started'"
        ).fetchall()
        return [(str(row["execution_id"]), str(row["step_id"]), row["owner"]) for row in rows]

    def still_started_by(self, execution_id: str, step_id: str, owner: str) -> bool:
        """Whether the step is still started by ``owner`` (nobody took it over)."""
        row = self.db.execute(
            "SELECT 1 FROM steps WHERE execution_id = ? AND step_id = ? AND state = 'started'"
            " AND owner = ?",
            (execution_id, step_id, owner),
        ).fetchone()
        return row is not None

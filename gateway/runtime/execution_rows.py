"""The executions in the store: inserted, loaded, found by idempotency key or target, and
moved from state to state.  ``executions.number`` orders executions as they were
started."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gateway.audit.records import format_time
from gateway.runtime.model import Execution, ExecutionState, StepState
from gateway.runtime.step_rows import optional_time, step_from_row
from gateway.storage import Connection

__all__ = ["ExecutionRows"]


class ExecutionRows:
    """The ``executions`` rows (with ``execution_changes``) of one store transaction."""

    db: Connection

    def insert(self, execution: Execution, snapshot: str, step_ids: list[str]) -> None:
        self.db.execute(
            "INSERT INTO executions (id, workflow, workflow_version, workflow_digest, snapshot,"
            " actor, parameters, channel, ticket, idempotency_key, request_digest, target, state,"
            " parent, created_at, updated_at, number) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
            " (SELECT coalesce(max(number), 0) + 1 FROM executions))",
            (
                execution.id,
                execution.workflow,
                execution.workflow_version,
                execution.workflow_digest,
                snapshot,
                execution.actor,
                json.dumps(execution.parameters, sort_keys=True),
                execution.channel,
                execution.ticket,
                execution.idempotency_key,
                execution.request_digest,
                execution.target,
                str(execution.state),
                execution.parent,
                format_time(execution.created_at),
                format_time(execution.updated_at),
            ),
        )
        if execution.change_request is not None:
            self.db.execute(
                "INSERT INTO execution_changes (execution_id, number) VALUES (?, ?)",
                (execution.id, execution.change_request),
            )
        self.db.executemany(
            "INSERT INTO steps (execution_id, step_id, position, state) VALUES (?,?,?,?)",
            [
                (execution.id, step_id, i, str(StepState.PENDING))
                for i, step_id in enumerate(step_ids)
            ],
        )

    def find_idempotent(self, actor: str, key: str) -> Execution | None:
        row = self.db.execute(
            "SELECT id FROM executions WHERE actor = ? AND idempotency_key = ?", (actor, key)
        ).fetchone()
        return None if row is None else self.load(row["id"])

    def active_on(self, target: str) -> str | None:
        row = self.db.execute(
            "SELECT id FROM executions WHERE target = ? AND finished_at IS NULL", (target,)
        ).fetchone()
        return None if row is None else str(row["id"])

    def load(self, execution_id: str) -> Execution | None:
        row = self.db.execute("SELECT * FROM executions WHERE id = ?", (execution_id,)).fetchone()
        if row is None:
            return None
        steps = self.db.execute(
            "SELECT * FROM steps WHERE execution_id = ? ORDER BY position", (execution_id,)
        ).fetchall()
        change = self.db.execute(
            "SELECT number FROM execution_changes WHERE execution_id = ?", (execution_id,)
        ).fetchone()
        return Execution(
            id=row["id"],
            workflow=row["workflow"],
            workflow_version=row["workflow_version"],
            workflow_digest=row["workflow_digest"],
            actor=row["actor"],
            parameters=json.loads(row["parameters"]),
            channel=row["channel"],
            state=ExecutionState(row["state"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
            target=row["target"],
            ticket=row["ticket"],
            change_request=None if change is None else change["number"],
            idempotency_key=row["idempotency_key"],
            request_digest=row["request_digest"],
            waiting=None if row["waiting"] is None else json.loads(row["waiting"]),
            error=row["error"],
            finished_at=optional_time(row["finished_at"]),
            parent=row["parent"],
            cancel_requested=bool(row["cancel_requested"]),
            steps=tuple(step_from_row(step) for step in steps),
        )

    def snapshot(self, execution_id: str) -> str:
        row = self.db.execute(
            "SELECT snapshot FROM executions WHERE id = ?", (execution_id,)
        ).fetchone()
        return str(row["snapshot"])

    def set_state(
        self,
        execution_id: str,
        state: ExecutionState,
        now: datetime,
        *,
        waiting: dict[str, Any] | None = None,
        error: str | None = None,
        wake_at: datetime | None = None,
    ) -> None:
        self.db.execute(
            "UPDATE executions SET state = ?, waiting = ?, error = ?, updated_at = ?,"
            " wake_at = ?, finished_at = ? WHERE id = ?",
            (
                str(state),
                None if waiting is None else json.dumps(waiting, sort_keys=True),
                error,
                format_time(now),
                _optional_text(wake_at),
                format_time(now) if state.finished else None,
                execution_id,
            ),
        )

    def request_cancel(self, execution_id: str) -> None:
        self.db.execute("UPDATE executions SET cancel_requested = 1 WHERE id = ?", (execution_id,))

    def unfinished(self, *, due: datetime | None = None) -> list[str]:
        """Unfinished executions; with ``due``, only those with something to do by then."""
        if due is None:
            rows = self.db.execute(
                "SELECT id FROM executions WHERE finished_at IS NULL ORDER BY created_at"
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT id FROM executions WHERE finished_at IS NULL AND"
                " (state IN ('queued', 'running', 'pending_approval', 'awaiting_step_up')"
                "  OR wake_at IS NULL OR wake_at <= ?) ORDER BY created_at",
                (format_time(due),),
            ).fetchall()
        return [str(row["id"]) for row in rows]

    def recent(self, *, actor: str | None = None, limit: int = 100) -> list[str]:
        if actor is None:
            rows = self.db.execute(
                "SELECT id FROM executions ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT id FROM executions WHERE actor = ? ORDER BY created_at DESC LIMIT ?",
                (actor, limit),
            ).fetchall()
        return [str(row["id"]) for row in rows]

    def awaiting_step_up(self, actor: str) -> list[str]:
        rows = self.db.execute(
            "SELECT id FROM executions WHERE actor = ? AND state = 'awaiting_step_up'"
            " AND finished_at IS NULL ORDER BY created_at",
            (actor,),
        ).fetchall()
        return [str(row["id"]) for row in rows]

    def waiting_on_approval(self, approval_id: str) -> str | None:
        row = self.db.execute(
            "SELECT execution_id FROM steps WHERE approval_id = ?", (approval_id,)
        ).fetchone()
        return None if row is None else str(row["execution_id"])


def _optional_text(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)

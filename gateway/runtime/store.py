"""The execution store: executions, their steps, timers, sealed secret outputs and the
audit records of outcomes kept until the log takes them (``outbox``), on the configured
storage backend (``gateway.storage``: a SQLite file, or a schema of the shared PostgreSQL
database).

Two invariants live in the schema itself, so no race between processes can break them:

- one execution per (actor, idempotency key): a repeated request finds the first one;
- one unfinished execution per target: a second request on the same account or access
  while one is in flight is refused as a conflict.

Write transactions run one at a time across processes and hosts, so the checks before an
insert (the same idempotency key, a busy target) and a step's claim see every earlier
commit.  ``executions.number`` orders executions as they were started.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.audit.records import format_time
from gateway.runtime.errors import ExecutionStoreError
from gateway.runtime.model import Execution, ExecutionState, StepRecord, StepState, Timer
from gateway.storage import Backend, Connection, Migration, Schema, SqliteBackend

__all__ = ["SCHEMA", "ExecutionStore", "Transaction"]

_TABLES = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    workflow_digest TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    actor TEXT NOT NULL,
    parameters TEXT NOT NULL,
    channel TEXT NOT NULL,
    ticket TEXT,
    idempotency_key TEXT,
    request_digest TEXT NOT NULL,
    target TEXT,
    state TEXT NOT NULL,
    waiting TEXT,
    error TEXT,
    parent TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    wake_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS executions_idempotency
    ON executions(actor, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS executions_active_target
    ON executions(target) WHERE target IS NOT NULL AND finished_at IS NULL;
CREATE INDEX IF NOT EXISTS executions_unfinished ON executions(state) WHERE finished_at IS NULL;
CREATE TABLE IF NOT EXISTS execution_changes (
    execution_id TEXT PRIMARY KEY REFERENCES executions(id),
    number TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS change_notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL,
    number TEXT NOT NULL,
    text TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL REFERENCES executions(id),
    step_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    decision_id TEXT,
    approval_id TEXT,
    digest TEXT,
    parameters TEXT NOT NULL DEFAULT '{}',
    output TEXT NOT NULL DEFAULT '{}',
    sealed TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    started_at TEXT,
    finished_at TEXT,
    next_attempt_at TEXT,
    owner TEXT,
    PRIMARY KEY (execution_id, step_id)
);
CREATE INDEX IF NOT EXISTS steps_started ON steps(state) WHERE state = 'started';
CREATE INDEX IF NOT EXISTS steps_approval ON steps(approval_id) WHERE approval_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS timers (
    id TEXT PRIMARY KEY,
    due_at TEXT NOT NULL,
    workflow TEXT NOT NULL,
    parameters TEXT NOT NULL,
    parent TEXT NOT NULL,
    started TEXT
);
CREATE INDEX IF NOT EXISTS timers_due ON timers(due_at) WHERE started IS NULL;
CREATE TABLE IF NOT EXISTS sealed_outputs (
    execution_id TEXT NOT NULL,
    name TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (execution_id, name)
);
CREATE TABLE IF NOT EXISTS unrecorded (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS unrecorded_execution ON unrecorded(execution_id);
"""
SCHEMA = Schema(
    "runtime",
    (
        _TABLES,
        Migration(
            sqlite="ALTER TABLE executions ADD COLUMN number INTEGER;"
            " UPDATE executions SET number = rowid;",
            postgresql="ALTER TABLE executions ADD COLUMN number BIGINT;",
        ),
    ),
)


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


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def _step(row: Any) -> StepRecord:
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
        started_at=_time(row["started_at"]),
        finished_at=_time(row["finished_at"]),
        next_attempt_at=_time(row["next_attempt_at"]),
    )


class Transaction:
    """Reads and writes inside one store transaction."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    # -- executions ------------------------------------------------------------------------

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
            finished_at=_time(row["finished_at"]),
            parent=row["parent"],
            cancel_requested=bool(row["cancel_requested"]),
            steps=tuple(_step(step) for step in steps),
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
                _when(wake_at),
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

    # -- steps -----------------------------------------------------------------------------

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

    # -- timers ----------------------------------------------------------------------------

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

    # -- sealed outputs ---------------------------------------------------------------------

    def seal(
        self, execution_id: str, name: str, nonce: bytes, ciphertext: bytes, expires: datetime
    ) -> None:
        self.db.execute(
            "INSERT INTO sealed_outputs (execution_id, name, nonce, ciphertext, expires_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT (execution_id, name) DO UPDATE SET"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext,"
            " expires_at = excluded.expires_at",
            (execution_id, name, nonce, ciphertext, format_time(expires)),
        )

    def take_sealed(self, execution_id: str, name: str) -> tuple[bytes, bytes, datetime] | None:
        """The sealed output, deleted as it is read: it can be read once."""
        row = self.db.execute(
            "SELECT nonce, ciphertext, expires_at FROM sealed_outputs"
            " WHERE execution_id = ? AND name = ?",
            (execution_id, name),
        ).fetchone()
        if row is None:
            return None
        self.db.execute(
            "DELETE FROM sealed_outputs WHERE execution_id = ? AND name = ?", (execution_id, name)
        )
        return (
            bytes(row["nonce"]),
            bytes(row["ciphertext"]),
            datetime.fromisoformat(row["expires_at"]),
        )

    def purge_sealed(self, now: datetime) -> int:
        cursor = self.db.execute(
            "DELETE FROM sealed_outputs WHERE expires_at <= ?", (format_time(now),)
        )
        return cursor.rowcount


class ExecutionStore:
    """The execution tables on a storage backend (a SQLite file at ``path`` unless another
    backend is given); safe to share between threads."""

    def __init__(self, path: Path, *, backend: Backend | None = None) -> None:
        self.path = path
        self._db = (backend or SqliteBackend()).open(
            SCHEMA, path, what="execution store", error=ExecutionStoreError
        )

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        with self._db.transaction(write=write) as db:
            yield Transaction(db)

    def close(self) -> None:
        self._db.close()

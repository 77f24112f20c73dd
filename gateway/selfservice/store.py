"""The run store: catalog runs, refusals and dry runs, on the configured storage backend
(``gateway.storage``: the SQLite file ``[selfservice] database``, or a schema of the
shared PostgreSQL database).

Admission is one write transaction: the counts behind rate limits, quotas and concurrency
are read and the new run is inserted while every other writer, in this process or another
(on another host too, with PostgreSQL), waits.  So a quota of 3 is never exceeded, however
many requests race.  Idempotency keys are unique per person in an index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.erasure import ERASED_TEXT as ERASED
from gateway.selfservice.errors import SelfServiceStoreError
from gateway.selfservice.model import Run, RunState
from gateway.storage import Backend, Connection, Schema, SqliteBackend

__all__ = ["SCHEMA", "RunStore", "RunTransaction", "UsageRow"]

_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    item TEXT NOT NULL,
    item_version INTEGER NOT NULL,
    actor TEXT NOT NULL,
    department TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    parameters TEXT NOT NULL,
    targets TEXT NOT NULL,
    executions TEXT NOT NULL DEFAULT '[]',
    approval_id TEXT,
    decision_id TEXT,
    waiting TEXT,
    status TEXT NOT NULL DEFAULT '',
    error TEXT,
    ticket TEXT,
    minutes_saved INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    request_digest TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_item ON runs (item, created_at);
CREATE INDEX IF NOT EXISTS runs_by_actor ON runs (actor, item, created_at);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs (item, state);
CREATE UNIQUE INDEX IF NOT EXISTS runs_idempotency ON runs (actor, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY,
    item TEXT NOT NULL,
    actor TEXT NOT NULL,
    department TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dry_runs (
    id INTEGER PRIMARY KEY,
    item TEXT NOT NULL,
    actor TEXT NOT NULL,
    department TEXT NOT NULL,
    at REAL NOT NULL
);
"""
# The targets a run's executions will lock (``Executor.acting_on``), held from admission.
_LOCKS = "ALTER TABLE runs ADD COLUMN locks TEXT NOT NULL DEFAULT '[]';"
SCHEMA = Schema("selfservice", (_TABLES, _LOCKS))

_COLUMNS = (
    "id, item, item_version, actor, department, state, created_at, updated_at, finished_at, "
    "parameters, targets, executions, approval_id, decision_id, waiting, status, error, "
    "ticket, minutes_saved"
)
_FINISHED = tuple(str(state) for state in RunState if state.finished)
UsageRow = tuple[str, str, str, str, int]  # kind, item, department, key, count


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _moment(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _run(row: tuple[Any, ...]) -> Run:
    created = _moment(row[6])
    updated = _moment(row[7])
    if created is None or updated is None:  # pragma: no cover - NOT NULL columns
        raise SelfServiceStoreError("a run without times")
    return Run(
        id=row[0],
        item=row[1],
        item_version=row[2],
        actor=row[3],
        department=row[4],
        state=RunState(row[5]),
        created_at=created,
        updated_at=updated,
        finished_at=_moment(row[8]),
        parameters=json.loads(row[9]),
        targets=tuple(json.loads(row[10])),
        executions=tuple(json.loads(row[11])),
        approval_id=row[12],
        decision_id=row[13],
        waiting=None if row[14] is None else json.loads(row[14]),
        status=row[15],
        error=row[16],
        ticket=row[17],
        minutes_saved=row[18],
    )


class RunTransaction:
    """Reads and writes inside one store transaction."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    def count_runs(self, item: str, since: datetime, actor: str | None = None) -> int:
        """Runs of ``item`` admitted since ``since`` (by ``actor`` when given), refused
        ones aside."""
        query = "SELECT COUNT(*) FROM runs WHERE item = ? AND created_at >= ? AND state != ?"
        args: list[Any] = [item, _epoch(since), str(RunState.REFUSED)]
        if actor is not None:
            query += " AND actor = ?"
            args.append(actor)
        (count,) = self._db.execute(query, args).fetchone()
        return int(count)

    def active(self, item: str | None = None) -> list[str]:
        """Unfinished runs (of ``item``), oldest first."""
        marks = ", ".join("?" for _ in _FINISHED)
        query = f"SELECT id FROM runs WHERE state NOT IN ({marks})"  # noqa: S608 - only ?s
        args: list[Any] = list(_FINISHED)
        if item is not None:
            query += " AND item = ?"
            args.append(item)
        return [row[0] for row in self._db.execute(query + " ORDER BY created_at", args)]

    def in_flight(self, actor: str, item: str, request_digest: str) -> list[str]:
        """Unfinished runs of ``item`` by ``actor`` for exactly this request, oldest first."""
        marks = ", ".join("?" for _ in _FINISHED)
        query = (
            "SELECT id FROM runs WHERE actor = ? AND item = ? AND request_digest = ? "  # noqa: S608
            f"AND state NOT IN ({marks}) ORDER BY created_at, id"
        )
        args = [actor, item, request_digest, *_FINISHED]
        return [row[0] for row in self._db.execute(query, args)]

    def holding(self, targets: list[str]) -> list[tuple[str, str]]:
        """Unfinished runs holding any of ``targets``: (run id, target), oldest first."""
        marks = ", ".join("?" for _ in _FINISHED)
        query = (
            f"SELECT id, locks FROM runs WHERE state NOT IN ({marks}) "  # noqa: S608 - only ?s
            "AND locks != '[]' ORDER BY created_at, id"
        )
        wanted = set(targets)
        found: list[tuple[str, str]] = []
        for run_id, locks in self._db.execute(query, list(_FINISHED)):
            found.extend((run_id, t) for t in json.loads(locks) if t in wanted)
        return found

    def insert(
        self,
        run: Run,
        *,
        idempotency_key: str | None = None,
        request_digest: str = "",
        locks: tuple[str, ...] = (),
    ) -> None:
        self._db.execute(
            f"INSERT INTO runs ({_COLUMNS}, idempotency_key, request_digest, locks) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run.id,
                run.item,
                run.item_version,
                run.actor,
                run.department,
                str(run.state),
                _epoch(run.created_at),
                _epoch(run.updated_at),
                None,
                json.dumps(run.parameters, sort_keys=True),
                json.dumps(list(run.targets)),
                json.dumps(list(run.executions)),
                run.approval_id,
                run.decision_id,
                None if run.waiting is None else json.dumps(run.waiting, sort_keys=True),
                run.status,
                run.error,
                run.ticket,
                run.minutes_saved,
                idempotency_key,
                request_digest,
                json.dumps(list(locks)),
            ),
        )

    def find_idempotent(self, actor: str, key: str) -> tuple[Run, str] | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS}, request_digest FROM runs "  # noqa: S608 - constant columns
            "WHERE actor = ? AND idempotency_key = ?",
            (actor, key),
        ).fetchone()
        return None if row is None else (_run(row[:-1]), str(row[-1]))

    def update(self, run: Run) -> None:
        """Store the run's state, executions and outcome as they are now."""
        self._db.execute(
            "UPDATE runs SET state = ?, updated_at = ?, finished_at = ?, executions = ?, "
            "approval_id = ?, decision_id = ?, waiting = ?, status = ?, error = ? WHERE id = ?",
            (
                str(run.state),
                _epoch(run.updated_at),
                None if run.finished_at is None else _epoch(run.finished_at),
                json.dumps(list(run.executions)),
                run.approval_id,
                run.decision_id,
                None if run.waiting is None else json.dumps(run.waiting, sort_keys=True),
                run.status,
                run.error,
                run.id,
            ),
        )

    def load(self, run_id: str) -> Run | None:
        query = f"SELECT {_COLUMNS} FROM runs WHERE id = ?"  # noqa: S608 - constant columns
        row = self._db.execute(query, (run_id,)).fetchone()
        return None if row is None else _run(row)

    def recent(self, actor: str | None, limit: int) -> list[Run]:
        query = f"SELECT {_COLUMNS} FROM runs"  # noqa: S608 - constant columns
        args: list[Any] = []
        if actor is not None:
            query += " WHERE actor = ?"
            args.append(actor)
        query += " ORDER BY created_at DESC, id LIMIT ?"
        args.append(limit)
        return [_run(row) for row in self._db.execute(query, args)]

    def erase_person(self, actor: str, *, dry_run: bool = False) -> int:
        """Replace the personal values of ``actor``'s finished runs (parameter values,
        status and error text) with ``(erased)``, keeping the rows so counts, quotas and
        usage still add up; the number of runs changed (or that would be, ``dry_run``).
        Unfinished runs keep their parameters until they finish."""
        marks = ", ".join("?" for _ in _FINISHED)
        query = (
            "SELECT id, parameters, status, error FROM runs "  # noqa: S608 - only ?s
            f"WHERE actor = ? AND state IN ({marks}) ORDER BY id"
        )
        rows = self._db.execute(query, [actor, *_FINISHED]).fetchall()
        changed = 0
        for run_id, parameters, status, error in rows:
            values = dict.fromkeys(json.loads(parameters), ERASED)
            erased = (
                json.dumps(values, sort_keys=True),
                ERASED if status else status,
                None if error is None else ERASED,
            )
            if erased == (parameters, status, error):
                continue
            changed += 1
            if not dry_run:
                self._db.execute(
                    "UPDATE runs SET parameters = ?, status = ?, error = ? WHERE id = ?",
                    (*erased, run_id),
                )
        return changed

    def refuse(
        self, item: str, actor: str, department: str, reason: str, message: str, at: datetime
    ) -> None:
        self._db.execute(
            "INSERT INTO refusals (item, actor, department, reason, message, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (item, actor, department, reason, message, _epoch(at)),
        )

    def dry_run(self, item: str, actor: str, department: str, at: datetime) -> None:
        self._db.execute(
            "INSERT INTO dry_runs (item, actor, department, at) VALUES (?, ?, ?, ?)",
            (item, actor, department, _epoch(at)),
        )

    def usage(self) -> list[UsageRow]:
        """Counts by item and department: ``run`` rows per state, ``minutes`` saved by
        succeeded runs, ``refusal`` rows per reason, ``dry_run`` rows."""
        rows: list[UsageRow] = []
        for item, department, state, count, minutes in self._db.execute(
            "SELECT item, department, state, COUNT(*), SUM(minutes_saved) FROM runs "
            "GROUP BY item, department, state ORDER BY item, department, state"
        ):
            rows.append(("run", item, department, state, int(count)))
            if state == RunState.SUCCEEDED:
                rows.append(("minutes", item, department, "", int(minutes)))
        for item, department, reason, count in self._db.execute(
            "SELECT item, department, reason, COUNT(*) FROM refusals "
            "GROUP BY item, department, reason ORDER BY item, department, reason"
        ):
            rows.append(("refusal", item, department, reason, int(count)))
        for item, department, count in self._db.execute(
            "SELECT item, department, COUNT(*) FROM dry_runs "
            "GROUP BY item, department ORDER BY item, department"
        ):
            rows.append(("dry_run", item, department, "", int(count)))
        return rows


class RunStore:
    """The run tables on a storage backend (a SQLite file at ``path`` unless another backend
    is given); thread-safe, and safe across processes."""

    def __init__(self, path: Path, *, backend: Backend | None = None) -> None:
        self.path = path
        self._db = (backend or SqliteBackend()).open(
            SCHEMA, path, what="self-service store", error=SelfServiceStoreError
        )

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[RunTransaction]:
        with self._db.transaction(write=write) as db:
            yield RunTransaction(db)

    def close(self) -> None:
        self._db.close()

"""The execution store: executions, their steps, timers, sealed secret outputs and the
audit records of outcomes kept until the log takes them (``outbox``), on the configured
storage backend (``gateway.storage``: a SQLite file, or a schema of the shared PostgreSQL
database).

Its tables and the invariants they hold are in ``store_schema``; a ``Transaction`` reads
and writes them through one module per kind of row (``execution_rows``, ``step_rows``,
``timer_rows``, ``sealed_rows``).

Write transactions run one at a time across processes and hosts, so the checks before an
insert (the same idempotency key, a busy target) and a step's claim see every earlier
commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.runtime.errors import ExecutionStoreError
from gateway.runtime.execution_rows import ExecutionRows
from gateway.runtime.sealed_rows import SealedRows
from gateway.runtime.step_rows import StepRows
from gateway.runtime.store_schema import SCHEMA
from gateway.runtime.timer_rows import TimerRows
from gateway.storage import Backend, Connection, SqliteBackend

__all__ = ["SCHEMA", "ExecutionStore", "Transaction"]


class Transaction(ExecutionRows, StepRows, TimerRows, SealedRows):
    """Reads and writes inside one store transaction."""

    def __init__(self, db: Connection) -> None:
        self.db = db


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

"""The storage seam: what a store needs from a database, whichever it is.

A store (approvals, executions, step-ups, ...) holds a ``Database`` and runs everything in
``transaction()``, which yields a ``Connection``: ``execute(sql, params)`` returning a
cursor (``fetchone``, ``fetchall``, iteration, ``rowcount``) and ``executemany``.  Rows
read both by position (``row[0]``, unpacking, slices) and by column name (``row["id"]``).

The SQL a store writes is the subset both backends speak: ``?`` placeholders,
``INSERT ... ON CONFLICT (...) DO NOTHING | DO UPDATE SET x = excluded.x`` (never SQLite's
``INSERT OR ...``), ``CREATE ... IF NOT EXISTS``, partial indexes.  Schema scripts may use
``INTEGER PRIMARY KEY [AUTOINCREMENT]``, ``INTEGER``, ``REAL`` and ``BLOB``, which each
backend maps to its own types (``gateway.storage.dialect``).

``transaction(write=True)`` gives the guarantee SQLite's single writer gave every store,
on every backend: write transactions of one store run one at a time, across threads,
processes and hosts, and each sees everything committed before it began.  So a
check-then-write inside one (a quorum count, a quota, a replay guard) needs no further
locking.  ``write=False`` is a consistent, read-only snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.errors import GatewayError

__all__ = ["Backend", "Connection", "Cursor", "Database", "Migration", "Schema"]


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside one transaction."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> object: ...


class Database(Protocol):
    """One store's tables on one backend; ``where`` names them in errors."""

    @property
    def where(self) -> str: ...

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Connection]: ...

    def read_latest(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        """The first row of ``sql`` (one statement), or ``None``, as committed when it
        runs, outside any transaction: on PostgreSQL one round trip where a read
        transaction takes three.  For what a store reads on every use (a revocation
        generation, a user's latest step-up), which must see every commit before it."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Migration:
    """A migration that one text cannot express on both backends (reading SQLite's
    ``rowid``, say): a script for each."""

    sqlite: str
    postgresql: str


@dataclass(frozen=True, slots=True)
class Schema:
    """A store's tables as numbered migrations: ``migrations[n]`` takes a database from
    version ``n`` to ``n + 1``.  Migrations are only ever appended; each script is a
    sequence of statements without parameters, one text for both backends unless it is a
    ``Migration``."""

    component: str  # a short lower-case name: "approvals", "runtime"
    migrations: tuple[str | Migration, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)

    def scripts(self, backend: str, applied: int) -> list[str]:
        """The scripts ``backend`` ("sqlite" or "postgresql") runs after ``applied``."""
        return [
            step if isinstance(step, str) else getattr(step, backend)
            for step in self.migrations[applied:]
        ]


class Backend(Protocol):
    """Where every store's tables live: ``SqliteBackend`` (a file per store) or
    ``PostgresBackend`` (one database, a schema per store)."""

    @property
    def name(self) -> str: ...

    def open(self, schema: Schema, path: Path, *, what: str, error: type[GatewayError]) -> Database:
        """The store's database, migrated to ``schema``; ``path`` is its SQLite file
        (ignored by other backends); failures raise ``error`` naming ``what``."""
        ...

    def close(self) -> None: ...

"""The embedded backend: one SQLite file per store.

Each file is private (mode 0600; SQLite gives its -wal and -shm files the same mode), in
WAL mode with full synchronous commits.  Its ``user_version`` is the number of migrations
applied; opening applies the missing ones in one ``BEGIN IMMEDIATE`` transaction and
refuses a file from a newer gateway.  One connection per store is shared by the threads of
a process and guarded by a lock; write transactions begin with ``BEGIN IMMEDIATE``, so
processes sharing the file take turns too.  Every SQLite failure becomes the owner's
domain error, naming the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from gateway.embedded_db import EmbeddedDatabase
from gateway.errors import GatewayError
from gateway.storage.base import Connection, Schema

__all__ = ["SqliteBackend", "SqliteDatabase", "statements"]


def statements(script: str) -> list[str]:
    """The statements of a schema script, each complete."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                found.append(pending.strip())
            pending = ""
    return found


def _migrate(db: sqlite3.Connection, schema: Schema) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("BEGIN IMMEDIATE")
    try:
        (found,) = db.execute("PRAGMA user_version").fetchone()
        if found > schema.version:
            raise sqlite3.DatabaseError(
                f"schema version {found} is not supported (expected {schema.version})"
            )
        for script in schema.scripts("sqlite", found):
            for statement in statements(script):
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {schema.version}")
        db.execute("COMMIT")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")


def _prepare(db: sqlite3.Connection, schema: Schema) -> None:
    db.row_factory = sqlite3.Row
    _migrate(db, schema)


class SqliteDatabase:
    """An open database file (``gateway.embedded_db``: private, WAL, one transaction at a
    time per process) whose tables follow ``schema``; ``what`` names it in errors."""

    def __init__(self, path: Path, schema: Schema, *, what: str, error: type[GatewayError]) -> None:
        self.path = path
        self._file = EmbeddedDatabase.prepared(
            path, lambda db: _prepare(db, schema), what=what, error=error
        )
        self.connection = self._file.connection

    @property
    def where(self) -> str:
        return str(self.path)

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        return self._file.transaction(write=write)

    def read_latest(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        """The first row of ``sql`` (one statement), or ``None``, as committed now."""
        with self._file.transaction(write=False) as db:
            return db.execute(sql, parameters).fetchone()

    def close(self) -> None:
        self._file.close()


class SqliteBackend:
    """Every store in its own SQLite file (the path its settings name)."""

    name = "sqlite"

    def open(
        self, schema: Schema, path: Path, *, what: str, error: type[GatewayError]
    ) -> SqliteDatabase:
        return SqliteDatabase(path, schema, what=what, error=error)

    def close(self) -> None:
        """Nothing to close: each store closes its own file."""

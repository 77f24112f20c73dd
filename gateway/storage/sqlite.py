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

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


class SqliteDatabase:
    """An open database file; ``what`` names it in errors ("approval store")."""

    def __init__(self, path: Path, schema: Schema, *, what: str, error: type[GatewayError]) -> None:
        self.path = path
        self._what = what
        self._error = error
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise error(f"{path}: cannot open {what}: {exc.strerror}") from exc
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
            db.row_factory = sqlite3.Row
            _migrate(db, schema)
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise error(f"{path}: cannot open {what}: {exc}") from exc
        self.connection = db

    @property
    def where(self) -> str:
        return str(self.path)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            db = self.connection
            try:
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise self._error(f"{self.path}: {self._what} failed: {exc}") from exc
            try:
                yield db
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(f"{self.path}: {self._what} failed: {exc}") from exc
                raise

    def close(self) -> None:
        with self._lock:
            self.connection.close()


class SqliteBackend:
    """Every store in its own SQLite file (the path its settings name)."""

    name = "sqlite"

    def open(
        self, schema: Schema, path: Path, *, what: str, error: type[GatewayError]
    ) -> SqliteDatabase:
        return SqliteDatabase(path, schema, what=what, error=error)

    def close(self) -> None:
        """Nothing to close: each store closes its own file."""

"""The embedded SQLite database behind durable state (step-ups, approvals).

One private file (mode 0600; SQLite gives its -wal and -shm files the same mode), WAL
journal, full synchronous commits, a schema version checked on open, and one transaction
at a time per process (other processes wait on SQLite's own lock).  Every SQLite failure
becomes the owner's domain error, naming the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.errors import GatewayError

__all__ = ["EmbeddedDatabase"]


def _set_up(db: sqlite3.Connection, schema: str, version: int) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if found not in (0, version):
        raise sqlite3.DatabaseError(f"schema version {found} is not supported (expected {version})")
    db.executescript(f"BEGIN IMMEDIATE;{schema}PRAGMA user_version = {version};COMMIT;")


class EmbeddedDatabase:
    """An open database file; ``what`` names it in errors ("approval store")."""

    def __init__(
        self, path: Path, *, schema: str, version: int, what: str, error: type[GatewayError]
    ) -> None:
        self._open(path, what, error, lambda db: _set_up(db, schema, version))

    @classmethod
    def prepared(
        cls,
        path: Path,
        set_up: Callable[[sqlite3.Connection], None],
        *,
        what: str,
        error: type[GatewayError],
    ) -> EmbeddedDatabase:
        """The file opened and made ready by ``set_up`` (its own schema handling)."""
        database = cls.__new__(cls)
        database._open(path, what, error, set_up)
        return database

    def _open(
        self,
        path: Path,
        what: str,
        error: type[GatewayError],
        set_up: Callable[[sqlite3.Connection], None],
    ) -> None:
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
            set_up(db)
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise error(f"{path}: cannot open {what}: {exc}") from exc
        self.connection = db

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
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

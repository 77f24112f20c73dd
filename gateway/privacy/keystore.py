"""The data keys that open sealed audit fields, kept apart from the log.

One private SQLite file (``gateway.embedded_db``, mode 0600).  A data key belongs to one
person, one event type and one calendar month (``2026-12``) of record times: erasing a
person deletes that person's keys (a handful of rows, whatever the number of records);
retention deletes the keys of an event type whose month has aged out.  A deleted key
leaves a tombstone (key id, when, why; never the person) so the auditor's view can say
"erased" rather than "unknown key".  Key ids are random, so the log does not reveal whose
key sealed a field.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from gateway.audit.records import format_time
from gateway.embedded_db import EmbeddedDatabase
from gateway.privacy.envelope import KEY_BYTES
from gateway.privacy.errors import KeyStoreError

__all__ = ["DataKeyStore", "KeyState", "KeyStatus"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    kid TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    event_type TEXT NOT NULL,
    period TEXT NOT NULL,
    key BLOB NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (person, event_type, period)
);
CREATE INDEX IF NOT EXISTS data_keys_type ON data_keys (event_type, period);
CREATE TABLE IF NOT EXISTS erased_keys (
    kid TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS erased_people (
    person TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
);
"""
_VERSION = 1


class KeyState(StrEnum):
    AVAILABLE = "available"
    ERASED = "erased"
    UNKNOWN = "unknown"  # never issued by this store


@dataclass(frozen=True, slots=True)
class KeyStatus:
    state: KeyState
    key: bytes | None = None


def period_of(moment: str) -> str:
    """The key period of a record time (``2026-12-07T...Z`` -> ``2026-12``)."""
    return moment[:7]


class DataKeyStore:
    """Per-person, per-type, per-month AES-256 data keys."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._opened: EmbeddedDatabase | None = None
        self._closed = False
        self._cache: dict[tuple[str, str, str], tuple[str, bytes]] = {}
        self._seen_version = -1

    @property
    def _db(self) -> EmbeddedDatabase:
        """The database, opened (and made) on first use: a log whose records hold no
        personal data never makes a key store."""
        if self._opened is None:
            if self._closed:
                raise KeyStoreError(f"{self.path}: data key store is closed")
            self._opened = EmbeddedDatabase(
                self.path,
                schema=_SCHEMA,
                version=_VERSION,
                what="data key store",
                error=KeyStoreError,
            )
        return self._opened

    def close(self) -> None:
        self._closed = True
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def __enter__(self) -> DataKeyStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def key_for(
        self, person: str, event_type: str, period: str, now: datetime
    ) -> tuple[str, bytes]:
        """The key id and key of ``(person, event_type, period)``, made on first use.

        Keys in use are remembered until the file changes under another connection (an
        erasure or a sweep by another process: SQLite's ``data_version``), so a key
        erased elsewhere is never used again for a new record."""
        scope = (person, event_type, period)
        version = self._version()
        if version != self._seen_version:
            self._cache.clear()
            self._seen_version = version
        cached = self._cache.get(scope)
        if cached is not None:
            return cached
        select = "SELECT kid, key FROM data_keys WHERE person = ? AND event_type = ? AND period = ?"
        with self._db.transaction(write=False) as db:
            row = db.execute(select, scope).fetchone()
        if row is None:
            with self._db.transaction() as db:
                db.execute(
                    "INSERT OR IGNORE INTO data_keys VALUES (?, ?, ?, ?, ?, ?)",
                    (os.urandom(16).hex(), *scope, os.urandom(KEY_BYTES), format_time(now)),
                )
                row = db.execute(select, scope).fetchone()
        found = self._cache[scope] = (str(row[0]), bytes(row[1]))
        return found

    def _version(self) -> int:
        with self._db.transaction(write=False) as db:
            (version,) = db.execute("PRAGMA data_version").fetchone()
        return int(version)

    def status(self, kid: str) -> KeyStatus:
        with self._db.transaction(write=False) as db:
            row = db.execute("SELECT key FROM data_keys WHERE kid = ?", (kid,)).fetchone()
            if row is not None:
                return KeyStatus(KeyState.AVAILABLE, bytes(row[0]))
            gone = db.execute("SELECT 1 FROM erased_keys WHERE kid = ?", (kid,)).fetchone()
        return KeyStatus(KeyState.ERASED if gone is not None else KeyState.UNKNOWN)

    def key_ids(self, person: str) -> frozenset[str]:
        with self._db.transaction(write=False) as db:
            rows = db.execute("SELECT kid FROM data_keys WHERE person = ?", (person,)).fetchall()
        return frozenset(str(row[0]) for row in rows)

    def count(self, person: str, keep_types: frozenset[str] = frozenset()) -> int:
        """How many keys of ``person`` there are, leaving out those of ``keep_types``."""
        with self._db.transaction(write=False) as db:
            rows = db.execute(
                "SELECT event_type FROM data_keys WHERE person = ?", (person,)
            ).fetchall()
        return sum(1 for (event_type,) in rows if event_type not in keep_types)

    def knows(self, person: str) -> bool:
        """Whether this store ever held a key of ``person`` (or erased them)."""
        with self._db.transaction(write=False) as db:
            held = db.execute("SELECT 1 FROM data_keys WHERE person = ? LIMIT 1", (person,))
            if held.fetchone() is not None:
                return True
            erased = db.execute("SELECT 1 FROM erased_people WHERE person = ?", (person,))
            return erased.fetchone() is not None

    def was_erased(self, person: str) -> bool:
        with self._db.transaction(write=False) as db:
            row = db.execute("SELECT 1 FROM erased_people WHERE person = ?", (person,))
            return row.fetchone() is not None

    def erase_person(
        self, person: str, now: datetime, keep_types: frozenset[str] = frozenset()
    ) -> int:
        """Delete every key of ``person`` (but those of ``keep_types``); the count deleted."""
        kept = sorted(keep_types)
        marks = ",".join("?" * len(kept))
        where = "person = ?" + (f" AND event_type NOT IN ({marks})" if kept else "")
        self._cache.clear()
        with self._db.transaction() as db:
            count = self._tombstone(db, where, (person, *kept), now, "erasure")
            db.execute(
                "INSERT OR REPLACE INTO erased_people VALUES (?, ?)", (person, format_time(now))
            )
        return count

    def count_expired(self, event_type: str, before_period: str) -> int:
        with self._db.transaction(write=False) as db:
            row = db.execute(
                "SELECT count(*) FROM data_keys WHERE event_type = ? AND period < ?",
                (event_type, before_period),
            ).fetchone()
        return int(row[0])

    def erase_expired(self, event_type: str, before_period: str, now: datetime) -> int:
        """Delete the keys of ``event_type`` for months before ``before_period``."""
        self._cache.clear()
        with self._db.transaction() as db:
            return self._tombstone(
                db, "event_type = ? AND period < ?", (event_type, before_period), now, "retention"
            )

    @staticmethod
    def _tombstone(
        db: sqlite3.Connection, where: str, args: tuple[str, ...], now: datetime, reason: str
    ) -> int:
        db.execute(
            f"INSERT OR IGNORE INTO erased_keys SELECT kid, ?, ? FROM data_keys WHERE {where}",  # noqa: S608 - fixed clauses, values bound
            (format_time(now), reason, *args),
        )
        return db.execute(f"DELETE FROM data_keys WHERE {where}", args).rowcount  # noqa: S608

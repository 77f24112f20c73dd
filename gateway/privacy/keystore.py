"""The data keys that open sealed audit fields, kept apart from the log.

The keys live on the configured storage backend (``gateway.storage``): a private SQLite
file (mode 0600) by default, or the ``privacy`` schema of the shared PostgreSQL database,
so that every gateway process seals and opens with the same keys and an erasure made
through one is seen by all.  A data key belongs to one person, one event type and one
calendar month (``2026-12``) of record times: erasing a person deletes that person's keys
(a handful of rows, whatever the number of records); retention deletes the keys of an
event type whose month has aged out.  A deleted key leaves a tombstone (key id, when,
why; never the person) so the auditor's view can say "erased" rather than "unknown key".
Key ids are random, so the log does not reveal whose key sealed a field.

Keys in use are remembered in the process; every deletion raises the store's
``generation`` (migration 2) in the same transaction, and a remembered key is used only
while the generation read just before is the one it was remembered under, so a key
erased by any process is never used again for a new record.  Records sealed together
(one audit batch, ``batch()``) are sealed as of one reading of the generation, taken when
the batch's first key is looked up: an erasure committed before the batch began sealing
is seen by all of its records, at the cost of one read per batch, not one per record.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from gateway.audit.records import format_time
from gateway.privacy.envelope import KEY_BYTES
from gateway.privacy.errors import KeyStoreError
from gateway.storage import (
    Backend,
    Connection,
    Database,
    Schema,
    SqliteBackend,
    StorageSettings,
    open_backend,
)

__all__ = ["SCHEMA", "DataKeyStore", "KeyState", "KeyStatus"]

SCHEMA = Schema(
    "privacy",
    (
        """
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
""",
        """
CREATE TABLE IF NOT EXISTS generation (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO generation (name, value) VALUES ('keys', 0) ON CONFLICT (name) DO NOTHING;
""",
    ),
)
_SELECT_KEY = "SELECT kid, key FROM data_keys WHERE person = ? AND event_type = ? AND period = ?"
_GENERATION = "SELECT value FROM generation WHERE name = 'keys'"


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
    """Per-person, per-type, per-month AES-256 data keys on ``backend`` (the SQLite file
    at ``path`` when not given)."""

    def __init__(self, path: Path, backend: Backend | None = None) -> None:
        self.path = path
        self._backend: Backend = backend if backend is not None else SqliteBackend()
        self._owned: Backend | None = None
        self._opened: Database | None = None
        self._closed = False
        # each key with the generation it was read under
        self._cache: dict[tuple[str, str, str], tuple[int, str, bytes]] = {}
        self._batch = threading.local()  # .generation: read once in this thread's batch

    @classmethod
    def for_reading(cls, path: Path, storage: StorageSettings | None) -> DataKeyStore | None:
        """The store a reader opens sealed fields with, outside a running gateway: on
        PostgreSQL the shared one (its backend opened here and closed with the store); on
        SQLite the file at ``path``, or ``None`` when there is none (fields read
        ``unavailable``)."""
        if storage is None or storage.backend == "sqlite":
            return cls(path) if path.exists() else None
        backend = open_backend(storage)
        store = cls(path, backend)
        store._owned = backend
        return store

    @property
    def _db(self) -> Database:
        """The database, opened (and made) on first use: a log whose records hold no
        personal data never makes a key store."""
        if self._opened is None:
            if self._closed:
                raise KeyStoreError(f"{self.path}: data key store is closed")
            self._opened = self._backend.open(
                SCHEMA, self.path, what="data key store", error=KeyStoreError
            )
        return self._opened

    def close(self) -> None:
        self._closed = True
        if self._opened is not None:
            self._opened.close()
            self._opened = None
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> DataKeyStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within the block, this thread's look-ups read the generation once, at the
        first one that needs it (records sealed together, as of one instant)."""
        self._batch.generation = None
        try:
            yield
        finally:
            del self._batch.generation

    def _generation_now(self) -> int:
        """The generation as committed now: read (one round trip), or in a batch the one
        its first look-up read."""
        batched: int | None = getattr(self._batch, "generation", None)
        if batched is not None:
            return batched
        generation = int(self._db.read_latest(_GENERATION)[0])
        self._seen(generation)
        return generation

    def _seen(self, generation: int) -> None:
        """Within a batch, later look-ups go by the newest generation read in it."""
        if hasattr(self._batch, "generation"):
            self._batch.generation = max(generation, self._batch.generation or 0)

    def key_for(
        self, person: str, event_type: str, period: str, now: datetime
    ) -> tuple[str, bytes]:
        """The key id and key of ``(person, event_type, period)``, made on first use.

        A key is remembered while the store's generation stays the one it was read
        under: an erasure or a sweep by any process raises it, so a key erased elsewhere
        is never used again for a new record."""
        scope = (person, event_type, period)
        cached = self._cache.get(scope)
        if cached is not None:
            if cached[0] == self._generation_now():
                return cached[1], cached[2]
            self._cache.clear()  # keys were erased since: forget every remembered one
        with self._db.transaction(write=False) as db:
            generation = _generation(db)
            row = db.execute(_SELECT_KEY, scope).fetchone()
        if row is None:
            with self._db.transaction() as db:
                db.execute(
                    "INSERT INTO data_keys (kid, person, event_type, period, key, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (person, event_type, period) DO NOTHING",
                    (os.urandom(16).hex(), *scope, os.urandom(KEY_BYTES), format_time(now)),
                )
                row = db.execute(_SELECT_KEY, scope).fetchone()
                generation = _generation(db)
        found = str(row[0]), bytes(row[1])
        self._cache[scope] = (generation, *found)
        self._seen(generation)
        return found

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
                "INSERT INTO erased_people (person, erased_at) VALUES (?, ?) "
                "ON CONFLICT (person) DO UPDATE SET erased_at = excluded.erased_at",
                (person, format_time(now)),
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
        db: Connection, where: str, args: tuple[str, ...], now: datetime, reason: str
    ) -> int:
        """Tombstone and delete the keys ``where`` selects, raising the generation (so no
        process uses them again); the count deleted."""
        tombstone = f"INSERT INTO erased_keys (kid, erased_at, reason) SELECT kid, ?, ? FROM data_keys WHERE {where} ON CONFLICT (kid) DO NOTHING"  # noqa: S608, E501 - fixed clauses, values bound
        db.execute(tombstone, (format_time(now), reason, *args))
        count = db.execute(f"DELETE FROM data_keys WHERE {where}", args).rowcount  # noqa: S608
        db.execute("UPDATE generation SET value = value + 1 WHERE name = 'keys'")
        return count


def _generation(db: Connection) -> int:
    row = db.execute(_GENERATION).fetchone()
    return int(row[0])

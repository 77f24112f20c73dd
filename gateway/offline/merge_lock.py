"""One merge at a time: reading a kit's merged chain from the central log and appending
its next segment must not interleave with another merge, whichever process or host runs it.

``merging`` holds, for the whole merge (read, verify, append):

* the central log in a file (``gateway.audit.log.AuditLog``; only processes of this host
  write it): an exclusive ``flock`` on ``<quarantine>/.merge.lock``;
* the central log in the shared database (``gateway.audit.database.DatabaseAuditLog``;
  several gateways, on several hosts, append to it): a write transaction of the
  ``offline_merge`` store on the same backend (``gateway.storage``), whose lock
  (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) write
  transactions of that store take one at a time across every process and host.  Under it
  the ``merge_turns`` row names the holder and when it took its turn; the merge's records
  are appended (in the audit store's own transactions) before the turn ends.  A holder that
  dies loses its connection, so the database ends its transaction and the turn with it.

A central log in the database with no backend to take the turn on is a caller's mistake
(the merge would be exclusive on one host only): ``RuntimeError``.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from gateway.audit.database import DatabaseAuditLog
from gateway.audit.store import AuditStore
from gateway.clock import Clock, utcnow
from gateway.offline.errors import MergeTurnError
from gateway.storage import Backend, Schema
from gateway.storage.leases import new_holder

__all__ = ["SCHEMA", "merging"]

SCHEMA = Schema(
    "offline_merge",
    (
        "CREATE TABLE IF NOT EXISTS merge_turns (name TEXT PRIMARY KEY, "
        "holder TEXT NOT NULL, taken_at TEXT NOT NULL)",
    ),
)
_TURN = (
    "INSERT INTO merge_turns (name, holder, taken_at) VALUES ('merge', ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, taken_at = excluded.taken_at"
)


@contextmanager
def _file_turn(quarantine: Path) -> Iterator[None]:
    quarantine.mkdir(parents=True, exist_ok=True)
    with (quarantine / ".merge.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _database_turn(storage: Backend, quarantine: Path, clock: Clock) -> Iterator[None]:
    quarantine.mkdir(parents=True, exist_ok=True)  # the SQLite backend's file lives there
    database = storage.open(
        SCHEMA, quarantine / ".merge.db", what="offline merge turn", error=MergeTurnError
    )
    try:
        with database.transaction() as db:
            db.execute(_TURN, (new_holder(), clock().isoformat()))
            yield
    finally:
        database.close()


def merging(
    audit: AuditStore, storage: Backend | None, quarantine: Path, clock: Clock = utcnow
) -> AbstractContextManager[None]:
    """The turn to merge into ``audit``: on ``storage`` when ``audit`` is the shared
    database's log, else a file lock in ``quarantine`` (see the module docstring)."""
    if isinstance(audit, DatabaseAuditLog):
        if storage is None:
            raise RuntimeError("merging into the database's audit log needs its storage backend")
        return _database_turn(storage, quarantine, clock)
    return _file_turn(quarantine)

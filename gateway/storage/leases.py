"""Leases: background work held by one gateway process at a time.

Several processes (and hosts) share one storage backend; work that must run in one of
them at a time (timers, approval expiry, outboxes) is guarded by a named lease.  A
holder takes the lease for ``ttl_seconds`` and renews it each time it runs the work; while
it is valid no other holder gets it.  When the holder dies it stops renewing, and once the
lease has expired the next process that asks takes it over.  A clean shutdown releases
its leases at once.

The table ``leases (name, holder, expires_at)`` lives in the backend's ``leases`` store;
taking and renewing is one write transaction (one writer per store on every backend), so
two processes never both hold one lease.  Expiry compares times from each process's own
clock: keep the hosts' clocks synchronised well within ``ttl_seconds``.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.clock import Clock, utcnow
from gateway.storage.base import Backend, Schema
from gateway.storage.errors import LeaseStoreError

__all__ = ["SCHEMA", "Leases", "new_holder"]

SCHEMA = Schema(
    "leases",
    (
        """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL);
""",
    ),
)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # UTC; text in this form sorts in time order


def new_holder() -> str:
    """A name for this process that no other process has: host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


class Leases:
    """This process's side of the lease table; ``holder`` names it."""

    def __init__(
        self,
        backend: Backend,
        path: Path,
        *,
        holder: str | None = None,
        ttl_seconds: float = 30.0,
        clock: Clock = utcnow,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("a lease must last a positive number of seconds")
        self.holder = holder or new_holder()
        self._ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock
        self._held: set[str] = set()
        self._db = backend.open(SCHEMA, path, what="lease store", error=LeaseStoreError)

    def acquire(self, name: str, *, release_on_close: bool = True) -> bool:
        """Take or renew ``name`` until ``ttl_seconds`` from now; False (and nothing
        changes) while another holder's lease on it is still valid.  Without
        ``release_on_close`` the lease outlives ``close`` and simply expires (a liveness
        lease: its expiry is what tells others the process is gone)."""
        now = self._clock()
        with self._db.transaction() as db:
            row = db.execute(
                "SELECT holder, expires_at FROM leases WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and row[0] != self.holder and row[1] > _text(now):
                self._held.discard(name)
                return False
            db.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at",
                (name, self.holder, _text(now + self._ttl)),
            )
        if release_on_close:
            self._held.add(name)
        return True

    def holder_of(self, name: str) -> str | None:
        """Who holds ``name`` now, or ``None`` when nobody's lease on it is valid."""
        with self._db.transaction(write=False) as db:
            row = db.execute(
                "SELECT holder FROM leases WHERE name = ? AND expires_at > ?",
                (name, _text(self._clock())),
            ).fetchone()
        return None if row is None else str(row[0])

    def expired(self, name: str) -> bool:
        """Whether ``name`` was held and its lease has run out unrenewed (False while it is
        valid, and for a lease nobody ever took or that was released)."""
        with self._db.transaction(write=False) as db:
            row = db.execute(
                "SELECT 1 FROM leases WHERE name = ? AND expires_at <= ?",
                (name, _text(self._clock())),
            ).fetchone()
        return row is not None

    def release(self, name: str) -> None:
        """Give ``name`` up at once (only if this process holds it)."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, self.holder))
        self._held.discard(name)

    def guard(self, name: str, job: Callable[[], object]) -> Callable[[], object]:
        """``job``, run only while this process holds (and so renews) ``name``."""

        def run() -> object:
            return job() if self.acquire(name) else None

        run.__name__ = f"leased_{name}"
        return run

    def close(self) -> None:
        """Release every lease this process holds, then close."""
        for name in sorted(self._held):
            self.release(name)
        self._db.close()

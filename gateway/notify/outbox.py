"""A durable outbox of notifications not yet delivered, on the configured storage backend.

The rows live on ``gateway.storage``: a private SQLite file (0600) by default, or the
``notify`` schema of the shared PostgreSQL database, where every gateway process queues
into and delivers from one outbox.  One row per notification, keyed by its id: the
notification as JSON, when it was queued, how many delivery attempts failed and the last
error (which never holds a secret).  A row is committed before the first delivery attempt
and deleted once delivered, so a crash loses nothing.

Delivery is claimed: a process takes a row (``claimed_by``, ``claimed_until``) in the same
write transaction that finds it free, delivers, then deletes it (delivered) or gives it
back with the error and a retry time that doubles with each failure (1 s, 2 s, 4 s, ...,
at most ``max_delay_seconds``).  Write transactions of one store run one at a time on every
backend, so two processes never hold one row: a notification is sent once across
processes, except when a process dies after the channel took it and before the row was
deleted (its claim expires after ``claim_seconds`` and another process sends it again).
After ``max_attempts`` failed attempts the row becomes a dead letter (``dead_at``): kept,
listed by ``dead_letters``, never sent again on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from gateway.erasure import ERASED_TEXT as ERASED
from gateway.notify.errors import NotificationError
from gateway.notify.model import Notification
from gateway.storage import Backend, Connection, Migration, Schema, SqliteBackend
from gateway.storage.leases import new_holder

__all__ = ["SCHEMA", "Outbox", "PendingNotification"]

SCHEMA = Schema(
    "notify",
    (
        """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    queued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
""",
        Migration(  # the queue order (SQLite's rowid until now), claims and dead letters
            sqlite="""
ALTER TABLE outbox ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET number = rowid;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until REAL;
ALTER TABLE outbox ADD COLUMN dead_at REAL;
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (queued_at, number);
""",
            postgresql="""
ALTER TABLE outbox ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until DOUBLE PRECISION;
ALTER TABLE outbox ADD COLUMN dead_at DOUBLE PRECISION;
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (queued_at, number);
""",
        ),
    ),
)
_COLUMNS = "id, body, queued_at, attempts, last_error, dead_at"
_ORDER = "ORDER BY queued_at, number"
_FREE = "dead_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)"


@dataclass(frozen=True, slots=True)
class PendingNotification:
    """A notification in the outbox, with its failed attempts, the last error and, for a
    dead letter, when it was given up."""

    notification: Notification
    queued_at: float
    attempts: int
    last_error: str | None
    dead_at: float | None = None


class Outbox:
    """The outbox on ``backend`` (the SQLite file at ``path`` when not given); ``holder``
    names this process in its claims."""

    def __init__(
        self,
        path: Path | str = Path("var/notify-outbox.sqlite3"),
        *,
        backend: Backend | None = None,
        clock: Callable[[], float] = time.time,
        holder: str | None = None,
        claim_seconds: float = 300.0,
        max_attempts: int = 20,
        max_delay_seconds: float = 300.0,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self.holder = holder or new_holder()
        self._claim_seconds = claim_seconds
        self._max_attempts = max_attempts
        self._max_delay = max_delay_seconds
        backend = backend if backend is not None else SqliteBackend()
        self._db = backend.open(
            SCHEMA, self.path, what="notification outbox", error=NotificationError
        )

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    def close(self) -> None:
        self._db.close()

    def add(self, notification: Notification, *, claim: bool = False) -> bool:
        """Keep ``notification`` until it is delivered (a repeated id is kept once).  With
        ``claim``, this process also takes it for delivery now: True when it holds it
        (False when another process does, or it is a dead letter)."""
        now = self._clock()
        until = now + self._claim_seconds if claim else None
        holder = self.holder if claim else None
        with self._db.transaction() as db:
            added = db.execute(
                "INSERT INTO outbox (id, body, queued_at, number, claimed_by, claimed_until) "
                "SELECT ?, ?, ?, coalesce(max(number), 0) + 1, ?, ? FROM outbox WHERE true "
                "ON CONFLICT (id) DO NOTHING",
                (notification.id, notification.model_dump_json(), now, holder, until),
            ).rowcount
            if added or not claim:
                return claim
            taken = db.execute(
                f"UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ? AND {_FREE}",  # noqa: S608 - fixed clause
                (holder, until, notification.id, now),
            ).rowcount
        return bool(taken)

    def claim(self, limit: int = 100) -> list[PendingNotification]:
        """Take up to ``limit`` notifications that are due and held by nobody, oldest first."""
        now = self._clock()
        with self._db.transaction() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE {_FREE} {_ORDER} LIMIT ?",  # noqa: S608 - fixed clauses
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?",
                [(self.holder, now + self._claim_seconds, row[0]) for row in rows],
            )
        return [self._entry(row) for row in rows]

    def delivered(self, notification_id: str) -> None:
        """Forget a delivered notification."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM outbox WHERE id = ?", (notification_id,))

    def failed(self, notification_id: str, error: str) -> None:
        """Count a failed attempt, keep its error and give the notification back, due again
        after a delay that doubles with each failure; a dead letter after ``max_attempts``."""
        now = self._clock()
        with self._db.transaction() as db:
            row = db.execute(
                "SELECT attempts FROM outbox WHERE id = ?", (notification_id,)
            ).fetchone()
            if row is None:
                return
            attempts = int(row[0]) + 1
            delay = min(self._max_delay, 2.0 ** (attempts - 1))
            db.execute(
                "UPDATE outbox SET attempts = ?, last_error = ?, claimed_by = NULL, "
                "claimed_until = ?, dead_at = ? WHERE id = ?",
                (
                    attempts,
                    error,
                    now + delay,
                    now if attempts >= self._max_attempts else None,
                    notification_id,
                ),
            )

    def revive(self) -> int:
        """Make every dead letter due again with a fresh count of attempts (after the
        channel's configuration was fixed, say); how many."""
        with self._db.transaction() as db:
            return db.execute(
                "UPDATE outbox SET dead_at = NULL, attempts = 0, claimed_by = NULL, "
                "claimed_until = NULL WHERE dead_at IS NOT NULL"
            ).rowcount

    def erase_recipient(self, identifiers: Collection[str], *, dry_run: bool = False) -> int:
        """Replace the title, text and field values of undelivered notifications (dead
        letters too) to a person (a recipient equal to one of ``identifiers``: their login
        or e-mail address, in any case) with ``(erased)``; the rows stay and are still
        delivered.  The number of notifications changed (or that would be, ``dry_run``)."""
        wanted = {item.casefold() for item in identifiers}
        changed = 0
        with self._db.transaction(write=not dry_run) as db:
            for item in self._rows(db, ""):
                note = item.notification
                if wanted.isdisjoint(r.casefold() for r in note.recipients):
                    continue
                update = {
                    "title": ERASED,
                    "text": ERASED,
                    "fields": dict.fromkeys(note.fields, ERASED),
                }
                erased = note.model_copy(update=update)
                if erased == note:
                    continue
                changed += 1
                if not dry_run:
                    db.execute(
                        "UPDATE outbox SET body = ? WHERE id = ?",
                        (erased.model_dump_json(), note.id),
                    )
        return changed

    def pending(self) -> list[PendingNotification]:
        """Every notification not yet delivered and not given up, oldest first."""
        with self._db.transaction(write=False) as db:
            return self._rows(db, "WHERE dead_at IS NULL")

    def dead_letters(self) -> list[PendingNotification]:
        """The notifications given up after ``max_attempts`` failed attempts, oldest first."""
        with self._db.transaction(write=False) as db:
            return self._rows(db, "WHERE dead_at IS NOT NULL")

    def _rows(self, db: Connection, where: str) -> list[PendingNotification]:
        rows = db.execute(f"SELECT {_COLUMNS} FROM outbox {where} {_ORDER}").fetchall()  # noqa: S608 - fixed clauses
        return [self._entry(row) for row in rows]

    def _entry(self, row: tuple[object, ...]) -> PendingNotification:
        row_id, body, queued_at, attempts, last_error, dead_at = row
        try:
            notification = Notification.model_validate_json(str(body))
        except ValidationError:
            raise NotificationError(
                f"notification outbox {self._db.where}: row {row_id!r} is not a notification"
            ) from None
        return PendingNotification(
            notification,
            float(queued_at),  # type: ignore[arg-type]
            int(attempts),  # type: ignore[call-overload]
            None if last_error is None else str(last_error),
            None if dead_at is None else float(dead_at),  # type: ignore[arg-type]
        )

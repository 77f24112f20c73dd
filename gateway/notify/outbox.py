"""A durable outbox of notifications not yet delivered, in one private SQLite file (0600).

One row per notification, keyed by its id: the notification as JSON, when it was queued,
how many delivery attempts failed and the last error (which never holds a secret).  A row is
written (and committed with ``synchronous=FULL``) before the first delivery attempt and
deleted once delivered, so a crash loses nothing: the next ``flush`` delivers it, perhaps a
second time (delivery is at least once).  Each operation opens its own connection, so one
``Outbox`` may be shared by threads and several processes may share the file.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from gateway.erasure import ERASED_TEXT as ERASED
from gateway.notify.errors import NotificationError
from gateway.notify.model import Notification

__all__ = ["Outbox", "PendingNotification"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    queued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
)
"""


@dataclass(frozen=True, slots=True)
class PendingNotification:
    """A notification in the outbox, with its failed attempts and the last error."""

    notification: Notification
    queued_at: float
    attempts: int
    last_error: str | None


class Outbox:
    """The SQLite outbox at ``path`` (created with its directory on first use)."""

    def __init__(
        self, path: Path | str = Path("var/notify-outbox.sqlite3"), *,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.path = Path(path)
        self._clock = clock
        with self._db() as db:
            db.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # SQLite makes a new file 0644 and its journal like the file: make it 0600 first.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            with closing(sqlite3.connect(self.path, timeout=30)) as db:
                db.execute("PRAGMA synchronous=FULL")
                with db:
                    yield db
        except (sqlite3.Error, OSError) as exc:
            raise NotificationError(
                f"notification outbox {self.path}: {type(exc).__name__}: {exc}"
            ) from None

    def add(self, notification: Notification) -> None:
        """Keep ``notification`` until it is delivered (a repeated id is kept once)."""
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO outbox (id, body, queued_at) VALUES (?, ?, ?)",
                (notification.id, notification.model_dump_json(), self._clock()),
            )

    def delivered(self, notification_id: str) -> None:
        """Forget a delivered notification."""
        with self._db() as db:
            db.execute("DELETE FROM outbox WHERE id = ?", (notification_id,))

    def failed(self, notification_id: str, error: str) -> None:
        """Count a failed attempt and keep its error."""
        with self._db() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error, notification_id),
            )

    def erase_recipient(self, identifiers: Collection[str], *, dry_run: bool = False) -> int:
        """Replace the title, text and field values of undelivered notifications to a
        person (a recipient equal to one of ``identifiers``: their login or e-mail address,
        in any case) with ``(erased)``; the rows stay and are still delivered.  The number
        of notifications changed (or that would be, ``dry_run``)."""
        wanted = {item.casefold() for item in identifiers}
        changed = 0
        with self._db() as db:
            for item in self._pending(db):
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
        """Every notification not yet delivered, oldest first."""
        with self._db() as db:
            return self._pending(db)

    def _pending(self, db: sqlite3.Connection) -> list[PendingNotification]:
        rows = db.execute(
            "SELECT id, body, queued_at, attempts, last_error FROM outbox ORDER BY queued_at, rowid"
        ).fetchall()
        pending = []
        for row_id, body, queued_at, attempts, last_error in rows:
            try:
                notification = Notification.model_validate_json(body)
            except ValidationError:
                raise NotificationError(
                    f"notification outbox {self.path}: row {row_id!r} is not a notification"
                ) from None
            pending.append(PendingNotification(notification, queued_at, attempts, last_error))
        return pending

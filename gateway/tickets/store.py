"""The ticket store: events seen, ticket-to-execution links, watermarks, dead letters and
the write-back outbox, on the configured storage backend (``gateway.storage``: the SQLite
file ``[tickets] database``, or a schema of the shared PostgreSQL database).

Exactly once rests on two unique keys: an event key is claimed once (a redelivery finds
it taken), and a ticket has one link (the automation it started, or the note that it
was left for people).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.audit.records import format_time
from gateway.erasure import ERASED_TEXT as ERASED
from gateway.storage import Backend, Connection, Database, Schema, SqliteBackend
from gateway.tickets.errors import TicketStoreError, UnknownDeadLetterError
from gateway.tickets.writeback import WriteBack, WriteBackKind

__all__ = ["SCHEMA", "DeadLetter", "Link", "OutboxItem", "StoreTransaction", "TicketStore"]

_TABLES = """
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY, ticket TEXT NOT NULL, received_at TEXT NOT NULL, outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    ticket TEXT PRIMARY KEY, source TEXT NOT NULL, ticket_id TEXT NOT NULL,
    execution_id TEXT, workflow TEXT, reported TEXT NOT NULL, note_digest TEXT,
    done_note TEXT, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_open ON links (reported);
CREATE TABLE IF NOT EXISTS watermarks (source TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, channel TEXT NOT NULL,
    received_at TEXT NOT NULL, reason TEXT NOT NULL, body BLOB NOT NULL, headers TEXT NOT NULL,
    size INTEGER NOT NULL, truncated INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'open',
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ticket TEXT NOT NULL, source TEXT NOT NULL,
    ticket_id TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, attempts INTEGER NOT NULL
    DEFAULT 0, next_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at);
CREATE TABLE IF NOT EXISTS desk_tickets (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL, kind TEXT NOT NULL,
    text TEXT NOT NULL
);
"""
SCHEMA = Schema("tickets", (_TABLES,))


@dataclass(frozen=True, slots=True)
class Link:
    ticket: str
    source: str
    ticket_id: str
    execution_id: str | None  # None: left for people
    workflow: str | None
    reported: str  # the last state written back
    note_digest: str | None
    done_note: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    source: str
    channel: str
    received_at: str
    reason: str
    body: bytes
    headers: dict[str, str]
    size: int
    truncated: bool
    state: str  # open, replayed
    attempts: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "channel": self.channel,
            "received_at": self.received_at,
            "reason": self.reason,
            "size": self.size,
            "truncated": self.truncated,
            "state": self.state,
            "replays": self.attempts,
        }


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    write_back: WriteBack
    attempts: int
    next_at: str
    state: str  # pending, delivered, failed
    last_error: str | None


def _link(row: Any) -> Link:
    return Link(*row)


class StoreTransaction:
    """The store's operations inside one transaction."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    # events
    def claim_event(self, key: str, ticket: str, now: datetime) -> bool:
        """True when ``key`` was not seen before (and is now taken)."""
        cursor = self.db.execute(
            "INSERT INTO events (key, ticket, received_at, outcome) "
            "VALUES (?, ?, ?, 'claimed') ON CONFLICT (key) DO NOTHING",
            (key, ticket, format_time(now)),
        )
        return cursor.rowcount == 1

    def settle_event(self, key: str, outcome: str) -> None:
        self.db.execute("UPDATE events SET outcome = ? WHERE key = ?", (outcome, key))

    def release_event(self, key: str) -> None:
        self.db.execute("DELETE FROM events WHERE key = ?", (key,))

    # links
    def link(self, ticket: str) -> Link | None:
        row = self.db.execute(
            "SELECT ticket, source, ticket_id, execution_id, workflow, reported, note_digest, "
            "done_note FROM links WHERE ticket = ?",
            (ticket,),
        ).fetchone()
        return None if row is None else _link(row)

    def save_link(self, link: Link, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO links (ticket, source, ticket_id, execution_id, workflow, reported, "
            "note_digest, done_note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (ticket) DO UPDATE SET source = excluded.source, "
            "ticket_id = excluded.ticket_id, execution_id = excluded.execution_id, "
            "workflow = excluded.workflow, reported = excluded.reported, "
            "note_digest = excluded.note_digest, done_note = excluded.done_note, "
            "created_at = excluded.created_at",
            (
                link.ticket, link.source, link.ticket_id, link.execution_id, link.workflow,
                link.reported, link.note_digest, link.done_note, format_time(now),
            ),
        )  # fmt: skip

    def set_reported(self, ticket: str, reported: str) -> None:
        self.db.execute("UPDATE links SET reported = ? WHERE ticket = ?", (reported, ticket))

    def open_links(self) -> list[Link]:
        """Links to executions whose last written-back state is not a final one."""
        rows = self.db.execute(
            "SELECT ticket, source, ticket_id, execution_id, workflow, reported, note_digest, "
            "done_note FROM links WHERE execution_id IS NOT NULL AND reported NOT IN "
            "('succeeded', 'failed', 'compensated', 'cancelled', 'humans') ORDER BY created_at"
        ).fetchall()
        return [_link(row) for row in rows]

    # watermarks
    def watermark(self, source: str) -> str | None:
        row = self.db.execute("SELECT value FROM watermarks WHERE source = ?", (source,)).fetchone()
        return None if row is None else str(row[0])

    def set_watermark(self, source: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO watermarks (source, value) VALUES (?, ?) "
            "ON CONFLICT (source) DO UPDATE SET value = excluded.value",
            (source, value),
        )

    # dead letters
    def add_dead_letter(
        self,
        *,
        source: str,
        channel: str,
        reason: str,
        body: bytes,
        headers: dict[str, str],
        keep_bytes: int,
        now: datetime,
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO dead_letters (source, channel, received_at, reason, body, headers, "
            "size, truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                source, channel, format_time(now), reason, body[:keep_bytes],
                json.dumps(headers, sort_keys=True), len(body), int(len(body) > keep_bytes),
            ),
        )  # fmt: skip
        return int(cursor.fetchone()[0])

    def dead_letter(self, letter_id: int) -> DeadLetter:
        row = self.db.execute(
            "SELECT id, source, channel, received_at, reason, body, headers, size, truncated, "
            "state, attempts FROM dead_letters WHERE id = ?",
            (letter_id,),
        ).fetchone()
        if row is None:
            raise UnknownDeadLetterError(letter_id)
        return DeadLetter(
            int(row[0]), row[1], row[2], row[3], row[4], bytes(row[5]), json.loads(row[6]),
            int(row[7]), bool(row[8]), row[9], int(row[10]),
        )  # fmt: skip

    def dead_letters(self, *, state: str | None = "open", limit: int = 100) -> list[DeadLetter]:
        if state is None:
            rows = self.db.execute(
                "SELECT id FROM dead_letters ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT id FROM dead_letters WHERE state = ? ORDER BY id LIMIT ?", (state, limit)
            ).fetchall()
        return [self.dead_letter(int(row[0])) for row in rows]

    def update_dead_letter(self, letter_id: int, *, state: str, reason: str) -> None:
        self.db.execute(
            "UPDATE dead_letters SET state = ?, reason = ?, attempts = attempts + 1 WHERE id = ?",
            (state, reason, letter_id),
        )

    # outbox
    def enqueue(self, item: WriteBack, now: datetime) -> int:
        cursor = self.db.execute(
            "INSERT INTO outbox (ticket, source, ticket_id, kind, text, next_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                item.ticket, item.source, item.ticket_id, str(item.kind), item.text,
                format_time(now), format_time(now),
            ),
        )  # fmt: skip
        return int(cursor.fetchone()[0])

    def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        rows = self.db.execute(
            "SELECT id, ticket, source, ticket_id, kind, text, attempts, next_at, state, "
            "last_error FROM outbox WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?",
            (format_time(now), limit),
        ).fetchall()
        return [_outbox(row) for row in rows]

    def outbox(self, ticket: str | None = None) -> list[OutboxItem]:
        query = (
            "SELECT id, ticket, source, ticket_id, kind, text, attempts, next_at, state, "
            "last_error FROM outbox"
        )
        if ticket is None:
            rows = self.db.execute(query + " ORDER BY id").fetchall()
        else:
            rows = self.db.execute(query + " WHERE ticket = ? ORDER BY id", (ticket,)).fetchall()
        return [_outbox(row) for row in rows]

    def pending_before(self, item: OutboxItem) -> bool:
        """An earlier write-back to the same ticket is still waiting: keep the order."""
        row = self.db.execute(
            "SELECT 1 FROM outbox WHERE ticket = ? AND state = 'pending' AND id < ? LIMIT 1",
            (item.write_back.ticket, item.id),
        ).fetchone()
        return row is not None

    def settle_outbox(
        self, item_id: int, *, state: str, next_at: datetime, error: str | None
    ) -> None:
        self.db.execute(
            "UPDATE outbox SET state = ?, attempts = attempts + 1, next_at = ?, last_error = ? "
            "WHERE id = ?",
            (state, format_time(next_at), error, item_id),
        )

    # -- a person's tickets in the embedded desk (``gateway privacy``) --------------------

    def _reported_by(self, login: str) -> list[tuple[str, dict[str, Any], str]]:
        rows = self.db.execute(
            "SELECT id, body, state FROM desk_tickets WHERE body LIKE ? ORDER BY id",
            (f'%"requester_username": {json.dumps(login)}%',),
        ).fetchall()
        found = [(str(ref), json.loads(body), str(state)) for ref, body, state in rows]
        return [item for item in found if item[1]["requester_username"] == login]

    def _entries(self, ref: str) -> list[tuple[int, str, str]]:
        rows = self.db.execute(
            "SELECT seq, kind, text FROM desk_entries WHERE ticket_id = ? ORDER BY seq", (ref,)
        ).fetchall()
        return [(int(seq), str(kind), str(text)) for seq, kind, text in rows]

    def reported_by(self, login: str) -> list[dict[str, Any]]:
        """The embedded desk's tickets ``login`` reported, with what was written to them."""
        return [
            {
                **body,
                "state": state,
                "entries": [{"kind": kind, "text": text} for _, kind, text in self._entries(ref)],
            }
            for ref, body, state in self._reported_by(login)
        ]

    def erase_reporter(self, login: str, *, dry_run: bool = False) -> int:
        """Replace the texts of the tickets ``login`` reported (subject, description, the
        requester's name and e-mail, custom fields, and every comment, note and resolution
        written to them) with ``(erased)``; ids, states and the requester's login stay.
        The number of tickets changed (or that would be, ``dry_run``)."""
        changed = 0
        for ref, body, _ in self._reported_by(login):
            erased = {
                **body,
                "subject": ERASED,
                "description": ERASED,
                "requester_email": None if body["requester_email"] is None else ERASED,
                "requester_name": ERASED if body["requester_name"] else "",
                "fields": dict.fromkeys(body["fields"], ERASED),
            }
            entries = [seq for seq, _, text in self._entries(ref) if text != ERASED]
            if erased == body and not entries:
                continue
            changed += 1
            if dry_run:
                continue
            self.db.execute(
                "UPDATE desk_tickets SET body = ? WHERE id = ?",
                (json.dumps(erased, sort_keys=True), ref),
            )
            self.db.executemany(
                "UPDATE desk_entries SET text = ? WHERE seq = ?", [(ERASED, s) for s in entries]
            )
        return changed


def _outbox(row: Any) -> OutboxItem:
    item = WriteBack(
        ticket=row[1], source=row[2], ticket_id=row[3], kind=WriteBackKind(row[4]), text=row[5]
    )
    return OutboxItem(int(row[0]), item, int(row[6]), row[7], row[8], row[9])


class TicketStore:
    """The ticket tables on a storage backend (a SQLite file at ``path`` unless another
    backend is given)."""

    def __init__(self, path: Path, *, backend: Backend | None = None) -> None:
        self.path = path
        self._db = (backend or SqliteBackend()).open(
            SCHEMA, path, what="ticket store", error=TicketStoreError
        )

    @property
    def database(self) -> Database:
        return self._db

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[StoreTransaction]:
        with self._db.transaction(write=write) as db:
            yield StoreTransaction(db)

    def close(self) -> None:
        self._db.close()

"""Help desks: where tickets live and where write-backs go.

``HelpDesk`` is what the intake needs of one: ``fetch`` a ticket (to confirm that a
webhook's ticket exists) and ``deliver`` a write-back.  ``TicketSource`` adds polling.
``EmbeddedHelpDesk`` is the default: tickets from replayed files and the generic webhook
kept in the ticket store, with every comment, work note and resolution appended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from gateway.tickets.errors import UnknownTicketError
from gateway.tickets.model import Ticket, TicketEvent
from gateway.tickets.store import TicketStore
from gateway.tickets.writeback import WriteBack, WriteBackKind

__all__ = ["DeskEntry", "EmbeddedHelpDesk", "HelpDesk", "PollBatch", "Rejected", "TicketSource"]


class HelpDesk(Protocol):
    """A help desk the gateway reads tickets from and writes back to.

    ``fetch`` raises ``UnknownTicketError`` for a ticket it does not have; both raise
    ``HelpDeskUnavailableError`` when it cannot be reached (tried again later) and
    ``HelpDeskError`` when it refuses.
    """

    name: str

    def fetch(self, ticket_id: str) -> Ticket: ...

    def deliver(self, item: WriteBack) -> None: ...


@dataclass(frozen=True, slots=True)
class Rejected:
    """A polled record that could not be read as a ticket."""

    reason: str
    body: bytes


@dataclass(frozen=True, slots=True)
class PollBatch:
    events: list[TicketEvent]
    rejected: list[Rejected]
    watermark: str | None  # the newest change time seen; None when nothing came


class TicketSource(HelpDesk, Protocol):
    """A help desk that can be polled for changes since a watermark."""

    def changes(self, since: str | None) -> PollBatch: ...


@dataclass(frozen=True, slots=True)
class DeskEntry:
    kind: str
    text: str


class EmbeddedHelpDesk:
    """Tickets and what was written to them, in the ticket store."""

    name = "embedded"

    def __init__(self, store: TicketStore) -> None:
        self._store = store

    def record(self, ticket: Ticket) -> None:
        """Keep ``ticket`` (new, or the latest version of it)."""
        body = json.dumps(ticket.as_json(), sort_keys=True)
        with self._store.database.transaction() as db:
            db.execute(
                "INSERT INTO desk_tickets (id, body, state) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                (ticket.ref, body, ticket.state or "new"),
            )

    def knows(self, ticket: Ticket) -> bool:
        with self._store.database.transaction(write=False) as db:
            row = db.execute("SELECT 1 FROM desk_tickets WHERE id = ?", (ticket.ref,)).fetchone()
        return row is not None

    def fetch(self, ticket_id: str) -> Ticket:
        with self._store.database.transaction(write=False) as db:
            row = db.execute(
                "SELECT body, state FROM desk_tickets WHERE id = ?", (ticket_id,)
            ).fetchone()
        if row is None:
            raise UnknownTicketError(f"ticket {ticket_id} does not exist in the embedded desk")
        data = json.loads(row[0])
        data.pop("ref")
        data["state"] = row[1]
        data["closed"] = row[1] == "resolved"
        return Ticket(**data)

    def deliver(self, item: WriteBack) -> None:
        with self._store.database.transaction() as db:
            found = db.execute("SELECT 1 FROM desk_tickets WHERE id = ?", (item.ticket,))
            if found.fetchone() is None:
                raise UnknownTicketError(
                    f"ticket {item.ticket} does not exist in the embedded desk"
                )
            db.execute(
                "INSERT INTO desk_entries (ticket_id, kind, text) VALUES (?, ?, ?)",
                (item.ticket, str(item.kind), item.text),
            )
            if item.kind is WriteBackKind.RESOLVE:
                db.execute(
                    "UPDATE desk_tickets SET state = 'resolved' WHERE id = ?", (item.ticket,)
                )

    def entries(self, ticket_ref: str) -> list[DeskEntry]:
        """Everything written to the ticket, oldest first."""
        with self._store.database.transaction(write=False) as db:
            rows = db.execute(
                "SELECT kind, text FROM desk_entries WHERE ticket_id = ? ORDER BY seq",
                (ticket_ref,),
            ).fetchall()
        return [DeskEntry(str(kind), str(text)) for kind, text in rows]

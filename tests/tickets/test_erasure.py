"""A person's tickets in the embedded desk are erased in place: their texts become
``(erased)``; the ticket, its state, its requester's login and other people's tickets stay
(on SQLite and on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from gateway.storage import Backend
from gateway.tickets.helpdesk import EmbeddedHelpDesk
from gateway.tickets.model import Ticket, TicketId
from gateway.tickets.store import TicketStore
from gateway.tickets.writeback import WriteBack, WriteBackKind


def _ticket(
    number: str, username: str, name: str = "", fields: dict[str, str] | None = None
) -> Ticket:
    return Ticket(
        source="embedded", id=TicketId(number), number=number, subject="Printer jams",
        description=f"{username}'s printer jams", requester_username=username,
        requester_name=name, fields=fields or {},
    )  # fmt: skip


def _comment(number: str, text: str) -> WriteBack:
    return WriteBack(
        ticket=f"embedded:{number}", source="embedded", ticket_id=number,
        kind=WriteBackKind.COMMENT, text=text,
    )  # fmt: skip


def test_tickets_are_erased_per_reporter_and_written_again_later(
    tmp_path: Path, storage_backend: Backend
) -> None:
    store = TicketStore(tmp_path / "tickets.db", backend=storage_backend)
    desk = EmbeddedHelpDesk(store)
    desk.record(_ticket("T-1", "tom", "Tom Becker", {"room": "4.12"}))
    desk.record(_ticket("T-2", "priya"))
    desk.record(_ticket("T-3", "tommy"))  # a login that starts like tom's
    desk.deliver(_comment("T-1", "Tom Becker's printer was replaced"))
    with store.transaction(write=False) as tx:
        assert tx.erase_reporter("tom", dry_run=True) == 1
        assert tx.reported_by("tom")[0]["requester_name"] == "Tom Becker"
    with store.transaction() as tx:
        assert tx.erase_reporter("tom") == 1
    erased = desk.fetch("embedded:T-1")
    assert (erased.subject, erased.requester_name, erased.fields) == (
        "(erased)", "(erased)", {"room": "(erased)"},
    )  # fmt: skip
    assert erased.requester_email is None  # nothing to erase stays nothing
    assert erased.requester_username == "tom"
    assert desk.entries("embedded:T-1")[0].text == "(erased)"
    assert desk.fetch("embedded:T-2").description == "priya's printer jams"
    assert desk.fetch("embedded:T-3").description == "tommy's printer jams"
    desk.deliver(_comment("T-1", "Tom Becker, please check again"))  # written after
    with store.transaction() as tx:
        assert tx.erase_reporter("tom") == 1
        assert tx.erase_reporter("tom") == 0
        assert [e["text"] for e in tx.reported_by("tom")[0]["entries"]] == ["(erased)"] * 2
    store.close()

"""Polling rounds over the help desks that can be polled (``TicketSource``).

Each desk is asked for its changes since its watermark.  Issues it could not read are
dead-lettered; each event is received in order.  A desk that cannot answer, or an outage
met on an event (directory, help desk), stops that desk's round with the reason in the
report and leaves its watermark where it was, so the next round asks again; the other
desks go on.  The watermark moves only after a whole batch was taken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gateway.errors import IdentityError
from gateway.tickets.errors import HelpDeskUnavailableError
from gateway.tickets.helpdesk import HelpDesk, TicketSource
from gateway.tickets.model import TicketEvent
from gateway.tickets.results import IntakeResult, PollReport
from gateway.tickets.store import TicketStore

__all__ = ["DeadLetter", "poll_desks"]

DeadLetter = Callable[[str, bytes, str], IntakeResult]  # (desk name, body, reason)


def poll_desks(
    store: TicketStore,
    desks: Mapping[str, HelpDesk],
    receive: Callable[[TicketEvent], IntakeResult],
    dead_letter: DeadLetter,
) -> PollReport:
    """One polling round of every help desk that can be polled."""
    report = PollReport()
    for name, desk in sorted(desks.items()):
        if hasattr(desk, "changes"):
            _poll_one(store, name, desk, receive, dead_letter, report)  # type: ignore[arg-type]
    return report


def _poll_one(
    store: TicketStore,
    name: str,
    desk: TicketSource,
    receive: Callable[[TicketEvent], IntakeResult],
    dead_letter: DeadLetter,
    report: PollReport,
) -> None:
    with store.transaction(write=False) as tx:
        since = tx.watermark(name)
    report.watermarks[name] = since
    try:
        batch = desk.changes(since)
    except HelpDeskUnavailableError as exc:
        report.errors[name] = str(exc)
        return
    for rejected in batch.rejected:
        report.results.append(dead_letter(name, rejected.body, rejected.reason))
    for event in batch.events:
        try:
            report.results.append(receive(event))
        except (IdentityError, HelpDeskUnavailableError) as exc:
            report.errors[name] = f"stopped at {event.ticket.ref}: {exc}"
            return
    if batch.watermark is not None and batch.watermark != since:
        with store.transaction() as tx:
            tx.set_watermark(name, batch.watermark)
        report.watermarks[name] = batch.watermark

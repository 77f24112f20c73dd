"""After the start: each later state of an execution a ticket started is written back once.

The link of a ticket remembers the last state reported; ``report`` queues the write-backs
of a new state (``progress``: a comment, a work note, the resolution) in the outbox and
moves the link on, in one transaction, so a state is never written back twice.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.runtime.model import Execution
from gateway.tickets.outbox import WriteBackQueue
from gateway.tickets.progress import progress_writebacks
from gateway.tickets.store import Link, TicketStore

__all__ = ["FollowUp"]


class FollowUp:
    """Write-backs for the executions tickets started; ``execution`` reads one by id."""

    def __init__(
        self,
        store: TicketStore,
        outbox: WriteBackQueue,
        execution: Callable[[str], Execution],
    ) -> None:
        self.store = store
        self.outbox = outbox
        self._execution = execution

    def report(self, link: Link, execution: Execution) -> bool:
        """Queue the write-backs for the execution's state unless already written."""
        state = str(execution.state)
        with self.store.transaction() as tx:
            current = tx.link(link.ticket)
            if current is None or current.reported == state:
                return False
            for kind, text in progress_writebacks(execution, link.done_note):
                self.outbox.queue(tx, (link.ticket, link.source, link.ticket_id), kind, text)
            tx.set_reported(link.ticket, state)
        return True

    def follow_up(self) -> int:
        """Write back what changed in the executions tickets started; how many changed."""
        with self.store.transaction(write=False) as tx:
            links = tx.open_links()
        return sum(self.report(link, self._execution(str(link.execution_id))) for link in links)

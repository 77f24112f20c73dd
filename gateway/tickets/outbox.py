"""The write-back outbox: checked texts queued in the ticket store, delivered in order.

``queue`` checks the text (``check_text``), audits ``ticket.writeback_queued`` and stores
the item in the caller's store transaction, so a write-back is never lost between the
decision to write and the help desk taking it.  ``flush`` delivers what is due, oldest
first, never overtaking an earlier write-back to the same ticket: a desk that is down
leaves the item pending with exponential backoff (``OutboxPolicy``); a refusal marks it
failed.  Both outcomes are audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.clock import Clock
from gateway.tickets.errors import (
    HelpDeskError,
    HelpDeskUnavailableError,
    TicketEventError,
    WriteBackRefusedError,
)
from gateway.tickets.helpdesk import HelpDesk
from gateway.tickets.store import OutboxItem, StoreTransaction, TicketStore
from gateway.tickets.writeback import (
    DEFAULT_POLICY,
    OutboxPolicy,
    WriteBack,
    WriteBackKind,
    check_text,
)

__all__ = ["FlushReport", "WriteBackQueue"]

log = logging.getLogger(__name__)


class FlushReport:
    def __init__(self) -> None:
        self.delivered = 0
        self.waiting = 0
        self.failed = 0

    def as_json(self) -> dict[str, int]:
        return {"delivered": self.delivered, "waiting": self.waiting, "failed": self.failed}


class WriteBackQueue:
    def __init__(
        self,
        store: TicketStore,
        desk_for: Callable[[str], HelpDesk],
        audit: AuditSink | None,
        clock: Clock,
        policy: OutboxPolicy = DEFAULT_POLICY,
    ) -> None:
        self._store = store
        self._desk_for = desk_for
        self._audit = audit
        self._clock = clock
        self.policy = policy

    def _record(self, kind: str, ticket: str, payload: Mapping[str, Any]) -> None:
        if self._audit is not None:
            self._audit(AuditEvent(type=kind, resource=f"ticket:{ticket}", payload=dict(payload)))

    def queue(
        self, tx: StoreTransaction, ticket: tuple[str, str, str], kind: WriteBackKind, text: str
    ) -> int | None:
        """Queue ``text`` for the ticket (ref, source, desk id); ``None`` when refused."""
        ref, source, ticket_id = ticket
        try:
            checked = check_text(text)
        except WriteBackRefusedError as exc:
            self._record("ticket.writeback_refused", ref, {"kind": str(kind), "reason": str(exc)})
            return None
        item = WriteBack(ref, source, ticket_id, kind, checked)
        self._record("ticket.writeback_queued", ref, {"kind": str(kind), "text": checked})
        return tx.enqueue(item, self._clock())

    def flush(self, limit: int = 100) -> FlushReport:
        """Deliver the write-backs that are due."""
        report = FlushReport()
        now = self._clock()
        with self._store.transaction(write=False) as tx:
            due = tx.due(now, limit)
        blocked: set[str] = set()
        for item in due:
            ticket = item.write_back.ticket
            with self._store.transaction(write=False) as tx:
                earlier = tx.pending_before(item)
            if ticket in blocked or earlier:
                blocked.add(ticket)
                report.waiting += 1
                continue
            outcome = self._deliver(item)
            if outcome == "pending":
                blocked.add(ticket)
                report.waiting += 1
            elif outcome == "failed":
                report.failed += 1
            else:
                report.delivered += 1
        return report

    def _deliver(self, item: OutboxItem) -> str:
        """The item's state after this try: delivered, pending or failed."""
        write_back = item.write_back
        now = self._clock()
        payload: dict[str, Any] = {"kind": str(write_back.kind), "outbox": item.id}
        try:
            self._desk_for(write_back.source).deliver(write_back)
        except HelpDeskUnavailableError as exc:
            attempts = item.attempts + 1
            if attempts >= self.policy.max_attempts:
                self._settle(item, "failed", now, str(exc))
                self._record("ticket.writeback_failed", write_back.ticket, payload | {
                    "error": str(exc), "attempts": attempts})  # fmt: skip
                return "failed"
            later = self.policy.next_try(now, item.attempts, exc.retry_after)
            self._settle(item, "pending", later, str(exc))
            log.info("write-back %s to %s waits: %s", item.id, write_back.ticket, exc)
            return "pending"
        except (HelpDeskError, TicketEventError) as exc:
            self._settle(item, "failed", now, str(exc))
            self._record("ticket.writeback_failed", write_back.ticket, payload | {
                "error": str(exc), "attempts": item.attempts + 1})  # fmt: skip
            return "failed"
        self._settle(item, "delivered", now, None)
        self._record("ticket.writeback_delivered", write_back.ticket, payload)
        return "delivered"

    def _settle(self, item: OutboxItem, state: str, at: datetime, error: str | None) -> None:
        with self._store.transaction() as tx:
            tx.settle_outbox(item.id, state=state, next_at=at, error=error)

"""Ticket intake: from a delivery to a started workflow, exactly once, and back.

``TicketService`` takes events from every channel (webhooks, polling, replay files) and:

1. refuses a source that is not set up and, for a source without a gateway credential
   (the Jira webhook), a delivery over its rate (``IntakeLimits``), keeping only a count;
   reads the delivery (``reading``: signature, size, encoding, JSON, the desk's shape) or
   puts it in the dead-letter store with the reason (audited; whole and replayable when
   its sender was authenticated, else an excerpt); the intake goes on;
2. claims the event key: a redelivery is a ``duplicate`` and does nothing;
3. finds the ticket's link: an automation already running (``in_progress``) or finished
   (``already_handled``) for it starts nothing;
4. routes the ticket (``Router``), audits the decision (``ticket.routed``) and starts the
   workflow through the guarded runtime, with the idempotency key ``ticket:<ref>``;
   another execution on the same target is a ``conflict``, noted on both tickets;
5. queues write-backs in the outbox; ``follow_up`` writes back each later state,
   ``flush_outbox`` delivers.

A directory or help desk that cannot answer releases the event (it is processed again on
the next delivery or polling round) and raises; nothing is lost or half-recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from gateway.audit.records import AuditEvent
from gateway.audit.sink import AuditSink
from gateway.clock import Clock, utcnow
from gateway.errors import GatewayError, IdentityError
from gateway.runtime.errors import (
    IdempotencyConflictError,
    ParameterError,
    TargetConflictError,
    UnknownWorkflowError,
)
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution
from gateway.tickets.errors import (
    HelpDeskUnavailableError,
    SignatureError,
    SourceNotConfiguredError,
    TicketEventError,
    UnknownDeadLetterError,
)
from gateway.tickets.helpdesk import EmbeddedHelpDesk, HelpDesk, TicketSource
from gateway.tickets.intake_limits import IntakeLimits
from gateway.tickets.jira import DELIVERY_HEADER, SIGNATURE_HEADER
from gateway.tickets.model import Ticket, TicketEvent
from gateway.tickets.outbox import FlushReport, WriteBackQueue
from gateway.tickets.progress import progress_writebacks
from gateway.tickets.reading import (
    UNAUTHENTICATED,
    Page,
    check_configured,
    read_delivery,
    split_page,
)
from gateway.tickets.results import IntakeResult, Outcome, PollReport
from gateway.tickets.routing import Router, RoutingDecision
from gateway.tickets.store import DeadLetter, Link, TicketStore
from gateway.tickets.writeback import DEFAULT_POLICY, OutboxPolicy, WriteBackKind

__all__ = ["Advance", "IntakeResult", "Outcome", "PollReport", "TicketService"]

Advance = Literal["inline", "background", "none"]
CHANNEL = "ticket"
HUMANS = "humans"
_KEPT_HEADERS = ("content-type", SIGNATURE_HEADER.lower(), DELIVERY_HEADER.lower())
EXCERPT_BYTES = 4096  # what is kept of a delivery that cannot be replayed


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class TicketService:
    def __init__(
        self,
        *,
        store: TicketStore,
        router: Router,
        executor: Executor,
        desks: Mapping[str, HelpDesk] | None = None,
        audit: AuditSink | None = None,
        max_event_bytes: int = 1_048_576,
        advance: Advance = "inline",
        clock: Clock = utcnow,
        outbox_policy: OutboxPolicy = DEFAULT_POLICY,
        limits: IntakeLimits | None = None,
    ) -> None:
        self.store = store
        self.router = router
        self.executor = executor
        self.embedded = EmbeddedHelpDesk(store)
        self.desks: dict[str, HelpDesk] = dict(desks or {})
        self.max_event_bytes = max_event_bytes
        self.advance = advance
        self._audit = audit
        self._clock = clock
        self.outbox = WriteBackQueue(store, self.desk_for, audit, clock, outbox_policy)
        self.limits = limits or IntakeLimits()
        self.alert_actor: str | None = None  # Alertmanager webhooks act as this account
        # sources whose dead letters another reader replays: source -> replay(letter)
        self.replayers: dict[str, Callable[[DeadLetter], IntakeResult]] = {}

    def desk_for(self, source: str) -> HelpDesk:
        """The help desk a ticket of ``source`` lives in (the embedded one by default)."""
        return self.desks.get(source, self.embedded)

    def refused(self) -> dict[str, dict[str, int]]:
        """Deliveries refused before intake (not configured, rate limited), by source."""
        return self.limits.refused.as_json()

    def close(self) -> None:
        for desk in self.desks.values():
            closer = getattr(desk, "close", None)
            if callable(closer):
                closer()
        self.store.close()

    def _record(self, kind: str, payload: dict[str, Any], **fields: str | None) -> None:
        if self._audit is not None:
            self._audit(AuditEvent(type=kind, payload=payload, **fields))

    # -- deliveries ---------------------------------------------------------------------

    def receive_delivery(
        self,
        source: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        channel: str = "webhook",
    ) -> IntakeResult:
        """One delivery from ``source`` (``servicenow``, ``jira``, ``generic`` or
        ``replay``): read it, or dead-letter it with the reason.

        A source that is not set up raises ``SourceNotConfiguredError`` and an
        unauthenticated one over its rate ``IntakeRateLimitedError``; neither keeps
        anything but a count."""
        try:
            check_configured(source, channel, self.desks)
        except SourceNotConfiguredError:
            self.limits.refused.add(source, "not_configured")
            raise
        if (source, channel) in UNAUTHENTICATED:
            self.limits.admit(source)
        kept = {k.lower(): v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
        return self._intake(source, channel, body, kept, None)

    def _intake(
        self,
        source: str,
        channel: str,
        body: bytes,
        headers: dict[str, str],
        letter: int | None,
        where: str | None = None,
    ) -> IntakeResult:
        """``where`` names a record of a page (never itself read as a page)."""
        try:
            page = None
            if where is None:
                page = split_page(source, body, headers.get("content-type"), self.max_event_bytes)
            if page is not None:
                result = self._page(source, channel, page, headers)
            else:
                event = read_delivery(
                    source, channel, body, headers,
                    desks=self.desks, embedded=self.embedded,
                    max_event_bytes=self.max_event_bytes,
                )  # fmt: skip
                result = self.receive(event)
        except TicketEventError as exc:
            verified = not isinstance(exc, SignatureError)
            return self._dead_letter(
                source,
                channel,
                body,
                headers,
                (where or "") + str(exc),
                letter,
                verified=verified,
            )
        if letter is not None:
            with self.store.transaction() as tx:
                tx.update_dead_letter(
                    letter, state="replayed", reason=f"replayed: {result.outcome}"
                )
            self._record(
                "ticket.dead_letter_replayed",
                {"dead_letter": letter, "outcome": str(result.outcome), "ticket": result.ticket},
            )
        return result

    def _page(self, source: str, channel: str, page: Page, headers: dict[str, str]) -> IntakeResult:
        """Each record of a Table API page on its own: a bad one is dead-lettered (its
        field named), the others go on.  An outage stops the page (the sender delivers it
        again; records already taken are duplicates then)."""
        kept = {k: v for k, v in headers.items() if k == "content-type"}
        if page.single:
            return self._intake(source, channel, page.parts[0], kept, None, where="")
        records = tuple(
            self._intake(source, channel, part, kept, None, where=f"result[{index}]: ")
            for index, part in enumerate(page.parts)
        )
        counts: dict[str, int] = {}
        for record in records:
            counts[str(record.outcome)] = counts.get(str(record.outcome), 0) + 1
        summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "nothing"
        message = f"a page of {len(records)} records: {summary}"
        return IntakeResult(Outcome.PAGE, None, message, records=records)

    def _dead_letter(
        self,
        source: str,
        channel: str,
        body: bytes,
        headers: dict[str, str],
        reason: str,
        letter: int | None,
        *,
        verified: bool = True,
    ) -> IntakeResult:
        """Keep what could not be used: the whole body (up to ``max_event_bytes``) when its
        sender was authenticated, so it can be replayed; else, or when too large, only the
        first ``EXCERPT_BYTES`` (with the size and SHA-256, not replayable)."""
        whole = verified and len(body) <= self.max_event_bytes
        keep = self.max_event_bytes if whole else EXCERPT_BYTES
        with self.store.transaction() as tx:
            payload = {
                "source": source, "channel": channel, "reason": reason, "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            }  # fmt: skip
            if letter is None:
                letter = tx.add_dead_letter(
                    source=source, channel=channel, reason=reason, body=body, headers=headers,
                    keep_bytes=keep, now=self._clock(),
                )  # fmt: skip
            else:
                tx.update_dead_letter(letter, state="open", reason=reason)
            self._record("ticket.dead_lettered", payload | {"dead_letter": letter})
        return IntakeResult(Outcome.DEAD_LETTER, None, reason, dead_letter=letter)

    def dead_letter(
        self, source: str, channel: str, body: bytes, headers: dict[str, str], reason: str
    ) -> IntakeResult:
        """Keep a delivery that could not be used, with the reason (audited)."""
        return self._dead_letter(source, channel, body, headers, reason, None)

    def record(self, kind: str, payload: dict[str, Any], **fields: str | None) -> None:
        """Append an intake record to the audit log (when there is one)."""
        self._record(kind, payload, **fields)

    def replay_lines(self, lines: list[bytes]) -> list[IntakeResult]:
        """Each line of a replay file (JSON Lines), in order, numbered from 1; blank lines
        are skipped.  Nothing stops the replay: a bad line is dead-lettered, and a line
        that meets an outage (directory, help desk, audit log) is ``not_taken`` with the
        reason; its event key was released, so replaying the file again takes it.  Each
        record of a Table API page is reported on its line's number."""
        results: list[IntakeResult] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                result = self.receive_delivery("replay", line, {}, channel="replay")
            except GatewayError as exc:
                result = IntakeResult(Outcome.NOT_TAKEN, None, str(exc))
            results.extend(replace(one, line=number) for one in result.records or (result,))
        return results

    def replay_dead_letter(self, letter_id: int) -> IntakeResult:
        """Read a dead letter again (after a fix); it stays open with the new reason when
        it still cannot be used."""
        with self.store.transaction(write=False) as tx:
            letter = tx.dead_letter(letter_id)
        if letter.state != "open":
            raise UnknownDeadLetterError(letter_id)
        if letter.truncated:
            raise TicketEventError(
                f"dead letter {letter_id} was kept only in part ({letter.size} bytes); "
                "it cannot be replayed"
            )
        replay = self.replayers.get(letter.source)
        if replay is not None:  # a source with its own reading (Alertmanager)
            return replay(letter)
        return self._intake(letter.source, letter.channel, letter.body, letter.headers, letter.id)

    # -- events ---------------------------------------------------------------------------

    def receive(self, event: TicketEvent) -> IntakeResult:
        """Handle one event exactly once."""
        ticket = event.ticket
        if self.desk_for(ticket.source) is self.embedded:
            self.embedded.record(ticket)
        with self.store.transaction() as tx:
            if not tx.claim_event(event.key, ticket.ref, self._clock()):
                return IntakeResult(Outcome.DUPLICATE, ticket.ref, "event already received")
        try:
            result = self._handle(ticket)
        except (IdentityError, HelpDeskUnavailableError):
            with self.store.transaction() as tx:
                tx.release_event(event.key)
            raise
        with self.store.transaction() as tx:
            tx.settle_event(event.key, str(result.outcome))
        return result

    def _handle(self, ticket: Ticket) -> IntakeResult:
        with self.store.transaction(write=False) as tx:
            link = tx.link(ticket.ref)
        if link is not None and link.execution_id is not None:
            execution = self.executor.get(link.execution_id)
            if not execution.state.finished:
                message = f"execution {execution.id} ({execution.workflow}) is already running"
                return IntakeResult(Outcome.IN_PROGRESS, ticket.ref, message, execution=execution)
            message = f"execution {execution.id} ({execution.workflow}) already handled it"
            return IntakeResult(Outcome.ALREADY_HANDLED, ticket.ref, message, execution=execution)
        if ticket.closed:
            return IntakeResult(Outcome.IGNORED, ticket.ref, f"ticket is closed ({ticket.state})")
        decision = self.router.route(ticket)
        self._record(
            "ticket.routed",
            {
                **decision.as_json(),
                "confidence": f"{decision.confidence:.3f}",  # the audit log holds no floats
                "source": ticket.source,
            },
            actor=decision.actor,
            resource=f"ticket:{ticket.ref}",
        )
        if not decision.automated:
            return self._to_people(ticket, decision, decision.note, link)
        return self._start(ticket, decision)

    def _who(self, ticket: Ticket) -> tuple[str, str, str]:
        return (ticket.ref, ticket.source, ticket.id)

    def _to_people(
        self, ticket: Ticket, decision: RoutingDecision, note: str, link: Link | None
    ) -> IntakeResult:
        text = f"{note} Queue: {decision.queue or 'service-desk'}. Why: " + "; ".join(
            decision.explanation
        )
        digest = _digest(text)
        with self.store.transaction() as tx:
            if link is None or link.note_digest != digest:
                self.outbox.queue(tx, self._who(ticket), WriteBackKind.WORK_NOTE, text)
            tx.save_link(
                Link(ticket.ref, ticket.source, ticket.id, None, None, HUMANS, digest, None),
                self._clock(),
            )
        return IntakeResult(Outcome.HUMANS, ticket.ref, note, decision=decision)

    def _start(self, ticket: Ticket, decision: RoutingDecision) -> IntakeResult:
        workflow = str(decision.workflow)
        try:
            execution = self.executor.start(
                workflow,
                decision.parameters,
                actor=str(decision.actor),
                channel=CHANNEL,
                ticket=ticket.ref,
                idempotency_key=f"ticket:{ticket.ref}",
            )
        except TargetConflictError as exc:
            return self._conflict(ticket, decision, exc)
        except IdempotencyConflictError as exc:
            message = f"execution {exc.execution_id} already handled this ticket"
            return IntakeResult(Outcome.ALREADY_HANDLED, ticket.ref, message, decision=decision)
        except (ParameterError, UnknownWorkflowError) as exc:
            note = f"Left for a person: {workflow} could not start: {exc}."
            return self._to_people(ticket, decision, note, None)
        link = Link(
            ticket.ref, ticket.source, ticket.id, execution.id, workflow, str(execution.state),
            None, decision.done_note,
        )  # fmt: skip
        with self.store.transaction() as tx:
            tx.save_link(link, self._clock())
            if decision.note:
                self.outbox.queue(tx, self._who(ticket), WriteBackKind.COMMENT, decision.note)
        if self.advance == "inline":
            execution = self.executor.advance(execution.id)
            self._report(link, execution)
        elif self.advance == "background":
            self.executor.submit(execution.id)
        message = f"started {workflow} as {decision.actor}: execution {execution.id}"
        return IntakeResult(Outcome.STARTED, ticket.ref, message, decision, execution)

    def _conflict(
        self, ticket: Ticket, decision: RoutingDecision, exc: TargetConflictError
    ) -> IntakeResult:
        other = self.executor.get(exc.execution_id)
        other_ticket = other.ticket
        self._record(
            "ticket.conflict",
            {"target": exc.target, "execution": exc.execution_id, "other_ticket": other_ticket},
            actor=decision.actor,
            resource=f"ticket:{ticket.ref}",
        )
        here = (
            f"Not started: execution {exc.execution_id}"
            + (f" for ticket {other_ticket}" if other_ticket else "")
            + f" is already acting on {exc.target}. Left for a person to decide once it ends."
        )
        with self.store.transaction() as tx:
            self.outbox.queue(tx, self._who(ticket), WriteBackKind.WORK_NOTE, here)
            there = tx.link(other_ticket) if other_ticket else None
            if there is not None:
                note = (
                    f"Conflict: ticket {ticket.ref} asks for work on {exc.target} too; it was "
                    "not started while this automation runs."
                )
                self.outbox.queue(
                    tx, (there.ticket, there.source, there.ticket_id), WriteBackKind.WORK_NOTE, note
                )
            tx.save_link(
                Link(ticket.ref, ticket.source, ticket.id, None, None, HUMANS, _digest(here), None),
                self._clock(),
            )
        return IntakeResult(Outcome.CONFLICT, ticket.ref, here, decision=decision)

    # -- after the start --------------------------------------------------------------------

    def _report(self, link: Link, execution: Execution) -> bool:
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
        return sum(self._report(link, self.executor.get(str(link.execution_id))) for link in links)

    def flush_outbox(self) -> FlushReport:
        return self.outbox.flush()

    # -- polling ----------------------------------------------------------------------------

    def poll(self) -> PollReport:
        """One polling round of every help desk that can be polled."""
        report = PollReport()
        for name, desk in sorted(self.desks.items()):
            if hasattr(desk, "changes"):
                self._poll_one(name, desk, report)  # type: ignore[arg-type]
        return report

    def _poll_one(self, name: str, desk: TicketSource, report: PollReport) -> None:
        with self.store.transaction(write=False) as tx:
            since = tx.watermark(name)
        report.watermarks[name] = since
        try:
            batch = desk.changes(since)
        except HelpDeskUnavailableError as exc:
            report.errors[name] = str(exc)
            return
        for rejected in batch.rejected:
            result = self._dead_letter(name, "poll", rejected.body, {}, rejected.reason, None)
            report.results.append(result)
        for event in batch.events:
            try:
                report.results.append(self.receive(event))
            except (IdentityError, HelpDeskUnavailableError) as exc:
                report.errors[name] = f"stopped at {event.ticket.ref}: {exc}"
                return
        if batch.watermark is not None and batch.watermark != since:
            with self.store.transaction() as tx:
                tx.set_watermark(name, batch.watermark)
            report.watermarks[name] = batch.watermark

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

Reading deliveries and dead letters is ``deliveries``'s, writing back later states
``follow_up``'s, and polling rounds ``polling``'s; this module decides what a ticket gets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
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
from gateway.tickets.deliveries import KEPT_HEADERS, Deliveries, Replayer
from gateway.tickets.errors import HelpDeskUnavailableError, SourceNotConfiguredError
from gateway.tickets.follow_up import FollowUp
from gateway.tickets.helpdesk import EmbeddedHelpDesk, HelpDesk
from gateway.tickets.intake_limits import IntakeLimits
from gateway.tickets.model import Ticket, TicketEvent
from gateway.tickets.outbox import FlushReport, WriteBackQueue
from gateway.tickets.polling import poll_desks
from gateway.tickets.reading import UNAUTHENTICATED, check_configured
from gateway.tickets.results import IntakeResult, Outcome, PollReport
from gateway.tickets.routing import Router, RoutingDecision
from gateway.tickets.store import Link, TicketStore
from gateway.tickets.writeback import DEFAULT_POLICY, OutboxPolicy, WriteBackKind

__all__ = ["Advance", "IntakeResult", "Outcome", "PollReport", "TicketService"]

Advance = Literal["inline", "background", "none"]
CHANNEL = "ticket"
HUMANS = "humans"


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
        self.deliveries = Deliveries(
            store=store, desks=self.desks, embedded=self.embedded,
            max_event_bytes=max_event_bytes, clock=clock,
            record=self._record, receive=self.receive,
        )  # fmt: skip
        # sources whose dead letters another reader replays: source -> replay(letter)
        self.replayers: dict[str, Replayer] = self.deliveries.replayers
        self._follow_up = FollowUp(store, self.outbox, lambda ident: self.executor.get(ident))

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
        kept = {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        return self.deliveries.intake(source, channel, body, kept, None)

    def dead_letter(
        self, source: str, channel: str, body: bytes, headers: dict[str, str], reason: str
    ) -> IntakeResult:
        """Keep a delivery that could not be used, with the reason (audited)."""
        return self.deliveries.dead_letter(source, channel, body, headers, reason, None)

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
        return self.deliveries.replay_dead_letter(letter_id)

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
            self._follow_up.report(link, execution)
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

    # -- after the start ------------------------------------------------------------------

    def follow_up(self) -> int:
        """Write back what changed in the executions tickets started; how many changed."""
        return self._follow_up.follow_up()

    def flush_outbox(self) -> FlushReport:
        return self.outbox.flush()

    def poll(self) -> PollReport:
        """One polling round of every help desk that can be polled."""

        def dead_letter(name: str, body: bytes, reason: str) -> IntakeResult:
            return self.deliveries.dead_letter(name, "poll", body, {}, reason, None)

        return poll_desks(self.store, self.desks, self.receive, dead_letter)

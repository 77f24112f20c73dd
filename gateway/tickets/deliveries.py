"""Deliveries to the ticket intake: read, or kept as dead letters with the reason.

A delivery (a webhook body, a replayed line, a dead letter read again) is read by
``reading`` (signature, size, encoding, JSON, the desk's shape).  A Table API page is
split and each record taken on its own: a bad one is dead-lettered with its field named,
the others go on.  What cannot be read is kept in the dead-letter store and audited
(``ticket.dead_lettered``): whole and replayable when its sender was authenticated, else
an excerpt of ``EXCERPT_BYTES`` with its size and SHA-256.  A dead letter read again is
``replayed`` (``ticket.dead_letter_replayed``) or stays open with the new reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from gateway.clock import Clock
from gateway.tickets.errors import SignatureError, TicketEventError, UnknownDeadLetterError
from gateway.tickets.helpdesk import EmbeddedHelpDesk, HelpDesk
from gateway.tickets.jira import DELIVERY_HEADER, SIGNATURE_HEADER
from gateway.tickets.model import TicketEvent
from gateway.tickets.reading import Page, read_delivery, split_page
from gateway.tickets.results import IntakeResult, Outcome
from gateway.tickets.store import DeadLetter, TicketStore

__all__ = ["EXCERPT_BYTES", "KEPT_HEADERS", "Deliveries", "Record", "Replayer"]

KEPT_HEADERS = ("content-type", SIGNATURE_HEADER.lower(), DELIVERY_HEADER.lower())
EXCERPT_BYTES = 4096  # what is kept of a delivery that cannot be replayed

Record = Callable[[str, dict[str, Any]], None]  # (audit event type, payload)
Replayer = Callable[[DeadLetter], IntakeResult]


class Deliveries:
    """Reads deliveries into events for ``receive``; keeps what it cannot read."""

    def __init__(
        self,
        *,
        store: TicketStore,
        desks: Mapping[str, HelpDesk],
        embedded: EmbeddedHelpDesk,
        max_event_bytes: int,
        clock: Clock,
        record: Record,
        receive: Callable[[TicketEvent], IntakeResult],
    ) -> None:
        self.store = store
        self.desks = desks
        self.embedded = embedded
        self.max_event_bytes = max_event_bytes
        self._clock = clock
        self._record = record
        self._receive = receive
        # sources whose dead letters another reader replays: source -> replay(letter)
        self.replayers: dict[str, Replayer] = {}

    def intake(
        self,
        source: str,
        channel: str,
        body: bytes,
        headers: dict[str, str],
        letter: int | None,
        where: str | None = None,
    ) -> IntakeResult:
        """Read one delivery (or dead letter ``letter``) and receive its event; ``where``
        names a record of a page (never itself read as a page)."""
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
                result = self._receive(event)
        except TicketEventError as exc:
            verified = not isinstance(exc, SignatureError)
            return self.dead_letter(
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
            return self.intake(source, channel, page.parts[0], kept, None, where="")
        records = tuple(
            self.intake(source, channel, part, kept, None, where=f"result[{index}]: ")
            for index, part in enumerate(page.parts)
        )
        counts: dict[str, int] = {}
        for record in records:
            counts[str(record.outcome)] = counts.get(str(record.outcome), 0) + 1
        summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "nothing"
        message = f"a page of {len(records)} records: {summary}"
        return IntakeResult(Outcome.PAGE, None, message, records=records)

    def dead_letter(
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
        return self.intake(letter.source, letter.channel, letter.body, letter.headers, letter.id)

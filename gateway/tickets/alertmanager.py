"""Alertmanager webhooks as a trigger source: each alert becomes a ticket-like event.

Alertmanager's ``webhook_config`` POSTs one JSON object per notification of an alert
group (Prometheus docs, "Alertmanager configuration", ``<webhook_config>``)::

    {"version": "4", "groupKey": ..., "truncatedAlerts": 0, "status": "firing",
     "receiver": ..., "groupLabels": {...}, "commonLabels": {...},
     "commonAnnotations": {...}, "externalURL": ...,
     "alerts": [{"status": "firing" | "resolved", "labels": {...}, "annotations": {...},
                 "startsAt": RFC 3339, "endsAt": RFC 3339, "generatorURL": ...,
                 "fingerprint": ...}]}

``AlertIntake.receive``:

1. refuses the delivery when ``[tickets.alertmanager]`` is not set
   (``SourceNotConfiguredError``, nothing kept);
2. reads it: size, UTF-8 JSON, ``version`` ``"4"`` and every field the alerts need; a
   delivery that fails is dead-lettered whole with the reason naming the field;
3. bounds a storm: each alert takes a token from the intake limits (as for tickets); the
   alerts over the limit are dead-lettered together, as one payload, with the reason;
4. hands every taken alert to ``TicketService.receive`` as an event whose key is the
   fingerprint, ``startsAt`` and status: Alertmanager repeats a group's alerts at every
   ``group_interval``/``repeat_interval``, and a repeated firing alert is a ``duplicate``
   that starts nothing; a resolved alert is recorded and starts nothing;
5. audits the delivery (``alert.received``: group, counts, each alert's outcome).

An alert is routed by the triggers with ``events: alerts`` (``automations/triggers``):
its labels are the ticket's ``fields`` (``ticket.fields.severity``), ``alertname`` also
its ``category``, and the alert acts as the configured ``actor``, whose requests are
decided by policy like anyone's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.tickets.errors import (
    IntakeRateLimitedError,
    SourceNotConfiguredError,
    TicketEventError,
)
from gateway.tickets.model import EventKind, Ticket, TicketEvent, TicketId
from gateway.tickets.payloads import decode_json
from gateway.tickets.results import IntakeResult, Outcome
from gateway.tickets.routing import ALERT_SOURCE
from gateway.tickets.service import TicketService
from gateway.tickets.store import DeadLetter

__all__ = ["AlertIntake", "AlertReport", "AlertmanagerAlert", "AlertmanagerPayload"]

VERSION = "4"
_CHANNEL = "webhook"
_TEXT = 500


class AlertmanagerAlert(BaseModel):
    """One alert of a notification (fields Alertmanager may add later are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = {}
    startsAt: datetime
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: str = Field(pattern=r"^[0-9a-f]{1,64}$")

    @field_validator("labels")
    @classmethod
    def _names_the_alert(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("alertname: required (a non-empty label)")
        return labels

    @field_validator("startsAt")
    @classmethod
    def _aware(cls, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("expected an RFC 3339 time with its offset")
        return moment.astimezone(UTC)


class AlertmanagerPayload(BaseModel):
    """One webhook notification, version 4."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: Literal["4"]
    groupKey: str = Field(min_length=1)
    truncatedAlerts: int = Field(default=0, ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = {}
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    externalURL: str = ""
    alerts: list[AlertmanagerAlert] = Field(min_length=1)


def _problem(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False, include_context=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "(payload)"
    return f"{where}: {first['msg']}"


def read_payload(body: bytes, content_type: str | None, max_bytes: int) -> AlertmanagerPayload:
    """The notification in ``body``; ``TicketEventError`` naming the field otherwise."""
    data = decode_json(body, content_type, max_bytes)
    version = data.get("version")
    if version != VERSION:
        raise TicketEventError(f"version: expected {VERSION!r}, found {str(version)[:20]!r}")
    try:
        return AlertmanagerPayload.model_validate(data)
    except ValidationError as exc:
        raise TicketEventError(_problem(exc)) from None


def alert_event(alert: AlertmanagerAlert, actor: str) -> TicketEvent:
    """The ticket-like event of one alert: one ticket per firing (fingerprint and start)."""
    started = alert.startsAt.strftime("%Y%m%dT%H%M%SZ")
    name = alert.labels["alertname"]
    summary = alert.annotations.get("summary", "")
    ticket = Ticket(
        source=ALERT_SOURCE,
        id=TicketId(alert.fingerprint),
        number=f"{alert.fingerprint}-{started}",
        subject=f"{name}: {summary}"[:_TEXT] if summary else name[:_TEXT],
        description=alert.annotations.get("description", "")[:_TEXT],
        requester_username=actor,
        category=name[:_TEXT],
        state=alert.status,
        closed=alert.status == "resolved",
        updated_at=alert.startsAt.isoformat(),
        fields={key: value[:_TEXT] for key, value in alert.labels.items()},
    )
    key = f"{ALERT_SOURCE}:{alert.fingerprint}:{started}:{alert.status}"
    return TicketEvent(key, ticket, EventKind.CREATED, _CHANNEL)


@dataclass(frozen=True)
class AlertReport:
    """What one delivery became: each taken alert's result, and what was not taken."""

    results: tuple[IntakeResult, ...] = ()
    dead_letter: int | None = None  # the alerts over the storm limit, or the whole delivery
    dropped: int = 0  # alerts dead-lettered for the storm limit
    truncated: int = 0  # alerts Alertmanager itself left out (its max_alerts)
    refused: str = ""  # why the whole delivery was dead-lettered, if it was
    outcomes: dict[str, int] = field(default_factory=dict)


class AlertIntake:
    """Alertmanager deliveries into the ticket service (see the module's description)."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    def _actor(self) -> str:
        actor = self.service.alert_actor
        if actor is None:
            self.service.limits.refused.add(ALERT_SOURCE, "not_configured")
            raise SourceNotConfiguredError(
                "Alertmanager webhooks are not configured: add a [tickets.alertmanager] table"
            )
        return actor

    def receive(self, body: bytes, headers: Mapping[str, str]) -> AlertReport:
        """One notification: dead-lettered whole when it cannot be read, else its alerts
        taken up to the intake limits."""
        actor = self._actor()
        kept = {k.lower(): v for k, v in headers.items() if k.lower() == "content-type"}
        try:
            payload = read_payload(body, kept.get("content-type"), self.service.max_event_bytes)
        except TicketEventError as exc:
            letter = self.service.dead_letter(ALERT_SOURCE, _CHANNEL, body, kept, str(exc))
            return AlertReport(dead_letter=letter.dead_letter, refused=str(exc))
        return self._take(payload, kept, actor)

    def replay(self, letter: DeadLetter) -> IntakeResult:
        """Read an Alertmanager dead letter again (``gateway tickets dead-letters replay``):
        it stays open with the new reason when it still cannot be read; alerts over the
        intake limits go to a new dead letter."""
        actor = self._actor()
        service = self.service
        try:
            payload = read_payload(letter.body, letter.headers.get("content-type"), letter.size)
        except TicketEventError as exc:
            with service.store.transaction() as tx:
                tx.update_dead_letter(letter.id, state="open", reason=str(exc))
            return IntakeResult(Outcome.DEAD_LETTER, None, str(exc), dead_letter=letter.id)
        report = self._take(payload, letter.headers, actor)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.outcomes.items()))
        message = f"replayed {len(report.results)} alerts ({summary or 'none taken'})"
        if report.dropped:
            message += f"; {report.dropped} over the limit in dead letter {report.dead_letter}"
        with service.store.transaction() as tx:
            tx.update_dead_letter(letter.id, state="replayed", reason=message)
        service.record(
            "ticket.dead_letter_replayed", {"dead_letter": letter.id, "outcome": message}
        )
        first = report.results[0] if report.results else None
        return IntakeResult(
            first.outcome if first is not None else Outcome.DEAD_LETTER,
            None if first is None else first.ticket,
            message,
            dead_letter=report.dead_letter,
        )

    def _take(
        self, payload: AlertmanagerPayload, kept: Mapping[str, str], actor: str
    ) -> AlertReport:
        service = self.service
        taken, dropped = self._admit(payload.alerts)
        letter = None
        if dropped:
            reason = (
                f"alert storm: {len(dropped)} of {len(payload.alerts)} alerts over the intake "
                f"limit ({service.limits.per_minute:g} a minute, bursts of "
                f"{service.limits.burst}) were not taken"
            )
            rest = payload.model_dump(mode="json") | {
                "alerts": [alert.model_dump(mode="json") for alert in dropped]
            }
            body = json.dumps(rest).encode()
            letter = service.dead_letter(ALERT_SOURCE, _CHANNEL, body, dict(kept), reason)
        results = tuple(service.receive(alert_event(alert, actor)) for alert in taken)
        outcomes: dict[str, int] = {}
        for result in results:
            outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
        number = None if letter is None else letter.dead_letter
        service.record(
            "alert.received",
            {
                "group_key": payload.groupKey[:_TEXT],
                "status": payload.status,
                "alerts": len(payload.alerts),
                "taken": len(taken),
                "dropped": len(dropped),
                "truncated": payload.truncatedAlerts,
                "dead_letter": number,
                "outcomes": outcomes,
                "tickets": [str(result.ticket) for result in results],
            },
            actor=actor,
        )
        return AlertReport(
            results, number, len(dropped), payload.truncatedAlerts, outcomes=outcomes
        )

    def _admit(
        self, alerts: list[AlertmanagerAlert]
    ) -> tuple[list[AlertmanagerAlert], list[AlertmanagerAlert]]:
        taken: list[AlertmanagerAlert] = []
        dropped: list[AlertmanagerAlert] = []
        for alert in alerts:
            try:
                self.service.limits.admit(ALERT_SOURCE)
            except IntakeRateLimitedError:
                dropped.append(alert)
                continue
            taken.append(alert)
        return taken, dropped

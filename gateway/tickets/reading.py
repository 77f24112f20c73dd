"""From a delivery to an event: is the source set up, is it signed, is it readable, and
does the help desk have the ticket.  Every refusal of the delivery itself is a
``TicketEventError`` naming the field (the service dead-letters it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from gateway.tickets.errors import SourceNotConfiguredError, TicketEventError, UnknownTicketError
from gateway.tickets.helpdesk import EmbeddedHelpDesk, HelpDesk
from gateway.tickets.jira import DELIVERY_HEADER, SIGNATURE_HEADER, JiraDesk
from gateway.tickets.jsontext import dumps_kept
from gateway.tickets.model import EventKind, TicketEvent
from gateway.tickets.payloads import (
    decode_json,
    generic_event,
    jira_event,
    jira_polled_event,
    load_json,
)
from gateway.tickets.servicenow import ServiceNowDesk
from gateway.tickets.servicenow_records import servicenow_event, servicenow_records
from gateway.tickets.servicenow_refs import unresolvable

__all__ = ["UNAUTHENTICATED", "Page", "check_configured", "read_delivery", "split_page"]

UNAUTHENTICATED = frozenset({("jira", "webhook")})
"""(source, channel) pairs that carry no gateway credential."""


def _jira_webhooks(desks: Mapping[str, HelpDesk]) -> JiraDesk:
    desk = desks.get("jira")
    if not isinstance(desk, JiraDesk) or desk.settings.webhook_secret is None:
        raise SourceNotConfiguredError(
            "Jira webhooks are not configured: [tickets.jira] needs webhook_secret_env"
        )
    return desk


@dataclass(frozen=True, slots=True)
class Page:
    """The records of a ServiceNow Table API page, each a delivery of its own."""

    parts: list[bytes]
    single: bool  # ``{"result": {...}}``: one record, answered as one event


def split_page(source: str, body: bytes, content_type: str | None, max_bytes: int) -> Page | None:
    """The records of a Table API answer (``{"result": [...]}`` or ``{"result": {...}}``)
    sent to the ServiceNow webhook or replayed (``{"source": "servicenow", "event": <page>}``
    or the bare page), each as the body of one delivery; None for anything else (read as
    usual, errors and all).  A ``result`` that is neither raises ``TicketEventError``."""
    if source not in ("servicenow", "replay"):
        return None
    try:
        payload = load_json(body, content_type, max_bytes)
    except TicketEventError:
        return None
    if not isinstance(payload, dict):
        return None
    replayed = source == "replay"
    if replayed and payload.get("source", "servicenow") == "servicenow" and "event" in payload:
        payload = payload["event"]
    elif replayed and "source" in payload:
        return None
    records = servicenow_records(payload) if isinstance(payload, dict) else None
    if records is None:
        return None
    parts = [
        dumps_kept({"source": "servicenow", "event": r} if replayed and isinstance(r, dict) else r)
        for r in records
    ]
    return Page(parts, isinstance(payload["result"], dict))


def check_configured(source: str, channel: str, desks: Mapping[str, HelpDesk]) -> None:
    """Raise ``SourceNotConfiguredError`` when deliveries of ``source`` cannot be checked."""
    if source == "jira" and channel == "webhook":
        _jira_webhooks(desks)


def read_delivery(
    source: str,
    channel: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    desks: Mapping[str, HelpDesk],
    embedded: EmbeddedHelpDesk,
    max_event_bytes: int,
) -> TicketEvent:
    """The event in one delivery; a webhook's ticket is read again from its help desk."""
    if source == "jira" and channel == "webhook":
        _jira_webhooks(desks).verify(body, headers.get(SIGNATURE_HEADER.lower()))
    payload = decode_json(body, headers.get("content-type"), max_event_bytes)
    if source == "replay":
        source, channel = str(payload.get("source", "generic")), "replay"
        if source != "generic":
            inner = payload.get("event")
            if not isinstance(inner, dict):
                raise TicketEventError("event: required (an object) for a replayed event")
            payload = inner
    if source == "servicenow":
        event = servicenow_event(payload, channel)
        desk = desks.get("servicenow")
        if not isinstance(desk, ServiceNowDesk):
            event = replace(event, ticket=unresolvable(event.ticket))
        elif channel != "webhook":  # a webhook's record is read again, references and all
            event = replace(event, ticket=desk.references.complete(event.ticket))
    elif source == "jira" and channel == "poll":
        desk = desks.get("jira")
        event = desk.read(payload) if isinstance(desk, JiraDesk) else jira_polled_event(payload)
    elif source == "jira":
        event = jira_event(payload, headers.get(DELIVERY_HEADER.lower()), channel)
    elif source == "generic":
        event = generic_event(payload, channel)
    else:
        raise TicketEventError(f"source: unknown {source[:40]!r}")
    ticket = event.ticket
    if channel == "webhook" and ticket.source in desks:
        fetched = desks[ticket.source].fetch(ticket.id)
        event = TicketEvent(event.key, fetched, event.kind, event.channel)
    elif (
        event.kind is EventKind.UPDATED
        and ticket.source not in desks
        and not embedded.knows(ticket)
    ):
        raise UnknownTicketError(f"ticket {ticket.ref} does not exist in the embedded desk")
    return event

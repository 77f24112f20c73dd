"""Reading events: bytes to JSON (size, encoding, shape) and each help desk's payload to
a normalised ``Ticket``.  Every refusal is a ``TicketEventError`` naming the field.

Shapes read:

- **ServiceNow** Table API records and pages (``servicenow_records``, re-exported here).
- **Jira** issues (``key``, ``fields.summary``/``description``/``reporter``/``status``/
  ``priority``/``updated``/``labels``) and webhooks (``webhookEvent``, ``issue``).
- **Generic** events: ``{"event_id", "kind", "ticket": {...}}`` (see ``GenericTicket``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.tickets.adf import adf_text
from gateway.tickets.errors import TicketEventError
from gateway.tickets.jsontext import parse_json, refuse_overlong_integers
from gateway.tickets.model import EventKind, Ticket, TicketEvent, TicketId
from gateway.tickets.servicenow_records import (
    ServiceNowRecord,
    servicenow_event,
    servicenow_records,
    servicenow_ticket,
)

__all__ = [
    "GenericEvent",
    "ServiceNowRecord",
    "decode_json",
    "generic_event",
    "jira_event",
    "jira_polled_event",
    "jira_ticket",
    "load_json",
    "servicenow_event",
    "servicenow_records",
    "servicenow_ticket",
]

_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_CHARSET = re.compile(r"(?i)charset\s*=\s*\"?([A-Za-z0-9._-]+)")
_JIRA_PRIORITY = {"highest": 1, "high": 2, "medium": 3, "low": 4, "lowest": 5}


def decode_json(body: bytes, content_type: str | None, max_bytes: int) -> dict[str, Any]:
    """The JSON object in ``body``: at most ``max_bytes``, UTF-8, an object, no integer
    longer than ``MAX_INTEGER_DIGITS``."""
    data = load_json(body, content_type, max_bytes)
    refuse_overlong_integers(data)
    if not isinstance(data, dict):
        raise TicketEventError(f"expected a JSON object, found {type(data).__name__}")
    return data


def load_json(body: bytes, content_type: str | None, max_bytes: int) -> Any:
    """The JSON in ``body`` (at most ``max_bytes``, UTF-8), overlong integers as markers."""
    if len(body) > max_bytes:
        raise TicketEventError(f"event is {len(body)} bytes; the limit is {max_bytes}")
    charset = _CHARSET.search(content_type or "")
    if charset is not None and charset.group(1).lower() not in _UTF8:
        raise TicketEventError(f"unknown encoding {charset.group(1)!r}: events must be UTF-8 JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TicketEventError(f"body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        raise TicketEventError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise TicketEventError("invalid JSON: nested too deeply") from exc
    return data


# -- Jira ------------------------------------------------------------------------------


class _JiraUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    email: str | None = Field(default=None, alias="emailAddress")  # often hidden on Cloud
    name: str | None = None  # Jira Data Center usernames
    display_name: str = Field(default="", alias="displayName")
    account_id: str | None = Field(default=None, alias="accountId", max_length=128)  # Cloud


class _JiraNamed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = ""


class _JiraStatusCategory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    key: str = ""


class _JiraStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    name: str = ""
    category: _JiraStatusCategory = Field(
        default_factory=_JiraStatusCategory, alias="statusCategory"
    )


class _JiraFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    summary: str = Field(min_length=1, max_length=4000)
    description: str | dict[str, Any] | None = None
    reporter: _JiraUser | None = None
    status: _JiraStatus = Field(default_factory=_JiraStatus)
    priority: _JiraNamed | None = None
    updated: str = Field(min_length=1, max_length=40)
    labels: list[str] = []
    issuetype: _JiraNamed | None = None
    components: list[_JiraNamed] = []


class JiraIssue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    key: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,30}-\d{1,12}$")
    fields: _JiraFields

    @field_validator("fields", mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected an object")
        return value


def jira_ticket(issue: Any, prefix: str = "") -> Ticket:
    if not isinstance(issue, dict):
        raise TicketEventError(f"{prefix.rstrip('.') or 'issue'}: expected an object")
    refuse_overlong_integers(issue, prefix)
    try:
        parsed = JiraIssue.model_validate(issue)
    except ValidationError as exc:
        raise TicketEventError.invalid(exc, prefix) from exc
    fields = parsed.fields
    description = fields.description or ""
    if isinstance(description, dict):  # REST v3: Atlassian Document Format
        description = adf_text(description)
    reporter = fields.reporter or _JiraUser()
    priority = _JIRA_PRIORITY.get((fields.priority.name if fields.priority else "").lower())
    extra = {"labels": ",".join(fields.labels)} if fields.labels else {}
    if fields.components:
        extra["components"] = ",".join(c.name for c in fields.components)
    if fields.issuetype is not None:
        extra["issuetype"] = fields.issuetype.name
    if reporter.account_id:
        extra["reporter_account_id"] = reporter.account_id
    return Ticket(
        source="jira",
        id=TicketId(parsed.key),
        number=parsed.key,
        subject=fields.summary,
        description=description[:100_000],
        requester_email=reporter.email or None,
        requester_username=reporter.name or None,
        requester_name=reporter.display_name,
        category=fields.issuetype.name if fields.issuetype else "",
        priority=priority,
        state=fields.status.name,
        closed=fields.status.category.key == "done",
        updated_at=fields.updated,
        fields=extra,
    )


_JIRA_EVENTS = {"jira:issue_created": EventKind.CREATED, "jira:issue_updated": EventKind.UPDATED}


def jira_event(payload: dict[str, Any], delivery_id: str | None, channel: str) -> TicketEvent:
    """A Jira webhook body (``webhookEvent`` and ``issue``); ``delivery_id`` is the
    ``X-Atlassian-Webhook-Identifier`` header, the same on every retry."""
    name = payload.get("webhookEvent")
    if not isinstance(name, str):
        raise TicketEventError("webhookEvent: required (a string)")
    kind = _JIRA_EVENTS.get(name, EventKind.UPDATED)
    if "issue" not in payload:
        raise TicketEventError(f"issue: required for {name[:60]}")
    ticket = jira_ticket(payload["issue"], "issue.")
    key = f"jira:{delivery_id}" if delivery_id else f"jira:{ticket.id}:{ticket.updated_at}"
    return TicketEvent(key=key, ticket=ticket, kind=kind, channel=channel)


def jira_polled_event(issue: Any) -> TicketEvent:
    """An issue from a JQL search, keyed by its key and ``updated`` time."""
    ticket = jira_ticket(issue)
    return TicketEvent(f"jira:{ticket.id}:{ticket.updated_at}", ticket, EventKind.UPDATED, "poll")


# -- generic ---------------------------------------------------------------------------


class GenericRequester(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str | None = Field(default=None, max_length=254)
    username: str | None = Field(default=None, max_length=128)
    name: str = Field(default="", max_length=200)


class GenericTicket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    number: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    subject: str = Field(min_length=1, max_length=4000)
    description: str = Field(default="", max_length=100_000)
    requester: GenericRequester = Field(default_factory=GenericRequester)
    category: str = Field(default="", max_length=200)
    urgency: int | None = Field(default=None, ge=1, le=5)
    impact: int | None = Field(default=None, ge=1, le=5)
    priority: int | None = Field(default=None, ge=1, le=5)
    state: str = Field(default="new", max_length=40)
    closed: bool = False
    updated_at: str = Field(default="", max_length=40)
    fields: dict[str, str] = Field(default_factory=dict, max_length=50)


class GenericEvent(BaseModel):
    """The generic webhook and replay format: ``{"event_id", "kind", "ticket"}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Literal["created", "updated"] = "created"
    ticket: GenericTicket


def generic_event(payload: dict[str, Any], channel: str, source: str = "embedded") -> TicketEvent:
    try:
        parsed = GenericEvent.model_validate(payload)
    except ValidationError as exc:
        raise TicketEventError.invalid(exc) from exc
    item = parsed.ticket
    ticket = Ticket(
        source=source,
        id=TicketId(item.id),
        number=item.number or item.id,
        subject=item.subject,
        description=item.description,
        requester_email=item.requester.email,
        requester_username=item.requester.username,
        requester_name=item.requester.name,
        category=item.category,
        urgency=item.urgency,
        impact=item.impact,
        priority=item.priority,
        state=item.state,
        closed=item.closed,
        updated_at=item.updated_at,
        fields=dict(item.fields),
    )
    if parsed.event_id is not None:
        key = f"{source}:event:{parsed.event_id}"
    else:
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = f"{source}:sha256:{digest}"
    return TicketEvent(key=key, ticket=ticket, kind=EventKind(parsed.kind), channel=channel)

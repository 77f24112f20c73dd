"""Reading events: bytes to JSON (size, encoding, shape) and each help desk's payload to
a normalised ``Ticket``.  Every refusal is a ``TicketEventError`` naming the field.

Shapes read:

- **ServiceNow** Table API records (``sys_id``, ``number``, ``short_description``,
  ``description``, ``caller_id`` as a reference or dot-walked ``caller_id.user_name`` /
  ``caller_id.email``, ``urgency``/``impact``/``priority`` as ``"1"``..., ``state``,
  ``category``, ``sys_updated_on`` ``YYYY-MM-DD HH:MM:SS`` UTC); a business-rule webhook
  sends ``{"table": "incident", "operation": "insert"|"update", "record": {...}}``.
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

from gateway.tickets.errors import TicketEventError
from gateway.tickets.jsontext import parse_json, refuse_overlong_integers
from gateway.tickets.model import EventKind, Ticket, TicketEvent, TicketId

__all__ = [
    "GenericEvent",
    "decode_json",
    "generic_event",
    "jira_event",
    "jira_polled_event",
    "jira_ticket",
    "servicenow_event",
    "servicenow_ticket",
]

_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_CHARSET = re.compile(r"(?i)charset\s*=\s*\"?([A-Za-z0-9._-]+)")
_SN_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_SN_CLOSED = frozenset({"6", "7", "8"})  # resolved, closed, canceled
_JIRA_PRIORITY = {"highest": 1, "high": 2, "medium": 3, "low": 4, "lowest": 5}


def decode_json(body: bytes, content_type: str | None, max_bytes: int) -> dict[str, Any]:
    """The JSON object in ``body``: at most ``max_bytes``, UTF-8, an object, no integer
    longer than ``MAX_INTEGER_DIGITS``."""
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
    refuse_overlong_integers(data)
    if not isinstance(data, dict):
        raise TicketEventError(f"expected a JSON object, found {type(data).__name__}")
    return data


def _problems(exc: ValidationError, prefix: str = "") -> str:
    details = exc.errors(include_url=False, include_input=False)
    parts = [
        f"{prefix}{'.'.join(str(p) for p in d['loc']) or 'body'}: {d['msg']}" for d in details[:3]
    ]
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return "; ".join(parts) + more


def _level(value: str | int | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip().split(" ", 1)[0]
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise TicketEventError(f"{name}: expected 1 to 5, found {str(value)[:20]!r}")
    return int(text)


# -- ServiceNow ------------------------------------------------------------------------


class _Reference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    value: str = ""
    display_value: str = ""


class ServiceNowRecord(BaseModel):
    """The fields of a ServiceNow task record the gateway reads (others are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    sys_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    number: str = Field(min_length=1, max_length=40)
    short_description: str = Field(default="", max_length=4000)
    description: str = Field(default="", max_length=100_000)
    caller_id: str | _Reference | None = None
    caller_user_name: str | None = Field(default=None, alias="caller_id.user_name")
    caller_email: str | None = Field(default=None, alias="caller_id.email")
    caller_name: str | None = Field(default=None, alias="caller_id.name")
    urgency: str | None = None
    impact: str | None = None
    priority: str | None = None
    state: str = ""
    active: str | bool = "true"
    category: str = ""
    sys_updated_on: str = Field(pattern=_SN_TIME.pattern)
    cmdb_ci: str | _Reference | None = None
    assignment_group: str | _Reference | None = None


def _text(value: str | _Reference | None) -> str:
    if isinstance(value, _Reference):
        return value.display_value or value.value
    return value or ""


def servicenow_ticket(record: dict[str, Any]) -> Ticket:
    refuse_overlong_integers(record)
    try:
        parsed = ServiceNowRecord.model_validate(record)
    except ValidationError as exc:
        raise TicketEventError(_problems(exc)) from exc
    closed = parsed.state in _SN_CLOSED or str(parsed.active).lower() == "false"
    fields = {
        name: text
        for name, text in (
            ("cmdb_ci", _text(parsed.cmdb_ci)),
            ("assignment_group", _text(parsed.assignment_group)),
        )
        if text
    }
    return Ticket(
        source="servicenow",
        id=TicketId(parsed.sys_id),
        number=parsed.number,
        subject=parsed.short_description,
        description=parsed.description,
        requester_email=parsed.caller_email or None,
        requester_username=parsed.caller_user_name or None,
        requester_name=parsed.caller_name or "",
        category=parsed.category,
        urgency=_level(parsed.urgency, "urgency"),
        impact=_level(parsed.impact, "impact"),
        priority=_level(parsed.priority, "priority"),
        state=parsed.state,
        closed=closed,
        updated_at=parsed.sys_updated_on,
        fields=fields,
    )


def servicenow_event(payload: dict[str, Any], channel: str) -> TicketEvent:
    """A polled record, or a business-rule webhook body wrapping one in ``record``."""
    kind = EventKind.UPDATED
    record = payload
    if "record" in payload:
        record = payload["record"]
        if not isinstance(record, dict):
            raise TicketEventError("record: expected an object")
        if payload.get("operation") == "insert":
            kind = EventKind.CREATED
    ticket = servicenow_ticket(record)
    key = f"servicenow:{ticket.id}:{ticket.updated_at}"
    return TicketEvent(key=key, ticket=ticket, kind=kind, channel=channel)


# -- Jira ------------------------------------------------------------------------------


class _JiraUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    email: str | None = Field(default=None, alias="emailAddress")
    name: str | None = None  # Jira Data Center usernames
    display_name: str = Field(default="", alias="displayName")


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


def _adf_text(node: Any, out: list[str], depth: int = 0) -> None:
    """The text of an Atlassian Document Format description (REST v3)."""
    if depth > 50:
        return
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            out.append(node["text"])
        for child in node.get("content") or []:
            _adf_text(child, out, depth + 1)
        if node.get("type") in {"paragraph", "heading", "listItem"}:
            out.append("\n")


def jira_ticket(issue: Any, prefix: str = "") -> Ticket:
    if not isinstance(issue, dict):
        raise TicketEventError(f"{prefix.rstrip('.') or 'issue'}: expected an object")
    refuse_overlong_integers(issue, prefix)
    try:
        parsed = JiraIssue.model_validate(issue)
    except ValidationError as exc:
        raise TicketEventError(_problems(exc, prefix)) from exc
    fields = parsed.fields
    description = fields.description or ""
    if isinstance(description, dict):
        parts: list[str] = []
        _adf_text(description, parts)
        description = "".join(parts).strip()
    reporter = fields.reporter or _JiraUser()
    priority = _JIRA_PRIORITY.get((fields.priority.name if fields.priority else "").lower())
    extra = {"labels": ",".join(fields.labels)} if fields.labels else {}
    if fields.components:
        extra["components"] = ",".join(c.name for c in fields.components)
    if fields.issuetype is not None:
        extra["issuetype"] = fields.issuetype.name
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
        raise TicketEventError(_problems(exc)) from exc
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

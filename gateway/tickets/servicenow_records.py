"""ServiceNow Table API records and pages to normalised tickets.

Records: ``sys_id``, ``number``, ``short_description``, ``description``, ``urgency`` /
``impact`` / ``priority`` as ``"1"``..., ``state``, ``active``, ``category``,
``subcategory``, ``contact_type``, ``opened_at`` and ``sys_updated_on`` (``YYYY-MM-DD
HH:MM:SS`` UTC); the reference fields ``caller_id``, ``opened_by``, ``assigned_to``,
``assignment_group`` and ``cmdb_ci`` as ``{"link", "value"}``, a bare sys_id, or with
``display_value``, and their dot-walked fields (``caller_id.user_name``,
``caller_id.email``, ``cmdb_ci.asset_tag``...) when asked for.  A reference read only as
a sys_id is kept as ``<field>_sys_id`` for ``servicenow_refs`` to read.  A business-rule
webhook sends ``{"table": "incident", "operation": "insert"|"update", "record": {...}}``;
a Table API answer is ``{"result": [...]}`` or ``{"result": {...}}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.tickets.errors import TicketEventError
from gateway.tickets.jsontext import refuse_overlong_integers
from gateway.tickets.model import EventKind, Ticket, TicketEvent, TicketId

__all__ = [
    "SN_REFERENCES",
    "ServiceNowRecord",
    "servicenow_event",
    "servicenow_records",
    "servicenow_ticket",
]

_SN_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_SN_CLOSED = frozenset({"6", "7", "8"})  # resolved, closed, canceled


def _level(value: str | int | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip().split(" ", 1)[0]
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise TicketEventError(f"{name}: expected 1 to 5, found {str(value)[:20]!r}")
    return int(text)


SN_REFERENCES = ("caller_id", "opened_by", "assigned_to", "assignment_group", "cmdb_ci")
"""The reference fields read; each may come as ``{"link", "value"}``, a bare value, or with
``display_value`` (``sysparm_display_value=all``)."""
_SN_TEXTS = ("subcategory", "contact_type", "opened_at")


class _Reference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    value: str = Field(default="", max_length=128)
    display_value: str = Field(default="", max_length=400)
    link: str = Field(default="", max_length=2000)


_Ref = Annotated[str, Field(max_length=128)] | _Reference | None


class ServiceNowRecord(BaseModel):
    """The fields of a ServiceNow task record the gateway reads (others are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    sys_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    number: str = Field(min_length=1, max_length=40)
    short_description: str = Field(default="", max_length=4000)
    description: str = Field(default="", max_length=100_000)
    caller_id: _Ref = None
    caller_user_name: str | None = Field(default=None, alias="caller_id.user_name")
    caller_email: str | None = Field(default=None, alias="caller_id.email")
    caller_name: str | None = Field(default=None, alias="caller_id.name")
    urgency: str | None = None
    impact: str | None = None
    priority: str | None = None
    state: str = ""
    active: str | bool = "true"
    category: str = Field(default="", max_length=200)
    subcategory: str = Field(default="", max_length=200)
    contact_type: str = Field(default="", max_length=100)
    opened_at: str = Field(default="", pattern=rf"^$|{_SN_TIME.pattern}")
    sys_updated_on: str = Field(pattern=_SN_TIME.pattern)
    opened_by: _Ref = None
    assigned_to: _Ref = None
    assignment_group: _Ref = None
    cmdb_ci: _Ref = None
    opened_by_user_name: str | None = Field(
        default=None, alias="opened_by.user_name", max_length=128
    )
    assigned_to_user_name: str | None = Field(
        default=None, alias="assigned_to.user_name", max_length=128
    )
    assignment_group_name: str | None = Field(
        default=None, alias="assignment_group.name", max_length=255
    )
    cmdb_ci_name: str | None = Field(default=None, alias="cmdb_ci.name", max_length=255)
    cmdb_ci_asset_tag: str | None = Field(default=None, alias="cmdb_ci.asset_tag", max_length=64)


def _reference(value: _Ref) -> tuple[str, str]:
    """``(value, display value)`` of a reference field, either possibly empty."""
    if isinstance(value, _Reference):
        return value.value.strip(), value.display_value.strip()
    return (value or "").strip(), ""


def _reference_fields(parsed: ServiceNowRecord) -> dict[str, str]:
    """``<name>`` (the display value) and ``<name>_sys_id`` (the referenced record) of
    each reference given; a dot-walked name (``opened_by.user_name``, ``cmdb_ci.name``,
    ``cmdb_ci.asset_tag``...) wins over the display value."""
    fields: dict[str, str] = {}
    for name in SN_REFERENCES:
        value, display = _reference(getattr(parsed, name))
        if value:
            fields[f"{name}_sys_id"] = value
        if display:
            fields[name] = display
    walked = {
        "opened_by": parsed.opened_by_user_name,
        "assigned_to": parsed.assigned_to_user_name,
        "assignment_group": parsed.assignment_group_name,
        "cmdb_ci": parsed.cmdb_ci_name,
        "cmdb_ci_asset_tag": parsed.cmdb_ci_asset_tag,
    }
    fields.update({name: text.strip() for name, text in walked.items() if text})
    return {name: text for name, text in fields.items() if text}


def servicenow_ticket(record: dict[str, Any]) -> Ticket:
    refuse_overlong_integers(record)
    try:
        parsed = ServiceNowRecord.model_validate(record)
    except ValidationError as exc:
        raise TicketEventError.invalid(exc) from exc
    closed = parsed.state in _SN_CLOSED or str(parsed.active).lower() == "false"
    fields = _reference_fields(parsed)
    fields.update({name: getattr(parsed, name) for name in _SN_TEXTS if getattr(parsed, name)})
    caller_display = _reference(parsed.caller_id)[1]
    return Ticket(
        source="servicenow",
        id=TicketId(parsed.sys_id),
        number=parsed.number,
        subject=parsed.short_description,
        description=parsed.description,
        requester_email=parsed.caller_email or None,
        requester_username=parsed.caller_user_name or None,
        requester_name=parsed.caller_name or caller_display,
        category=parsed.category,
        urgency=_level(parsed.urgency, "urgency"),
        impact=_level(parsed.impact, "impact"),
        priority=_level(parsed.priority, "priority"),
        state=parsed.state,
        closed=closed,
        updated_at=parsed.sys_updated_on,
        fields=fields,
    )


def servicenow_records(payload: dict[str, Any]) -> list[Any] | None:
    """The records of a Table API answer (``{"result": [...]}`` or ``{"result": {...}}``),
    or None when ``payload`` is not one."""
    if "result" not in payload or "sys_id" in payload or "record" in payload:
        return None
    result = payload["result"]
    if isinstance(result, dict):
        return [result]
    if not isinstance(result, list):
        raise TicketEventError(
            f"result: expected a list of records or one record, found {type(result).__name__}"
        )
    return result


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

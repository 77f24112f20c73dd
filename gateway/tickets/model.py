"""The normalised ticket every help desk's events become, and the events that carry it.

A ``Ticket`` says the same thing whichever help desk it came from: who asked
(``requester_email``/``requester_username``), what about (``subject``, ``description``,
``category``), how urgent (``urgency``/``impact``/``priority``, 1 highest to 3 or more
lowest), where it stands (``state``, ``closed``) and any other standard field as text
(``fields``).  ``ref`` (``servicenow:INC0010001``, ``jira:IT-42``) names it across desks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NewType

__all__ = ["EventKind", "Ticket", "TicketEvent", "TicketId"]

TicketId = NewType("TicketId", str)


class EventKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"


@dataclass(frozen=True, slots=True)
class Ticket:
    source: str  # the help desk: "servicenow", "jira" or "embedded"
    id: TicketId  # the desk's own id: sys_id, issue key, or the embedded id
    number: str  # what people call it: INC0010001, IT-42
    subject: str
    description: str = ""
    requester_email: str | None = None
    requester_username: str | None = None
    requester_name: str = ""
    category: str = ""
    urgency: int | None = None
    impact: int | None = None
    priority: int | None = None
    state: str = ""
    closed: bool = False
    updated_at: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    requester_unverified: str = ""  # why the help desk could not say who asked, if it could not

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.number}"

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.description}"

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "source": self.source,
            "id": self.id,
            "number": self.number,
            "subject": self.subject,
            "description": self.description,
            "requester_email": self.requester_email,
            "requester_username": self.requester_username,
            "requester_name": self.requester_name,
            "category": self.category,
            "urgency": self.urgency,
            "impact": self.impact,
            "priority": self.priority,
            "state": self.state,
            "closed": self.closed,
            "updated_at": self.updated_at,
            "fields": dict(self.fields),
            "requester_unverified": self.requester_unverified,
        }


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One delivery about a ticket; ``key`` is the same for every redelivery of it."""

    key: str
    ticket: Ticket
    kind: EventKind
    channel: str  # "poll", "webhook" or "replay"

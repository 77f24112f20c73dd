"""Ticket-driven triggers: help desk events -> extraction -> classification -> workflow,
with write-back (``docs/tickets.md``).

Intake from ServiceNow (Table API polling, business-rule webhooks), Jira Service
Management (signed webhooks, JQL polling), a generic JSON webhook and replay files; every
privileged change goes through the guarded runtime as a workflow.
"""

from gateway.tickets.catalog import SoftwareCatalog
from gateway.tickets.errors import (
    HelpDeskError,
    HelpDeskUnavailableError,
    IntakeRateLimitedError,
    SignatureError,
    SourceNotConfiguredError,
    TicketError,
    TicketEventError,
    TicketStoreError,
    UnknownDeadLetterError,
    UnknownTicketError,
    WriteBackRefusedError,
)
from gateway.tickets.extraction import Extraction, extract
from gateway.tickets.helpdesk import EmbeddedHelpDesk, HelpDesk, TicketSource
from gateway.tickets.model import EventKind, Ticket, TicketEvent
from gateway.tickets.routing import Router, RoutingDecision
from gateway.tickets.rules import TriggerSet, load_triggers
from gateway.tickets.service import IntakeResult, Outcome, PollReport, TicketService

__all__ = [
    "EmbeddedHelpDesk",
    "EventKind",
    "Extraction",
    "HelpDesk",
    "HelpDeskError",
    "HelpDeskUnavailableError",
    "IntakeRateLimitedError",
    "IntakeResult",
    "Outcome",
    "PollReport",
    "Router",
    "RoutingDecision",
    "SignatureError",
    "SoftwareCatalog",
    "SourceNotConfiguredError",
    "Ticket",
    "TicketError",
    "TicketEvent",
    "TicketEventError",
    "TicketService",
    "TicketSource",
    "TicketStoreError",
    "TriggerSet",
    "UnknownDeadLetterError",
    "UnknownTicketError",
    "WriteBackRefusedError",
    "extract",
    "load_triggers",
]

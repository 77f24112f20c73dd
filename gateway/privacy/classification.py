"""Which fields of each audit event type are personal data: the one place that says so.

Every event type the gateway writes is listed here (a test reads the source and fails on
a type missing from this table).  Each entry says:

- ``personal``: the payload members sealed with a data key (``docs/privacy.md``); the
  record's top-level fields are never sealed: ``actor`` and ``resource`` keep the directory
  login (``tom``, ``user:tom``) as a pseudonymous identifier (ADR 0014);
- ``subject``: whose data key seals them: the record's ``actor``, the person the
  ``resource`` names (``user:tom``, else the actor), or a payload member naming the person;
- ``signed_embed``: the record carries whole lines signed by a device (a field kit's
  segment); nothing inside it is sealed, its own signatures must keep verifying.

Secrets are not personal data to seal: they never reach a record at all
(``gateway.audit.redaction``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CLASSIFICATION",
    "PERSON_RESOURCES",
    "UNATTRIBUTED",
    "EventClass",
    "Subject",
    "classify",
]

UNATTRIBUTED = "-"
"""The key holder for personal fields of records that name no person (a ticket event
before it is routed): such keys go only by retention."""


PERSON_RESOURCES = frozenset({"user", "account"})
"""Resource types whose id is a person's directory login (``user:tom``, ``account:tom``)."""


class Subject(StrEnum):
    ACTOR = "actor"
    RESOURCE_USER = (
        "resource_user"  # the person a ``user:``/``account:`` resource names, else the actor
    )


@dataclass(frozen=True, slots=True)
class EventClass:
    personal: tuple[str, ...] = ()
    subject: Subject = Subject.ACTOR
    signed_embed: bool = False


_NONE = EventClass()
_SIGNED = EventClass(signed_embed=True)
# What the engines saw of the people involved (``gateway.policy.recorded_facts``).
_DECISION = EventClass(("facts",))  # the actor's facts, and the resource's
# Parameters of an action on a person (names, addresses, free text they typed) and what
# the target system said back; machine reasons and logins stay plain.
_RUNTIME = EventClass(("parameters", "detail", "output"), Subject.RESOURCE_USER)
_APPROVAL = EventClass(("comment", "note"), Subject.RESOURCE_USER)
_SELFSERVICE = EventClass(("parameters",))
# Ticket text a person wrote and the parameters read from it.
_TICKET = EventClass(("parameters", "note", "text"))
# Sessions record node ids and fact names, never an answer's value.
_TROUBLESHOOTING = EventClass(("answer", "notes"))


def _each(prefix: str, names: str, rule: EventClass) -> dict[str, EventClass]:
    return {prefix + name: rule for name in names.split()}


_EXECUTION_STATES = (
    "queued running pending_approval awaiting_step_up waiting_for_target succeeded failed "
    "compensated cancelled"
)
_APPROVAL_STATES = "pending approved rejected expired cancelled"
_RUN_STATES = (
    "admitted pending_approval awaiting_step_up running succeeded failed cancelled refused"
)

CLASSIFICATION: Mapping[str, EventClass] = MappingProxyType(
    {
        # policy decisions: the facts the engines saw about the people involved
        "decision": _DECISION,
        "identity.conflict": EventClass(("values", "chosen")),
        # the log itself, keys, callers and policy bundles: no personal data
        **_each("audit.", "key_rotated tail_quarantined appends_resumed", _NONE),
        **_each("callers.", "api_key_created api_key_revoked token_issued", _NONE),
        "api.refused": _NONE,
        **_each("policy.", "reloaded reload_refused refused signed", _NONE),
        "alert.received": _NONE,
        # step-up: methods and bindings, never a code or seed (those are secrets)
        **_each(
            "stepup.", "enrolled reset verified failed locked consumed recovery_code_used", _NONE
        ),
        # approvals: free text about the request
        **_each("approval.", _APPROVAL_STATES, _APPROVAL),
        **_each("approval.", "opened voted refused escalated auto_approved", _APPROVAL),
        # the guarded runtime: parameters and outcomes of actions on a person
        **_each("execution.", _EXECUTION_STATES, _RUNTIME),
        **_each(
            "execution.",
            "started finished scheduled cancel_requested secret_read expiry_skipped",
            _RUNTIME,
        ),
        **_each("action.", "started succeeded failed resumed not_called", _RUNTIME),
        **_each("step.", "skipped refused", _RUNTIME),
        **_each("compensation.", "started succeeded failed skipped", _RUNTIME),
        "change.note_written": EventClass(("text",)),
        # self-service runs
        **_each("selfservice.", _RUN_STATES, _SELFSERVICE),
        **_each(
            "selfservice.",
            "run_admitted run_started run_finished run_refused refused dry_run cancelled",
            _SELFSERVICE,
        ),
        # tickets: what people wrote
        **_each(
            "ticket.",
            "routed conflict dead_lettered dead_letter_replayed writeback_queued "
            "writeback_refused writeback_failed writeback_delivered",
            _TICKET,
        ),
        # troubleshooting sessions
        **_each(
            "troubleshooting.",
            "started answered undone action_requested finished",
            _TROUBLESHOOTING,
        ),
        # field kits: merged segments embed device-signed lines, never sealed inside
        **_each("offline.", "segment_merged record", _SIGNED),
        **_each("offline.", "segment_refused kit_prepared kit_revoked", _NONE),
        # a conflict and the end of a segment name records by index and hash, no person
        **_each("offline.", "conflict segment_closed", _NONE),
        "offline.action_queued": _RUNTIME,
        "offline.replayed": _DECISION,
        # chat interactivity (Slack, Teams): the message text a person sent
        **_each("chat.", "interaction_accepted interaction_refused", EventClass(("text",))),
        # a person's note of a manual action (`gateway audit record`)
        "manual.action": EventClass(("note", "reason", "text", "details"), Subject.RESOURCE_USER),
        # privacy itself: the erasure and sweep records name the login only
        **_each("privacy.", "erased swept", _NONE),
    }
)


def classify(event_type: str) -> EventClass | None:
    """The classification of ``event_type``, ``None`` when it has none."""
    return CLASSIFICATION.get(event_type)

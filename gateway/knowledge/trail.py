"""The trail of a resolution: what happened, in order, whatever it was collected from.

A ``Trail`` is what every summary, article and search document is made from.  It is built
by ``gateway.knowledge.collect`` from execution records, audit records and troubleshooting
session trails, and holds only text and numbers, already in a fixed order, so the same
trail always renders to the same bytes.  ``missing`` says what could not be found (a step
without its outcome, an unreadable audit record): a partial trail still makes a summary,
and the summary says what it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = ["EventKind", "Trail", "TrailEvent", "TrailKind", "merge_text"]


class TrailKind(StrEnum):
    EXECUTION = "execution"
    TICKET = "ticket"
    SESSION = "session"


class EventKind(StrEnum):
    QUESTION = "question"  # a troubleshooting question and its answer
    DIAGNOSTIC = "diagnostic"  # a check and its result
    STEP = "step"  # a workflow step (an action through the guarded runtime)
    DECISION = "decision"  # a policy decision for a step
    WAIT = "wait"  # an approval, a step-up, a system that was down
    COMPENSATION = "compensation"  # a step undone after a later failure
    ESCALATION = "escalation"  # handed to another team
    NOTE = "note"  # anything else worth keeping


@dataclass(frozen=True, slots=True)
class TrailEvent:
    """One thing that happened; ``data`` holds sorted ``(name, value)`` text pairs."""

    kind: EventKind
    name: str
    state: str = ""
    detail: str = ""
    at: str | None = None
    duration_ms: int | None = None
    actor: str | None = None
    source: str = ""  # "execution 1f2e...", "session s-1"
    reasons: tuple[str, ...] = ()
    obligations: tuple[str, ...] = ()
    data: tuple[tuple[str, str], ...] = ()

    @property
    def failed(self) -> bool:
        return self.state in ("failed", "refused", "unknown", "error", "timeout")


@dataclass(frozen=True, slots=True)
class Trail:
    """Everything known about one resolution, ready to render."""

    kind: TrailKind
    subject: str  # the execution id, the ticket, the session id
    title: str
    category: str  # the workflow or troubleshooting tree it went through
    problem: str = ""
    outcome: str = "unknown"  # resolved, failed, escalated, waiting, unknown
    outcome_detail: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    people: tuple[str, ...] = ()
    tickets: tuple[str, ...] = ()
    executions: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    symptoms: tuple[str, ...] = ()
    events: tuple[TrailEvent, ...] = ()
    follow_ups: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    fix: str = ""  # the step that resolved it, in words

    @property
    def complete(self) -> bool:
        return not self.missing

    def with_changes(self, **changes: object) -> Trail:
        return replace(self, **changes)  # type: ignore[arg-type]


def merge_text(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """The items of ``groups`` once each, first occurrence first, blanks dropped."""
    seen: dict[str, None] = {}
    for group in groups:
        for item in group:
            if item:
                seen.setdefault(item, None)
    return tuple(seen)

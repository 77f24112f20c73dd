"""Sessions: where a technician is in a tree, what is known, and how they got there.

A session's ``status`` moves like this::

    active ──(an action's workflow waits for approval, step-up or a system)──> waiting
      ^  │                                                                       │
      │  └──> resolved | escalated                 active <───(it finished)──────┘
      └─ undo (the last answer is taken back; a finished session becomes active again)

Each step records one node the session passed: a question answered or skipped (its fact
was known), a decision, a diagnostic and its result, an action and its execution, a loop
guard that sent the session elsewhere, or the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.audit.records import format_time

__all__ = ["Session", "SessionStatus", "Step", "StepKind"]


class SessionStatus(StrEnum):
    ACTIVE = "active"
    WAITING = "waiting"
    RESOLVED = "resolved"
    ESCALATED = "escalated"

    @property
    def finished(self) -> bool:
        return self in (SessionStatus.RESOLVED, SessionStatus.ESCALATED)


class StepKind(StrEnum):
    ANSWERED = "answered"
    SKIPPED = "skipped"  # the fact was already known (ticket, earlier diagnostic)
    DECIDED = "decided"
    CHECKED = "checked"
    ACTED = "acted"
    EXHAUSTED = "exhausted"  # a loop guard: the node was visited max_visits times
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class Step:
    node: str
    kind: StepKind
    goto: str | None
    edge: str  # branch, default, fallback, offline, exhausted, succeeded, failed, outcome
    at: datetime
    value: Any = None  # the answer, the check's result, the execution's outcome
    facts_before: dict[str, Any] | None = None  # kept for answers, to undo them

    def as_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "kind": str(self.kind),
            "goto": self.goto,
            "edge": self.edge,
            "at": format_time(self.at),
            "value": self.value,
            "facts_before": self.facts_before,
        }


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    tree: str
    tree_version: int
    tree_digest: str
    technician: str
    status: SessionStatus
    current: str
    created_at: datetime
    updated_at: datetime
    ticket: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    execution: str | None = None  # the execution an action node waits for
    outcome: dict[str, Any] | None = None  # result, node, summary, escalate_to

    @property
    def path(self) -> list[str]:
        """The nodes passed, in order (the current node not yet included)."""
        return [step.node for step in self.steps]

    def visits(self, node_id: str) -> int:
        return sum(1 for step in self.steps if step.node == node_id)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tree": self.tree,
            "tree_version": self.tree_version,
            "tree_digest": self.tree_digest,
            "technician": self.technician,
            "ticket": self.ticket,
            "status": str(self.status),
            "current": self.current,
            "facts": self.facts,
            "execution": self.execution,
            "outcome": self.outcome,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "steps": [step.as_json() for step in self.steps],
        }

"""What the intake did: the outcome of one event, and of one polling round."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.runtime.model import Execution
from gateway.tickets.routing import RoutingDecision

__all__ = ["IntakeResult", "Outcome", "PollReport"]


class Outcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    IN_PROGRESS = "in_progress"
    ALREADY_HANDLED = "already_handled"
    CONFLICT = "conflict"
    HUMANS = "humans"
    IGNORED = "ignored"
    DEAD_LETTER = "dead_letter"
    NOT_TAKEN = "not_taken"  # a replayed line that met an outage: replay it again
    PAGE = "page"  # a Table API page: each record's outcome is in ``records``


@dataclass(frozen=True, slots=True)
class IntakeResult:
    outcome: Outcome
    ticket: str | None
    message: str
    decision: RoutingDecision | None = None
    execution: Execution | None = None
    dead_letter: int | None = None
    line: int | None = None  # the line of a replay file
    records: tuple[IntakeResult, ...] = ()  # a page's records, each on its own

    def as_json(self) -> dict[str, Any]:
        where = {} if self.line is None else {"line": self.line}
        page = {"records": [r.as_json() for r in self.records]} if self.records else {}
        return (
            where
            | page
            | {
                "outcome": str(self.outcome),
                "ticket": self.ticket,
                "message": self.message,
                "decision": None if self.decision is None else self.decision.as_json(),
                "execution": None if self.execution is None else self.execution.as_json(),
                "dead_letter": self.dead_letter,
            }
        )


@dataclass
class PollReport:
    results: list[IntakeResult] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    watermarks: dict[str, str | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "results": [result.as_json() for result in self.results],
            "errors": dict(self.errors),
            "watermarks": dict(self.watermarks),
        }

"""What a troubleshooting session hands over to be documented: ``SessionTrail``.

Guided troubleshooting (``gateway.troubleshooting``) builds one of these when a session
ends (or at any moment, for a partial summary) and passes it to
``gateway.knowledge.collect.collect_session``.  It carries the path of nodes with the
answers given, the diagnostics with their results and timings, the executions the session
started (their records are read from the runtime and the audit log), and the outcome.
Times are the session's own (``2026-03-01T09:00:00.000000Z``); nothing here reads a clock.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["SessionDiagnostic", "SessionNode", "SessionOutcome", "SessionTrail"]

_TEXT = 2000


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionNode(_Model):
    """One node the session passed, with the answer given there (if it asked one)."""

    node: str = Field(min_length=1, max_length=128)
    kind: Literal["question", "decision", "diagnostic", "action", "escalation", "outcome"]
    text: str = Field(default="", max_length=_TEXT)  # the question or what the node does
    answer: JsonValue = None
    at: str | None = None
    execution: str | None = None  # the execution an action node started


class SessionDiagnostic(_Model):
    """A diagnostic that ran: what, on what, the result and how long it took."""

    name: str = Field(min_length=1, max_length=128)
    target: str = Field(default="", max_length=256)
    result: Literal["passed", "failed", "error", "timeout", "skipped"]
    detail: str = Field(default="", max_length=_TEXT)
    duration_ms: int | None = Field(default=None, ge=0)
    at: str | None = None


class SessionOutcome(_Model):
    result: Literal["resolved", "escalated", "abandoned"]
    summary: str = Field(default="", max_length=_TEXT)
    node: str | None = None
    escalate_to: str | None = None
    follow_ups: list[str] = Field(default_factory=list, max_length=50)


class SessionTrail(_Model):
    """A troubleshooting session as documentation needs it."""

    id: str = Field(min_length=1, max_length=128)
    tree: str = Field(min_length=1, max_length=128)
    title: str = Field(default="", max_length=200)  # the tree's title
    technician: str = Field(min_length=1, max_length=256)
    ticket: str | None = Field(default=None, max_length=128)
    problem: str = Field(default="", max_length=20_000)  # the ticket's text, as reported
    symptoms: list[str] = Field(default_factory=list, max_length=100)
    path: list[SessionNode] = Field(default_factory=list, max_length=100_000)
    diagnostics: list[SessionDiagnostic] = Field(default_factory=list, max_length=100_000)
    executions: list[str] = Field(default_factory=list, max_length=1000)
    outcome: SessionOutcome | None = None  # None: the session has not ended
    started_at: str | None = None
    finished_at: str | None = None

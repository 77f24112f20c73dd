"""Executions and their steps, as the store keeps them and callers read them.

An execution's ``state`` moves like this::

    queued ─> running ─┬─> pending_approval ──> running (approved) | failed (rejected, expired,
                       │                          or the approval no longer suffices)
                       ├─> awaiting_step_up ──> running (stepped up)
                       ├─> waiting_for_target ─> running (the system is back) | failed
                       ├─> succeeded
                       └─> failed | compensated (a later step failed; earlier ones undone)
    any unfinished state ─> cancelled (earlier steps undone)

A step moves ``pending -> started -> succeeded | failed``, or ``skipped`` when its
condition is false; ``unknown`` when the process died while it ran and it could not be
safely run again; ``compensated`` once undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.audit.records import format_time

__all__ = ["Execution", "ExecutionState", "StepRecord", "StepState", "Timer"]


class ExecutionState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PENDING_APPROVAL = "pending_approval"
    AWAITING_STEP_UP = "awaiting_step_up"
    WAITING_FOR_TARGET = "waiting_for_target"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPENSATED = "compensated"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset(
    {
        ExecutionState.SUCCEEDED,
        ExecutionState.FAILED,
        ExecutionState.COMPENSATED,
        ExecutionState.CANCELLED,
    }
)


class StepState(StrEnum):
    PENDING = "pending"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNKNOWN = "unknown"
    COMPENSATED = "compensated"


@dataclass(frozen=True, slots=True)
class StepRecord:
    step_id: str
    index: int
    state: StepState = StepState.PENDING
    attempts: int = 0
    decision_id: str | None = None
    approval_id: str | None = None
    digest: str | None = None  # what a step-up or approval for this step is bound to
    parameters: dict[str, Any] = field(default_factory=dict)  # rendered, without secrets
    output: dict[str, Any] = field(default_factory=dict)
    sealed: tuple[str, ...] = ()  # names of secret outputs sealed for the actor
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    next_attempt_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step_id,
            "state": str(self.state),
            "attempts": self.attempts,
            "decision_id": self.decision_id,
            "approval_id": self.approval_id,
            "digest": self.digest,
            "parameters": self.parameters,
            "output": self.output,
            "secret_outputs": list(self.sealed),
            "error": self.error,
            "started_at": _time(self.started_at),
            "finished_at": _time(self.finished_at),
            "next_attempt_at": _time(self.next_attempt_at),
        }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    workflow: str
    workflow_version: int
    workflow_digest: str
    actor: str
    parameters: dict[str, Any]
    channel: str
    state: ExecutionState
    created_at: datetime
    updated_at: datetime
    target: str | None = None
    ticket: str | None = None
    change_request: str | None = None  # the change number it acts under
    idempotency_key: str | None = None
    request_digest: str = ""
    waiting: dict[str, Any] | None = None  # what a waiting execution waits for
    error: str | None = None
    finished_at: datetime | None = None
    parent: str | None = None  # the execution that scheduled this one
    cancel_requested: bool = False
    steps: tuple[StepRecord, ...] = ()

    def step(self, step_id: str) -> StepRecord:
        for record in self.steps:
            if record.step_id == step_id:
                return record
        raise KeyError(step_id)

    @property
    def status(self) -> str:
        """One line a person reads: what it is doing or waiting for."""
        waiting = self.waiting or {}
        kind = waiting.get("kind")
        if self.state is ExecutionState.PENDING_APPROVAL:
            return f"waiting for approval {waiting.get('approval_id')} ({waiting.get('step')})"
        if self.state is ExecutionState.AWAITING_STEP_UP:
            return (
                f"waiting for {self.actor} to step up for {waiting.get('step')} "
                f"(bound to {waiting.get('digest')})"
            )
        if self.state is ExecutionState.WAITING_FOR_TARGET and kind == "target":
            return (
                f"{waiting.get('system')} is unavailable; step {waiting.get('step')} is queued, "
                f"attempt {waiting.get('attempts')} failed, next try at {waiting.get('next_at')}"
            )
        if self.state is ExecutionState.WAITING_FOR_TARGET and kind == "audit":
            return (
                f"the audit log cannot be written ({waiting.get('detail')}); what step "
                f"{waiting.get('step')} did is kept until it is on record, next try at "
                f"{waiting.get('next_at')}"
            )
        if self.error is not None:
            return f"{self.state}: {self.error}"
        return str(self.state)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "workflow_version": self.workflow_version,
            "workflow_digest": self.workflow_digest,
            "actor": self.actor,
            "parameters": self.parameters,
            "channel": self.channel,
            "ticket": self.ticket,
            "change_request": self.change_request,
            "target": self.target,
            "state": str(self.state),
            "status": self.status,
            "waiting": self.waiting,
            "error": self.error,
            "parent": self.parent,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "finished_at": _time(self.finished_at),
            "steps": [step.as_json() for step in self.steps],
        }


@dataclass(frozen=True, slots=True)
class Timer:
    """A workflow to start later (the revocation of a time-boxed grant)."""

    id: str
    due_at: datetime
    workflow: str
    parameters: dict[str, Any]
    parent: str
    # the execution it started once due, or SKIPPED when another grant still covered it
    started: str | None = None

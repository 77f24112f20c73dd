"""Catalog runs, refusals and dry-run plans, as the store keeps them and callers read them.

A run moves like this::

    admitted ─┬─> pending_approval ──> running (approved) | refused (rejected, expired)
              ├─> awaiting_step_up ──> running
              ├─> running ──> succeeded | failed | cancelled
              └─> refused  (the policy said no; nothing was started)
    pending_approval | awaiting_step_up | running ─> cancelled

``running`` covers the workflow executions the run started (one per target), whatever
they wait for; the run finishes when all of them have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.audit.records import format_time

__all__ = ["DryRunPlan", "Refusal", "RefusalReason", "Run", "RunState"]


class RunState(StrEnum):
    ADMITTED = "admitted"
    PENDING_APPROVAL = "pending_approval"
    AWAITING_STEP_UP = "awaiting_step_up"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.REFUSED})


class RefusalReason(StrEnum):
    """Why a run was refused; each is counted on its own."""

    UNKNOWN_ITEM = "unknown_item"
    INVALID_PARAMETERS = "invalid_parameters"
    DENIED = "denied"  # the policy decision point said no
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    CONCURRENCY = "concurrency"
    MAINTENANCE = "maintenance"
    BLAST_RADIUS = "blast_radius"
    TARGET_NOT_ALLOWED = "target_not_allowed"
    TARGET_BUSY = "target_busy"  # something else is acting on a target: before any quota
    UNAVAILABLE = "unavailable"  # facts could not be read: try again later


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: RefusalReason
    message: str


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    item: str
    item_version: int
    actor: str
    department: str
    state: RunState
    created_at: datetime
    updated_at: datetime
    parameters: dict[str, Any]  # without secrets
    targets: tuple[str, ...] = ()
    executions: tuple[str, ...] = ()
    approval_id: str | None = None
    decision_id: str | None = None
    waiting: dict[str, Any] | None = None
    status: str = ""
    error: str | None = None
    ticket: str | None = None
    minutes_saved: int = 0
    finished_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": self.item,
            "item_version": self.item_version,
            "actor": self.actor,
            "department": self.department,
            "state": str(self.state),
            "status": self.status or str(self.state),
            "parameters": self.parameters,
            "targets": list(self.targets),
            "executions": list(self.executions),
            "approval_id": self.approval_id,
            "decision_id": self.decision_id,
            "waiting": self.waiting,
            "error": self.error,
            "ticket": self.ticket,
            "minutes_saved": self.minutes_saved,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "finished_at": None if self.finished_at is None else format_time(self.finished_at),
        }


@dataclass(frozen=True, slots=True)
class DryRunPlan:
    """What a run would do now, with nothing executed: the workflow executions it would
    start, whether an approval would be needed, and the guardrails it would meet."""

    item: str
    actor: str
    allowed: bool
    reasons: list[str]
    needs_approval: bool
    executions: list[dict[str, Any]] = field(default_factory=list)
    guardrails: list[str] = field(default_factory=list)
    refusal: Refusal | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "actor": self.actor,
            "dry_run": True,
            "would_run": self.allowed and self.refusal is None,
            "allowed_by_policy": self.allowed,
            "reasons": self.reasons,
            "needs_approval": self.needs_approval,
            "executions": self.executions,
            "guardrails": self.guardrails,
            "refusal": None
            if self.refusal is None
            else {"reason": str(self.refusal.reason), "message": self.refusal.message},
        }

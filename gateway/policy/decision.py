"""What the policy decision point answers: a decision, its obligations and its reasons."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.policy.request import AccessRequest

__all__ = [
    "ApprovalObligation",
    "Decision",
    "Effect",
    "Obligation",
    "Reason",
    "StepUpObligation",
]


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class StepUpObligation(BaseModel):
    """The actor must prove presence again (TOTP) no longer than ``max_age_seconds`` ago.

    A step-up bound to the request is used up by the one execution it lets go on
    (``reuse="once"``); with ``reuse="window"`` it counts for every identical request
    within ``max_age_seconds``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["step_up"] = "step_up"
    method: Literal["totp"] = "totp"
    max_age_seconds: int = Field(default=300, gt=0)
    reuse: Literal["once", "window"] = "once"
    policy: str


class ApprovalObligation(BaseModel):
    """``quorum`` distinct people among ``approvers`` must approve before the action runs.

    Each approver is ``manager`` (the target's manager), ``role:NAME``, ``group:NAME`` or
    ``user:ID``.  After ``escalate_after_seconds`` the request is also offered to
    ``escalate_to``; after ``expires_seconds`` it expires.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["approval"] = "approval"
    name: str
    approvers: tuple[str, ...]
    quorum: int = Field(default=1, ge=1)
    expires_seconds: int = Field(default=86_400, gt=0)
    escalate_after_seconds: int | None = None
    escalate_to: tuple[str, ...] = ()
    policy: str


Obligation = Annotated[StepUpObligation | ApprovalObligation, Field(discriminator="type")]


class Reason(BaseModel):
    """One rule or policy that contributed to a decision, or an error that forced a deny."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Literal["casbin", "cedar", "gateway"]
    effect: Literal["allow", "deny", "permit", "forbid", "error", "note"]
    policy: str | None = None
    message: str


class Decision(BaseModel):
    """The answer to an access request; every decision carries its reasons and bundle digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Effect
    decision_id: str
    policy_digest: str
    policy_signers: tuple[str, ...] = ()  # who signed the bundle that decided
    decided_at: datetime
    request: AccessRequest
    obligations: tuple[Obligation, ...] = ()
    reasons: tuple[Reason, ...] = ()
    remedies: tuple[str, ...] = ()
    # A deny only because facts could not be read (a directory down): the same request may
    # be allowed once it is back, so queued work waits instead of failing.
    unavailable: bool = False

    @property
    def allowed(self) -> bool:
        """True only for an allow; obligations may still have to be met before acting."""
        return self.decision is Effect.ALLOW

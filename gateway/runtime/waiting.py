"""What a privileged request waits for before it may go on: an approval or a step-up.

``check_obligations`` asks the step guard and answers with ``Allowed``, ``Refused``, or
a typed ``Waiting``: the obligation, the ids and digest it is bound to, and its expiry.
The runtime holds an execution on it and self-service holds a run on it, each recording
``as_json()`` as what it waits for and ``state`` as its own state's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from gateway.approvals.model import ApprovalState
from gateway.audit.records import format_time
from gateway.enforcement.step_guard import Allowed, Refused, StepGuard, WaitApproval
from gateway.policy.request import AccessRequest

__all__ = ["AwaitingApproval", "AwaitingStepUp", "Waiting", "check_obligations"]


@dataclass(frozen=True, slots=True)
class AwaitingApproval:
    """An approval request is open for the exact request (``digest``) until ``expires_at``."""

    approval_id: str
    digest: str
    expires_at: datetime
    decision_id: str
    step: str | None = None
    approved: bool = False  # approved as it opened (by policy): decide again with it

    state: ClassVar[Literal["pending_approval"]] = "pending_approval"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "approval",
            **_step(self.step),
            "approval_id": self.approval_id,
            "digest": self.digest,
            "expires_at": format_time(self.expires_at),
        }

    def status(self, actor: str) -> str:
        return f"waiting for approval {self.approval_id}"


@dataclass(frozen=True, slots=True)
class AwaitingStepUp:
    """``actor`` must step up, bound to the exact request (``digest``), within the age."""

    digest: str
    max_age_seconds: int
    decision_id: str
    step: str | None = None

    state: ClassVar[Literal["awaiting_step_up"]] = "awaiting_step_up"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "step_up",
            **_step(self.step),
            "digest": self.digest,
            "max_age_seconds": self.max_age_seconds,
        }

    def status(self, actor: str) -> str:
        return f"waiting for {actor} to step up (bound to {self.digest})"


Waiting = AwaitingApproval | AwaitingStepUp


def _step(step: str | None) -> dict[str, str]:
    return {} if step is None else {"step": step}


def check_obligations(
    guard: StepGuard,
    request: AccessRequest,
    approval_id: str | None,
    *,
    consumer: str,
    step: str | None = None,
    gateway_context: Mapping[str, Any] | None = None,
) -> Allowed | Refused | Waiting:
    """Decide ``request`` (for the holder of ``approval_id``, if any) and say whether it
    may go on, is refused, or what it waits for; a bound step-up is used by ``consumer``."""
    outcome = guard.check(request, approval_id, consumer=consumer, gateway_context=gateway_context)
    if isinstance(outcome, (Allowed, Refused)):
        return outcome
    if isinstance(outcome, WaitApproval):
        return AwaitingApproval(
            approval_id=outcome.approval.id,
            digest=outcome.approval.digest,
            expires_at=outcome.approval.expires_at,
            decision_id=outcome.decision_id,
            step=step,
            approved=outcome.approval.state is ApprovalState.APPROVED,
        )
    return AwaitingStepUp(
        digest=outcome.digest,
        max_age_seconds=outcome.max_age_seconds,
        decision_id=outcome.decision_id,
        step=step,
    )

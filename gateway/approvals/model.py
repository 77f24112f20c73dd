"""Approval requests: what waits for whom, bound to one exact access request.

An ``ApprovalRequest`` is immutable; the service returns a new one after every change.
Its ``state`` moves only forward::

    pending ──> approved | rejected | expired | cancelled

Each obligation counts its own distinct approvers against its own quorum; the request is
approved when every obligation has its quorum, or when policy approved it automatically
(``auto``: an ``approval.auto`` decision, recorded apart from the votes, since no person
voted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import JsonValue

from gateway.policy.decision import ApprovalObligation, Decision
from gateway.policy.request import AccessRequest
from gateway.stepup.binding import request_digest

__all__ = [
    "ApprovalRequest",
    "ApprovalState",
    "AutoApproval",
    "Change",
    "Verdict",
    "Vote",
    "approval_digest",
]


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def approval_digest(request: AccessRequest) -> str:
    """The digest an approval is bound to: the step-up binding digest of the action, the
    resource and the request's ``parameters`` (``context["parameters"]``, empty when the
    context has none).  Any changed parameter gives another digest."""
    raw = request.context.get("parameters")
    parameters: Mapping[str, JsonValue] = raw if isinstance(raw, dict) else {}
    return request_digest(request.action, str(request.resource), parameters)


@dataclass(frozen=True, slots=True)
class Vote:
    """One person's vote on one obligation (by index) of a request."""

    obligation: int
    approver: str
    verdict: Verdict
    at: datetime


@dataclass(frozen=True, slots=True)
class AutoApproval:
    """Policy, not a person, approved the request: the ``approval.auto`` decision that
    allowed it and the permit policies that did.  It meets every obligation at once."""

    decision_id: str
    policies: tuple[str, ...]
    at: datetime

    @classmethod
    def of(cls, decision: Decision, at: datetime) -> AutoApproval:
        """The automatic approval ``decision`` gives: its id and its Cedar permits."""
        policies = tuple(
            reason.policy
            for reason in decision.reasons
            if reason.engine == "cedar" and reason.effect == "permit" and reason.policy
        )
        return cls(decision.decision_id, policies, at)


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """An access request waiting for approvals, and the votes it has so far."""

    id: str
    request: AccessRequest
    decision_id: str
    policy_digest: str
    obligations: tuple[ApprovalObligation, ...]
    digest: str
    requester: str
    target: str | None  # the account acted on, when the resource is an account
    manager: str | None  # whom ``manager`` means: the target's, else the requester's
    created_at: datetime
    expires_at: datetime
    state: ApprovalState = ApprovalState.PENDING
    votes: tuple[Vote, ...] = ()
    escalated: frozenset[int] = frozenset()  # obligations whose escalation has fired
    finished_at: datetime | None = None
    finished_by: str | None = None
    auto: AutoApproval | None = None  # set when policy approved it automatically

    @property
    def pending(self) -> bool:
        return self.state is ApprovalState.PENDING

    def voters(self, obligation: int, verdict: Verdict) -> frozenset[str]:
        """The distinct people who gave ``verdict`` on ``obligation``."""
        return frozenset(
            vote.approver
            for vote in self.votes
            if vote.obligation == obligation and vote.verdict is verdict
        )

    def met(self, obligation: int) -> bool:
        """Whether ``obligation`` has its quorum of distinct approvers (or the request was
        approved automatically)."""
        if self.auto is not None:
            return True
        quorum = self.obligations[obligation].quorum
        return len(self.voters(obligation, Verdict.APPROVE)) >= quorum

    @property
    def all_met(self) -> bool:
        return all(self.met(index) for index in range(len(self.obligations)))

    def escalate_at(self, obligation: int) -> datetime | None:
        """When ``escalate_to`` becomes eligible for ``obligation``; None if it never does."""
        item = self.obligations[obligation]
        if item.escalate_after_seconds is None or not item.escalate_to:
            return None
        return self.created_at + timedelta(seconds=item.escalate_after_seconds)

    def approvers_at(self, obligation: int, now: datetime) -> tuple[str, ...]:
        """The approver specs eligible for ``obligation`` at ``now`` (escalation included:
        when it is due, or when it fired at once because nobody else could approve)."""
        item = self.obligations[obligation]
        at = self.escalate_at(obligation)
        if obligation in self.escalated or (at is not None and now >= at):
            return (*item.approvers, *item.escalate_to)
        return item.approvers


@dataclass(frozen=True, slots=True)
class Change:
    """What ``tick`` changed, for a notifier: ``kind`` is ``expired`` or ``escalated``;
    for an escalation, ``obligation`` is its index and ``notify`` the new approvers."""

    kind: str
    request: ApprovalRequest
    obligation: int | None = None
    notify: tuple[str, ...] = ()

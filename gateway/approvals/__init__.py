"""Approvals as policy obligations: quorum, separation of duties, expiry and escalation.

``ApprovalService`` opens an ``ApprovalRequest`` for an allow decision whose obligations
include approvals, counts votes bound to the request's digest, expires and escalates
(``tick``), and tells the runtime whether the action may run (``is_satisfied``).  State
lives in SQLite (``ApprovalStore``); every transition is audited before it is committed.
See ``docs/approvals.md``.
"""

from __future__ import annotations

from gateway.approvals.eligibility import CasbinRoles, RoleResolver, engine_roles, no_roles
from gateway.approvals.errors import (
    ApprovalError,
    ApprovalStoreError,
    ConflictingVoteError,
    DigestMismatchError,
    NoApproverError,
    NotAuthorisedError,
    NotEligibleError,
    RequestFinishedError,
    SelfApprovalError,
    StepUpRequiredError,
    UnknownApprovalError,
)
from gateway.approvals.model import (
    ApprovalRequest,
    ApprovalState,
    Change,
    Verdict,
    Vote,
    approval_digest,
)
from gateway.approvals.service import ApprovalService, Authorise, StepUpCheck
from gateway.approvals.store import ApprovalStore

__all__ = [
    "ApprovalError",
    "ApprovalRequest",
    "ApprovalService",
    "ApprovalState",
    "ApprovalStore",
    "ApprovalStoreError",
    "Authorise",
    "CasbinRoles",
    "Change",
    "ConflictingVoteError",
    "DigestMismatchError",
    "NoApproverError",
    "NotAuthorisedError",
    "NotEligibleError",
    "RequestFinishedError",
    "RoleResolver",
    "SelfApprovalError",
    "StepUpCheck",
    "StepUpRequiredError",
    "UnknownApprovalError",
    "Verdict",
    "Vote",
    "approval_digest",
    "engine_roles",
    "no_roles",
]

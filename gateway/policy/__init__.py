"""The policy decision point: Casbin RBAC and Cedar ABAC over a versioned bundle."""

from gateway.policy.bundle import PolicyBundle, load_bundle
from gateway.policy.decision import (
    ApprovalObligation,
    Decision,
    Effect,
    Obligation,
    Reason,
    StepUpObligation,
)
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.request import AccessRequest, ResourceRef
from gateway.policy.store import PolicyStore, ReloadOutcome

__all__ = [
    "AccessRequest",
    "ApprovalObligation",
    "Decision",
    "Effect",
    "Obligation",
    "PolicyBundle",
    "PolicyDecisionPoint",
    "PolicyEngine",
    "PolicyStore",
    "Reason",
    "ReloadOutcome",
    "ResourceRef",
    "StepUpObligation",
    "load_bundle",
]

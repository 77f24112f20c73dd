"""Policy-as-code authorization and automation gateway for IT support teams."""

from gateway.app import Gateway
from gateway.errors import (
    ConfigError,
    GatewayError,
    IdentityError,
    PolicyBundleError,
    RequestError,
    SourceError,
    UnknownActorError,
)
from gateway.policy.decision import ApprovalObligation, Decision, Effect, StepUpObligation
from gateway.policy.request import AccessRequest

__all__ = [
    "AccessRequest",
    "ApprovalObligation",
    "ConfigError",
    "Decision",
    "Effect",
    "Gateway",
    "GatewayError",
    "IdentityError",
    "PolicyBundleError",
    "RequestError",
    "SourceError",
    "StepUpObligation",
    "UnknownActorError",
]

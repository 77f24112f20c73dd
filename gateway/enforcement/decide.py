"""A decision that must be an allow before the caller goes on."""

from __future__ import annotations

from typing import Protocol

from pydantic import JsonValue

from gateway.enforcement.errors import PolicyDeniedError
from gateway.policy.decision import Decision
from gateway.policy.request import AccessRequest

__all__ = ["Authorizer", "require_allowed"]


class Authorizer(Protocol):
    """What decides (and audits) an access request: ``Gateway.authorize`` fits."""

    def authorize(self, request: AccessRequest) -> Decision: ...


def require_allowed(
    authorizer: Authorizer,
    *,
    actor: str,
    action: str,
    resource: str,
    context: dict[str, JsonValue] | None = None,
) -> Decision:
    """Decide ``actor`` doing ``action`` on ``resource`` (``type:id``); return the allow, or
    raise ``PolicyDeniedError`` with the deny's reasons.  The decider audits the decision
    (an unwritable log raises ``AuditWriteError`` and nothing is allowed)."""
    request = AccessRequest(actor=actor, action=action, resource=resource, context=context or {})
    decision = authorizer.authorize(request)
    if not decision.allowed:
        reasons = tuple(reason.message for reason in decision.reasons if reason.effect != "note")
        raise PolicyDeniedError(action, resource, reasons, decision.decision_id)
    return decision

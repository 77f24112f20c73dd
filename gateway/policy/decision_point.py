"""The policy decision point: Casbin RBAC and Cedar ABAC, both must allow.

    decide(request, actor facts, resource facts)
        unknown actor ............................. deny
        Casbin: does a role of the actor hold the permission?
        Cedar: do attributes and context permit it, and does no policy forbid it?
        any evaluation error ...................... deny, naming the error
        allow ..................................... obligations of every permit that applied

Every decision carries an id, the bundle digest and the reasons (the Casbin rule, the
Cedar policy ids); a deny also says what would have allowed it, where something would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from itertools import islice

from gateway.clock import Clock, utcnow
from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.policy.decision import Decision, Effect, Obligation, Reason
from gateway.policy.engine import Evaluation, PolicyEngine
from gateway.policy.obligations import merge_obligations
from gateway.policy.request import AccessRequest

__all__ = ["PolicyDecisionPoint"]

_MAX_REMEDIES = 5


def _rbac_reasons(
    engine: PolicyEngine, request: AccessRequest, evaluation: Evaluation
) -> tuple[list[Reason], list[str]]:
    result = evaluation.rbac
    target = f"{request.action} on {request.resource.type}"
    if result.allowed and result.rule is not None:
        rule = result.rule
        message = f"{rule.values[0]} may {target} ({rule.file}:{rule.line})"
        return [Reason(engine="casbin", effect="allow", policy=str(rule), message=message)], []
    held = ", ".join(result.roles)
    if result.granting_roles:
        needed = ", ".join(result.granting_roles)
        message = f"requires one of [{needed}] for {target}; {request.actor} has roles [{held}]"
    else:
        message = f"no role may {target}; {request.actor} has roles [{held}]"
    remedies = []
    for role in result.granting_roles[:_MAX_REMEDIES]:
        groups = engine.rbac.granting_groups(role)
        through = f" (granted to directory groups {', '.join(groups)})" if groups else ""
        remedies.append(f"hold role {role}{through}")
    return [Reason(engine="casbin", effect="deny", message=message)], remedies


def _cedar_reasons(
    engine: PolicyEngine, request: AccessRequest, evaluation: Evaluation
) -> tuple[list[Reason], list[str], list[Obligation]]:
    outcome = evaluation.cedar
    policies = engine.cedar.policies
    reasons = [
        Reason(engine="cedar", effect="error", message=f"evaluation error: {error}")
        for error in outcome.errors
    ]
    obligations: list[Obligation] = []
    for policy_id in outcome.permits:
        policy = policies[policy_id]
        reasons.append(
            Reason(engine="cedar", effect="permit", policy=policy_id, message=policy.message)
        )
        obligations.extend(policy.obligations)
    for policy_id in outcome.forbids:
        message = f"forbidden by {policy_id}: {policies[policy_id].message}"
        reasons.append(Reason(engine="cedar", effect="forbid", policy=policy_id, message=message))
    remedies: list[str] = []
    if not outcome.permits and not outcome.forbids and not outcome.errors:
        target = f"{request.action} on {request.resource}"
        reasons.append(Reason(engine="cedar", effect="deny", message=f"no policy permits {target}"))
        permits = (p for p in engine.cedar.policies_for(request.action) if p.effect == "permit")
        remedies = [
            f"satisfy policy {policy.id}: {policy.message}"
            for policy in islice(permits, _MAX_REMEDIES)  # a decision names no more
        ]
    return reasons, remedies, obligations


class PolicyDecisionPoint:
    """Answers access requests with the bundle currently in force."""

    def __init__(
        self,
        engine: Callable[[], PolicyEngine],
        *,
        clock: Clock = utcnow,
        stale_tolerant_actions: frozenset[str] = frozenset(),
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._stale_tolerant = stale_tolerant_actions

    def _decision(
        self,
        engine: PolicyEngine,
        request: AccessRequest,
        effect: Effect,
        reasons: list[Reason],
        obligations: tuple[Obligation, ...] = (),
        remedies: list[str] | None = None,
    ) -> Decision:
        return Decision(
            decision=effect,
            decision_id=str(uuid.uuid4()),
            policy_digest=engine.digest,
            policy_signers=engine.signers,
            decided_at=self._clock(),
            request=request,
            obligations=obligations,
            reasons=tuple(reasons),
            remedies=tuple((remedies or [])[:_MAX_REMEDIES]),
        )

    def refuse(
        self, request: AccessRequest, message: str, *, unavailable: bool = False
    ) -> Decision:
        """A deny the gateway itself gives, without evaluating policies; ``unavailable``
        when it is only because facts could not be read."""
        reason = Reason(engine="gateway", effect="error", message=message)
        decision = self._decision(self._engine(), request, Effect.DENY, [reason])
        return decision.model_copy(update={"unavailable": True}) if unavailable else decision

    def decide(
        self,
        request: AccessRequest,
        actor: IdentityFacts | None,
        resource: ResourceFacts | None = None,
    ) -> Decision:
        """Decide ``request``; never raises on bad facts or policies, denies instead."""
        engine = self._engine()
        if actor is None:
            message = f"unknown actor {request.actor!r}: not found in the directory"
            return self.refuse(request, message)
        stale = actor.stale_since or (resource.stale_since if resource is not None else None)
        if stale is not None and request.action not in self._stale_tolerant:
            return self.refuse(
                request,
                f"directory unavailable: facts served from cache since {stale.isoformat()}; "
                f"{request.action} needs fresh facts",
                unavailable=True,
            )
        evaluation = engine.evaluate(request, actor, resource)
        rbac_reasons, rbac_remedies = _rbac_reasons(engine, request, evaluation)
        cedar_reasons, cedar_remedies, obligations = _cedar_reasons(engine, request, evaluation)
        reasons = rbac_reasons + cedar_reasons
        if stale is not None:
            message = f"decided on facts served from cache since {stale.isoformat()}"
            reasons.append(Reason(engine="gateway", effect="note", message=message))
        if resource is None and evaluation.cedar.errors:
            message = f"no directory facts for {request.resource}"
            reasons.append(Reason(engine="gateway", effect="error", message=message))
        if evaluation.rbac.allowed and evaluation.cedar.allowed:
            merged = merge_obligations(obligations)
            return self._decision(engine, request, Effect.ALLOW, reasons, merged)
        remedies = rbac_remedies + cedar_remedies
        return self._decision(engine, request, Effect.DENY, reasons, remedies=remedies)

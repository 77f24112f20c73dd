"""One bundle made ready to decide: the role check, the Cedar engine and a decision cache."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.policy.abac import CedarEngine, CedarOutcome
from gateway.policy.bundle import PolicyBundle
from gateway.policy.entities import cedar_type, resource_entity, user_entity
from gateway.policy.entity_base import EntityBase, entity_text
from gateway.policy.rbac import Rbac, RbacResult, build_rbac
from gateway.policy.request import AccessRequest

__all__ = ["BINDING_ONLY_CONTEXT", "Evaluation", "PolicyEngine", "cedar_context", "rbac_subjects"]

# Context keys that bind a step-up or an approval to the exact request and go to the audit
# log, but are not attributes policies decide on (policies see named context attributes).
BINDING_ONLY_CONTEXT = frozenset({"parameters"})


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The raw answers of both engines for one request."""

    rbac: RbacResult
    cedar: CedarOutcome


def cedar_context(request: AccessRequest) -> str:
    """The request context as Cedar sees it: canonical JSON without the binding-only keys."""
    context = {k: v for k, v in request.context.items() if k not in BINDING_ONLY_CONTEXT}
    return json.dumps(context, sort_keys=True, separators=(",", ":"))


def rbac_subjects(actor: IdentityFacts) -> tuple[str, ...]:
    """How an actor appears to Casbin: itself and each of its directory groups."""
    return (f"user:{actor.id}", *(f"group:{group}" for group in sorted(actor.groups)))


class PolicyEngine:
    """Decides requests for one bundle.

    Cedar answers are cached by their complete input (action, the entities built from the
    facts, the context), so a cached answer is always the one Cedar would give; a new
    bundle gets a new engine and therefore an empty cache.
    """

    def __init__(
        self,
        bundle: PolicyBundle,
        *,
        compiled_rbac: bool = True,
        cache_size: int = 65_536,
        signers: tuple[str, ...] = (),
    ) -> None:
        self.bundle = bundle
        self.digest = bundle.digest
        self.signers = signers  # the trusted signers of the bundle, when it was checked
        self.rbac: Rbac = build_rbac(bundle.casbin, compiled=compiled_rbac)
        self.cedar = CedarEngine(bundle.policies, bundle.schema)
        self._cedar_cached = lru_cache(maxsize=cache_size)(self._cedar_uncached)

    def load_directory(
        self,
        actors: Iterable[IdentityFacts],
        resources: Iterable[tuple[str, str, ResourceFacts | None]] = (),
    ) -> EntityBase:
        """Parse the entities of ``actors`` and of ``resources`` (type, id, facts) once,
        so that requests on unchanged facts skip parsing their own (``CedarEngine.
        load_entities``); facts that differ later are parsed per request as before."""
        entities = [user_entity(actor) for actor in actors]
        entities += [resource_entity(kind, ident, facts) for kind, ident, facts in resources]
        return self.cedar.load_entities(entities)

    @property
    def directory_entities(self) -> int:
        """How many entities the loaded directory holds (0: none loaded)."""
        return len(self.cedar.base)

    @property
    def directory_decisions(self) -> int:
        """How many Cedar evaluations the loaded directory served, parsing nothing."""
        return self.cedar.base_hits

    def _cedar_uncached(
        self,
        action: str,
        principal: str,
        resource: tuple[str, str],
        context: str,
        entities: tuple[str, ...],
        groups: frozenset[str],
    ) -> CedarOutcome:
        return self.cedar.evaluate(
            action,
            {"type": "User", "id": principal},
            {"type": resource[0], "id": resource[1]},
            context,
            f"[{','.join(entities)}]",
            principal_groups=groups,
            entity_texts=entities,
        )

    def evaluate(
        self, request: AccessRequest, actor: IdentityFacts, resource: ResourceFacts | None
    ) -> Evaluation:
        ref = request.resource
        rbac = self.rbac.check(rbac_subjects(actor), ref.type, request.action)
        entities = [entity_text(user_entity(actor))]
        resource_uid = (cedar_type(ref.type), ref.id)
        if resource_uid != ("User", actor.id):
            entities.append(entity_text(resource_entity(ref.type, ref.id, resource)))
        cedar = self._cedar_cached(
            request.action,
            actor.id,
            resource_uid,
            cedar_context(request),
            tuple(entities),
            frozenset(actor.groups),  # the principal's ancestors in the entities
        )
        return Evaluation(rbac, cedar)

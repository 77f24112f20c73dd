"""Attribute-based checks over the Cedar half of the bundle.

Cedar evaluates every policy in the set it is given, so the engine hands it only the
policies that can apply to the requested action: those whose scope names the action
(``action == Action::"..."``) and those that may apply to any action (no action
constraint, or ``action in [...]``).  A policy scoped to another action can never be
satisfied, nor raise an error, so the slice decides exactly as the whole set does (a
property test checks this).  Slices are parsed once per bundle.

Within a slice, policies that only a principal that is, or descends from, one entity can
meet (``principal in Group::"G"``, ``principal == User::"U"``, in the scope or as the first
condition) are kept apart, one small set per entity, and policies whose first condition is
``context has K`` are evaluated only when the context has ``K``
(``gateway.policy.policy_index``): most requests evaluate one set, the policies any
principal may meet with that context, parsed once.  When a request needs several sets
their answers are combined as Cedar combines policies (a satisfied forbid denies, naming
every satisfied forbid; else a satisfied permit allows, naming every satisfied permit); any
error in any of them sends the request to the whole slice instead, so errors read as they
always did.

Entities: a request's own entities are parsed on each call (a bounded cache keeps parsed
sets while the same facts recur), unless an ``EntityBase`` loaded into the engine holds them
unchanged and the action's policies read no other entity (``gateway.policy.entity_base``):
then the base, parsed once, is handed to Cedar and nothing is parsed per request.

Fail closed: an evaluation error anywhere (a forbid policy that errors is skipped by
Cedar, which could turn a deny into an allow) makes the outcome a deny naming the error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cedarpy

from gateway.policy.cedar_source import CedarPolicy
from gateway.policy.entity_base import EntityBase, names_entities, reads_only_request_entities
from gateway.policy.policy_index import ScopeKey, SlicePlan, plan_slice, principal_scope

__all__ = ["CedarEngine", "CedarOutcome", "principal_scope"]

_ENTITY_ERROR_PREFIX = "failed to parse entities from:"
_ENTITY_ERROR_END = "]: "  # the quoted document is a JSON array followed by the diagnosis


@dataclass(frozen=True, slots=True)
class CedarOutcome:
    """What Cedar decided: the policies that determined it and any errors."""

    allowed: bool
    permits: tuple[str, ...]
    forbids: tuple[str, ...]
    errors: tuple[str, ...]


def clean_error(message: str) -> str:
    """Cedar quotes whole entity documents in some errors; keep only the diagnosis."""
    if message.startswith(_ENTITY_ERROR_PREFIX):
        _, _, detail = message.rpartition(_ENTITY_ERROR_END)
        return f"invalid entity data: {detail}"
    return message


def _context_attributes(context_json: str) -> Mapping[str, Any] | None:
    """The attributes of a request context, ``None`` when it is not a JSON object (the
    evaluation then reports it)."""
    try:
        context = json.loads(context_json)
    except ValueError:
        return None
    return context if isinstance(context, dict) else None


class CedarEngine:
    """Evaluates requests against one bundle's Cedar policies and schema."""

    def __init__(self, policies: Iterable[CedarPolicy], schema: cedarpy.Schema) -> None:
        self.schema = schema
        self.policies = {policy.id: policy for policy in policies}
        self._order = {policy_id: index for index, policy_id in enumerate(self.policies)}
        self._any_action = [p for p in self.policies.values() if p.actions is None]
        self._by_action: dict[str, list[CedarPolicy]] = {}
        for policy in self.policies.values():
            for action in policy.actions or ():
                self._by_action.setdefault(action, []).append(policy)
        self._sets: dict[str, cedarpy.PolicySet] = {}
        self._entities = lru_cache(maxsize=8192)(self._parse_entities)
        self._slices: dict[str, tuple[CedarPolicy, ...]] = {}
        self._plans: dict[str, SlicePlan] = {}
        self._scoped_sets: dict[tuple[str, ScopeKey | frozenset[str]], cedarpy.PolicySet] = {}
        self._base = EntityBase.load((), schema)
        self._base_readable: dict[str, bool] = {}
        self.base_hits = 0  # evaluations the loaded base stood in for (a count to report)

    def policies_for(self, action: str) -> tuple[CedarPolicy, ...]:
        """The policies that can apply to ``action``, in bundle order."""
        found = self._slices.get(action)
        if found is None:
            scoped = self._by_action.get(action, [])
            ordered = sorted([*scoped, *self._any_action], key=lambda p: self._order[p.id])
            found = self._slices[action] = tuple(ordered)
        return found

    def policy_set(self, action: str) -> cedarpy.PolicySet:
        found = self._sets.get(action)
        if found is None:  # two threads may both build it; either result is the same
            found = self.compile(self.policies_for(action))
            self._sets[action] = found
        return found

    def _plan(self, action: str) -> SlicePlan:
        found = self._plans.get(action)
        if found is None:
            found = self._plans[action] = plan_slice(self.policies_for(action))
        return found

    def _scoped_set(self, action: str, key: ScopeKey | frozenset[str]) -> cedarpy.PolicySet:
        """The parsed set of the policies kept for the entity ``key``, or of those any
        principal may meet when the context has the guarding attributes ``key``."""
        found = self._scoped_sets.get((action, key))
        if found is None:  # as for policy_set: a race builds the same set twice
            plan = self._plan(action)
            policies = plan.unscoped(key) if isinstance(key, frozenset) else plan.scoped[key]
            found = self._scoped_sets[(action, key)] = self.compile(policies)
        return found

    def prepare(self, action: str) -> None:
        """Parse every policy set ``action`` may need now rather than on first use."""
        self.policy_set(action)
        plan = self._plan(action)
        keys: list[ScopeKey | frozenset[str]] = [*plan.combinations(), *plan.scoped]
        for key in keys:
            self._scoped_set(action, key)

    def load_entities(self, entities: Iterable[Mapping[str, Any]]) -> EntityBase:
        """Parse ``entities`` (entity documents as requests build them) once, to stand in
        for the entities of every request it holds unchanged; replaces any earlier base."""
        base = EntityBase.load(entities, self.schema)
        self._base = base
        return base

    @property
    def base(self) -> EntityBase:
        """The entity base loaded last (empty until ``load_entities``)."""
        return self._base

    def _base_serves(self, action: str) -> bool:
        found = self._base_readable.get(action)
        if found is None:
            policies = self.policies_for(action)
            found = all(reads_only_request_entities(policy) for policy in policies)
            self._base_readable[action] = found
        return found

    def _parse_entities(self, entities_json: str) -> cedarpy.Entities:
        return cedarpy.Entities.from_json_str(entities_json, self.schema)

    def entities(self, entities_json: str) -> cedarpy.Entities | str:
        """A parsed, schema-checked entity set, reused while the same facts recur.

        Invalid entities are handed to the evaluation as text instead, whose error says
        exactly which attribute is wrong.
        """
        try:
            return self._entities(entities_json)
        except ValueError:
            return entities_json

    @staticmethod
    def compile(policies: Iterable[CedarPolicy]) -> cedarpy.PolicySet:
        """A parsed policy set whose policy ids are the policies' @id values."""
        document = {
            "staticPolicies": {policy.id: dict(policy.est) for policy in policies},
            "templates": {},
            "templateLinks": [],
        }
        return cedarpy.PolicySet.from_json_str(json.dumps(document))

    def evaluate(
        self,
        action: str,
        principal: Mapping[str, str],
        resource: Mapping[str, str],
        context_json: str,
        entities_json: str,
        *,
        principal_groups: Iterable[str] | None = None,
        entity_texts: Sequence[str] | None = None,
    ) -> CedarOutcome:
        """Cedar's answer over the action's slice.

        ``principal_groups`` are the ``Group`` ids the principal descends from in
        ``entities_json`` (all of them); given, only the policies whose principal scope
        can match are evaluated.  Without them the whole slice is.  ``entity_texts`` are
        the texts of the entities ``entities_json`` lists (``entity_base.entity_text``);
        given, a loaded base that holds them all stands in for them.
        """
        request = {
            "principal": dict(principal),
            "action": {"type": "Action", "id": action},
            "resource": dict(resource),
            "context": context_json,
        }
        context = _context_attributes(context_json)
        base = self._base
        if (
            entity_texts is not None
            and base.holds(entity_texts)
            and self._base_serves(action)
            and context is not None
            and not names_entities(context)
        ):
            entities: cedarpy.Entities | str = base.handle
            self.base_hits += 1
        else:
            entities = self.entities(entities_json)
        if principal_groups is not None:
            outcome = self._evaluate_scoped(
                action, request, context, entities, principal, principal_groups
            )
            if outcome is not None:
                return outcome
        result = cedarpy.is_authorized(
            request, self.policy_set(action), entities, schema=self.schema
        )
        errors = tuple(clean_error(error) for error in result.diagnostics.errors)
        determining = self._in_bundle_order(result.diagnostics.reasons)
        allowed = result.allowed and not errors
        if result.allowed:
            return CedarOutcome(allowed, determining, (), errors)
        return CedarOutcome(False, (), determining, errors)

    def _evaluate_scoped(
        self,
        action: str,
        request: dict[str, Any],
        context: Mapping[str, Any] | None,
        entities: cedarpy.Entities | str,
        principal: Mapping[str, str],
        groups: Iterable[str],
    ) -> CedarOutcome | None:
        """The answer from the policies any principal may meet with this context and those
        kept for the principal or its groups; ``None`` when any evaluation reports an error."""
        plan = self._plan(action)
        present = plan.context_keys(context)
        keys: list[ScopeKey | frozenset[str]] = [present]
        candidates = [(str(principal["type"]), str(principal["id"]))]
        candidates += [("Group", group) for group in groups]
        keys += [key for key in candidates if key in plan.scoped]
        permits: set[str] = set()
        forbids: set[str] = set()
        for key in keys:
            result = cedarpy.is_authorized(
                request, self._scoped_set(action, key), entities, schema=self.schema
            )
            if result.diagnostics.errors:
                return None
            (permits if result.allowed else forbids).update(result.diagnostics.reasons)
        if forbids:
            return CedarOutcome(False, (), self._in_bundle_order(forbids), ())
        return CedarOutcome(bool(permits), self._in_bundle_order(permits), (), ())

    def _in_bundle_order(self, policy_ids: Iterable[str]) -> tuple[str, ...]:
        """Cedar reports determining policies in no set order; name them as the bundle does."""
        return tuple(sorted(policy_ids, key=self._order.__getitem__))

"""Attribute-based checks over the Cedar half of the bundle.

Cedar evaluates every policy in the set it is given, so the engine hands it only the
policies that can apply to the requested action: those whose scope names the action
(``action == Action::"..."``) and those that may apply to any action (no action
constraint, or ``action in [...]``).  A policy scoped to another action can never be
satisfied, nor raise an error, so the slice decides exactly as the whole set does (a
property test checks this).  Slices are parsed once per bundle.

Fail closed: an evaluation error anywhere (a forbid policy that errors is skipped by
Cedar, which could turn a deny into an allow) makes the outcome a deny naming the error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import cedarpy

from gateway.policy.cedar_source import CedarPolicy

__all__ = ["CedarEngine", "CedarOutcome"]

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
    ) -> CedarOutcome:
        request = {
            "principal": dict(principal),
            "action": {"type": "Action", "id": action},
            "resource": dict(resource),
            "context": context_json,
        }
        result = cedarpy.is_authorized(
            request, self.policy_set(action), self.entities(entities_json), schema=self.schema
        )
        errors = tuple(clean_error(error) for error in result.diagnostics.errors)
        determining = tuple(result.diagnostics.reasons)
        allowed = result.allowed and not errors
        if result.allowed:
            return CedarOutcome(allowed, determining, (), errors)
        return CedarOutcome(False, (), determining, errors)

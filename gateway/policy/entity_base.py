"""A directory's entities parsed once, for requests whose entities it holds unchanged.

Cedar parses a request's entities (the actor and the resource, checked against the schema)
on every call unless it is handed a parsed set.  An ``EntityBase`` is one parsed set of many
entities, built once (``load``) from the same entity documents the engine builds per
request.  A request may be evaluated against it only when

* the base holds each of the request's entities with exactly the text the request would
  have parsed (``holds``): facts that changed since the base was built read as a text the
  base does not hold, so the very next decision parses them instead; and
* no policy the request can meet reads an entity other than the principal and the resource
  (``reads_only_request_entities``): with the request's two entities alone, following a
  reference (``principal.manager.department``) or asking an entity found in an attribute
  for its groups is an error or ``false``, while the base would answer it from another
  entity.  Such actions keep parsing the request's own entities.  Policies may read the
  context to any depth (``context.change_request.approved``) as long as the request's
  context names no entity (``names_entities``): then every value in it is a record or a
  plain value, never an entity to read.

Entities that are parents of others are left out, so an entity's ancestors in the base are
its own parents, as in a request's own set; so are entities the schema refuses and
entities given twice with different content (those requests parse their own, and read the
error as they always did).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import cedarpy

from gateway.policy.cedar_source import CedarPolicy

__all__ = ["EntityBase", "entity_text", "names_entities", "reads_only_request_entities"]

EntityUid = tuple[str, str]

# Operators that read an entity's attributes, tags or ancestors from the entity set.
_READS_ATTRIBUTES = frozenset({".", "has", "getTag", "hasTag"})
_REQUEST_ENTITIES = ({"Var": "principal"}, {"Var": "resource"}, {"Var": "action"})
_CONTEXT = {"Var": "context"}


def entity_text(entity: Mapping[str, Any]) -> str:
    """The one JSON text of an entity document, as requests and the base both parse it."""
    return json.dumps(entity, separators=(",", ":"))


def _in_context(node: Any) -> bool:
    """True for ``context`` and any chain of attributes read from it."""
    while isinstance(node, dict) and len(node) == 1 and isinstance(node.get("."), dict):
        node = node["."].get("left")
    return bool(node == _CONTEXT)


def _reads_only(node: Any) -> bool:
    if isinstance(node, list):
        return all(_reads_only(item) for item in node)
    if not isinstance(node, dict):
        return True
    for key, value in node.items():
        if key in _READS_ATTRIBUTES or key == "in":
            left = value.get("left") if isinstance(value, dict) else None
            readable = left in _REQUEST_ENTITIES or (key != "in" and _in_context(left))
            if not readable:
                return False
        if not _reads_only(value):
            return False
    return True


def reads_only_request_entities(policy: CedarPolicy) -> bool:
    """True when ``policy`` reads no entity but the principal, the resource and the action:
    every attribute, tag and ancestor it asks for is asked of one of them, or of the context
    (for a context that names no entity).  Conservative: ``is ... in``, records held by the
    principal or the resource, and record literals with such keys read as reading other
    entities."""
    return _reads_only(list(policy.est.get("conditions", ())))


def names_entities(value: Any) -> bool:
    """True when a context value holds anything that may be read as an entity reference:
    an object with an ``__entity`` or a ``type`` key, at any depth."""
    if isinstance(value, dict):
        return "__entity" in value or "type" in value or any(map(names_entities, value.values()))
    if isinstance(value, list):
        return any(map(names_entities, value))
    return False


def _uid(entity: Mapping[str, Any]) -> EntityUid:
    uid = entity["uid"]
    return (str(uid["type"]), str(uid["id"]))


class EntityBase:
    """Parsed entities and the exact text of each, for requests that hold nothing else."""

    def __init__(self, handle: cedarpy.Entities, texts: frozenset[str]) -> None:
        self.handle = handle
        self._texts = texts

    def __len__(self) -> int:
        return len(self._texts)

    def holds(self, texts: Iterable[str]) -> bool:
        """True when every one of ``texts`` is an entity of the base, unchanged."""
        known = self._texts
        return all(text in known for text in texts)

    @classmethod
    def load(cls, entities: Iterable[Mapping[str, Any]], schema: cedarpy.Schema) -> EntityBase:
        """Parse ``entities`` once, checked against ``schema``; see the module notes for the
        entities left out."""
        by_uid: dict[EntityUid, str | None] = {}
        parents: set[EntityUid] = set()
        for entity in entities:
            uid = _uid(entity)
            text = entity_text(entity)
            by_uid[uid] = text if by_uid.get(uid, text) == text else None
            parents.update(_uid({"uid": parent}) for parent in entity.get("parents", ()))
        texts = [text for uid, text in by_uid.items() if text is not None and uid not in parents]
        try:
            handle = cedarpy.Entities.from_json_str(f"[{','.join(texts)}]", schema)
        except ValueError:  # some entity the schema refuses: keep the others
            texts = [text for text in texts if _valid(text, schema)]
            handle = cedarpy.Entities.from_json_str(f"[{','.join(texts)}]", schema)
        return cls(handle, frozenset(texts))


def _valid(text: str, schema: cedarpy.Schema) -> bool:
    try:
        cedarpy.Entities.from_json_str(f"[{text}]", schema)
    except ValueError:
        return False
    return True

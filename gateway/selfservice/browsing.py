"""Browsing the catalog: the items a person may see, found by words or category.

Who sees which item is the policy's answer to ``selfservice.view`` on
``catalog_item:<id>``, with the item's category and owner in the context.  Seeing is not
a privileged action, so these decisions are not audited; each person's answer is kept
``ttl`` seconds (a run is always decided afresh, and audited).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from gateway.identity.directory import DirectoryConnector
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest
from gateway.selfservice.catalog import Catalog, CatalogItem
from gateway.selfservice.errors import UnknownItemError
from gateway.selfservice.inputs import ValueSource

__all__ = ["CHANNEL", "CatalogBrowser", "FactsAndDecisions", "item_context"]

CHANNEL = "self_service"


class FactsAndDecisions(Protocol):
    directory: DirectoryConnector
    decision_point: PolicyDecisionPoint


def item_context(item: CatalogItem) -> dict[str, Any]:
    """What the policy knows of an item: its category and its owner."""
    d = item.definition
    return {"channel": CHANNEL, "category": d.category, "item_owner": d.owner}


class CatalogBrowser:
    def __init__(
        self,
        catalog: Catalog,
        gateway: FactsAndDecisions,
        sources: Mapping[str, ValueSource],
        *,
        ttl: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self._gateway = gateway
        self._sources = sources
        self._ttl = ttl
        self._monotonic = monotonic
        self._visible: dict[str, tuple[float, frozenset[str]]] = {}

    def visible_ids(self, actor: str) -> frozenset[str]:
        cached = self._visible.get(actor)
        if cached is not None and cached[0] > self._monotonic():
            return cached[1]
        facts = self._gateway.directory.get_user(actor)
        decide = self._gateway.decision_point.decide
        seen = frozenset(
            item.id
            for item in self.catalog
            if decide(
                AccessRequest(
                    actor=actor,
                    action="selfservice.view",
                    resource=f"catalog_item:{item.id}",
                    context=item_context(item),
                ),
                facts,
                None,
            ).allowed
        )
        self._visible[actor] = (self._monotonic() + self._ttl, seen)
        return seen

    def browse(self, actor: str, query: str = "", category: str | None = None) -> list[CatalogItem]:
        seen = self.visible_ids(actor)
        return [item for item in self.catalog.search(query, category) if item.id in seen]

    def show(self, actor: str, item_id: str) -> CatalogItem:
        """The item, if ``actor`` may see it; to anyone else it does not exist."""
        item = self.catalog.get(item_id)
        if item.id not in self.visible_ids(actor):
            raise UnknownItemError(item_id)
        return item

    def choices(self, actor: str, item: CatalogItem) -> dict[str, list[str]]:
        """The values each sourced parameter offers ``actor``."""
        found: dict[str, list[str]] = {}
        for name, parameter in item.definition.parameters.items():
            if parameter.source is not None and parameter.source in self._sources:
                found[name] = self._sources[parameter.source].choices(actor)
        return found

"""The catalog: every item in ``automations/catalog/*.yaml``, checked against the workflows.

Loading checks everything a run would trip on and names the file and line of each
problem: an unknown workflow, a ``with`` key the workflow does not take, a workflow
parameter left out, templates that do not parse or refer to parameters the item does not
have, secret parameters handed to a workflow (workflows take no secrets), ids used twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.definitions import DefinitionKind, Loaded, load_definition, load_definitions
from gateway.errors import SourceProblem
from gateway.expressions import ExpressionError, parse_template, split_reference
from gateway.runtime.errors import UnknownWorkflowError
from gateway.runtime.workflows import WorkflowCatalog
from gateway.selfservice.definitions import CatalogItemDefinition
from gateway.selfservice.errors import UnknownItemError
from gateway.yaml_source import YamlDocument, definition_digest

__all__ = ["Catalog", "CatalogItem", "load_item"]

_ROOTS = frozenset({"params", "actor", "target"})


@dataclass(frozen=True)
class CatalogItem:
    """A checked definition, where it came from, and the digest of its content."""

    definition: CatalogItemDefinition
    source: str
    digest: str

    @property
    def id(self) -> str:
        return self.definition.id

    def matches(self, words: list[str]) -> bool:
        """Whether every word occurs in the id, title, description, category or keywords."""
        d = self.definition
        text = " ".join([d.id, d.title, d.description, d.category, *d.keywords]).lower()
        return all(word in text for word in words)

    def summary(self) -> dict[str, Any]:
        d = self.definition
        return {
            "id": d.id,
            "title": d.title,
            "description": d.description,
            "category": d.category,
            "owner": d.owner,
            "version": d.version,
            "minutes_saved": d.minutes_saved,
        }


def _templates(value: Any, loc: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, Mapping):
        return [t for key, item in value.items() for t in _templates(item, (*loc, str(key)))]
    if isinstance(value, list):
        return [t for i, item in enumerate(value) for t in _templates(item, (*loc, str(i)))]
    return []


def _reference_problem(reference: str, definition: CatalogItemDefinition) -> str | None:
    parts = [str(part) for part in split_reference(reference)]
    if parts[0] not in _ROOTS:
        return f"{reference}: templates may use params, actor and target only"
    if parts[0] == "params":
        spec = definition.parameters.get(parts[1]) if len(parts) > 1 else None
        if spec is None:
            return f"{reference}: the item has no such parameter"
        if spec.secret:
            return f"{reference}: secret parameters are never handed to a workflow"
    if parts[0] == "target" and definition.target is None:
        return f"{reference}: the item has no target parameter"
    return None


def _check_item(
    definition: CatalogItemDefinition, document: YamlDocument, workflows: WorkflowCatalog
) -> list[SourceProblem]:
    path = str(document.path)
    problems: list[SourceProblem] = []

    def problem(loc: tuple[str, ...], message: str) -> None:
        problems.append(SourceProblem(path, document.line_of(loc), message))

    try:
        workflow = workflows.get(definition.workflow)
    except UnknownWorkflowError as exc:
        problem(("workflow",), str(exc))
    else:
        declared = workflow.definition.parameters
        for name in definition.with_:
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                problem(
                    ("with", name),
                    f"workflow {workflow.id} has no parameter {name!r} (known: {known})",
                )
        missing = [n for n, s in declared.items() if s.is_required and n not in definition.with_]
        if missing:
            problem(("with",), f"workflow {workflow.id} needs {', '.join(missing)}")
    for loc, text in _templates(definition.with_, ("with",)):
        try:
            references = parse_template(text).references
        except ExpressionError as exc:
            problem(loc, f"template does not parse: {exc}")
            continue
        for reference in sorted(references):
            why = _reference_problem(reference, definition)
            if why is not None:
                problem(loc, why)
    return problems


_KIND = DefinitionKind("catalog item", "catalog")


def _read_item(path: Path, workflows: WorkflowCatalog) -> Loaded[CatalogItem]:
    definition, document = load_definition(
        path, CatalogItemDefinition, _KIND, lambda found, doc: _check_item(found, doc, workflows)
    )
    item = CatalogItem(definition, str(path), definition_digest(definition))
    return Loaded(item, document, item.id)


def load_item(path: Path, workflows: WorkflowCatalog) -> CatalogItem:
    """Load and check one item file; ``SourceError`` lists every problem."""
    return _read_item(path, workflows).value


class Catalog:
    """Every item of a folder, by id, in id order."""

    def __init__(self, items: Mapping[str, CatalogItem]) -> None:
        self._items = dict(sorted(items.items()))
        body = json.dumps({i: item.digest for i, item in self._items.items()}, sort_keys=True)
        self.digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()

    @classmethod
    def load(cls, folder: Path, workflows: WorkflowCatalog) -> Catalog:
        """Every ``*.yaml`` of ``folder`` (none when it does not exist); ``SourceError``
        with every problem of every file and every id used twice."""
        items = load_definitions(folder, lambda path: _read_item(path, workflows), _KIND)
        return cls({item.id: item for item in items})

    def get(self, item_id: str) -> CatalogItem:
        item = self._items.get(item_id)
        if item is None:
            raise UnknownItemError(item_id)
        return item

    def search(self, query: str = "", category: str | None = None) -> list[CatalogItem]:
        words = query.lower().split()
        return [
            item
            for item in self._items.values()
            if (category is None or item.definition.category == category) and item.matches(words)
        ]

    def __iter__(self) -> Iterator[CatalogItem]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

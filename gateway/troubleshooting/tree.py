"""Checked trees: one file each, their edges, and the catalog of a folder.

``load_tree`` parses a file, validates it with the models and then with the graph checks
(``validation``); every problem names the file and line.  A ``Tree`` keeps the digest of
its exact content: a session remembers the digest it started with, and a changed file is
noticed when the session is resumed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.definitions import DefinitionKind, Loaded, load_definition, load_definitions
from gateway.troubleshooting.edges import Edge, edges_of
from gateway.troubleshooting.errors import UnknownTreeError
from gateway.troubleshooting.model import (
    Node,
    QuestionNode,
    TreeDefinition,
)
from gateway.yaml_source import definition_digest

__all__ = [
    "Edge",
    "Tree",
    "TreeCatalog",
    "edges_of",
    "load_tree",
    "tree_from_definition",
    "tree_from_snapshot",
]


@dataclass(frozen=True)
class Tree:
    """A checked definition, where it came from, and the digest of its exact content."""

    definition: TreeDefinition
    source: str
    digest: str
    edges: Mapping[str, tuple[Edge, ...]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def version(self) -> int:
        return self.definition.version

    def node(self, node_id: str) -> Node:
        return self.definition.nodes[node_id]

    def questions(self) -> Iterator[tuple[str, QuestionNode]]:
        for node_id, node in self.definition.nodes.items():
            if isinstance(node, QuestionNode):
                yield node_id, node

    def snapshot(self) -> str:
        """The definition as JSON, kept with each session so that a session resumed after
        the file changed goes on with exactly the tree it started with."""
        return self.definition.model_dump_json(by_alias=True)


def _digest(definition: TreeDefinition) -> str:
    return definition_digest(definition)


def tree_from_definition(definition: TreeDefinition, source: str) -> Tree:
    """A tree from a definition already checked (or read back from a session's snapshot)."""
    edges = {node_id: tuple(edges_of(node_id, n)) for node_id, n in definition.nodes.items()}
    return Tree(definition, source, _digest(definition), edges)


_KIND = DefinitionKind("tree", "trees")


def _read_tree(path: Path, workflows: Collection[str] | None) -> Loaded[Tree]:
    from gateway.troubleshooting.validation import check_tree

    definition, document = load_definition(
        path, TreeDefinition, _KIND, lambda found, doc: check_tree(found, doc, workflows)
    )
    tree = tree_from_definition(definition, str(path))
    return Loaded(tree, document, tree.id)


def load_tree(path: Path, workflows: Collection[str] | None = None) -> Tree:
    """Load and check one tree file; ``SourceError`` lists every problem.  With
    ``workflows``, action nodes must name one of them."""
    return _read_tree(path, workflows).value


def tree_from_snapshot(text: str, source: str) -> Tree:
    return tree_from_definition(TreeDefinition.model_validate_json(text), source)


class TreeCatalog:
    """Every tree in a folder, by id."""

    def __init__(self, trees: Mapping[str, Tree]) -> None:
        self._trees = dict(trees)

    @classmethod
    def load(cls, folder: Path, workflows: Collection[str] | None = None) -> TreeCatalog:
        """Load every ``*.yaml`` in ``folder``; ``SourceError`` with every problem of every
        file (an id used twice is one)."""
        trees = load_definitions(folder, lambda path: _read_tree(path, workflows), _KIND)
        return cls({tree.id: tree for tree in trees})

    def get(self, tree_id: str) -> Tree:
        tree = self._trees.get(tree_id)
        if tree is None:
            raise UnknownTreeError(tree_id, self.ids())
        return tree

    def ids(self) -> list[str]:
        return sorted(self._trees)

    def __iter__(self) -> Iterator[Tree]:
        return iter(self._trees[tree_id] for tree_id in self.ids())

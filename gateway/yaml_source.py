"""Load YAML definitions with the line of every value, and validate them with pydantic.

Every error names the file and the line of the offending value, so that people editing
definitions by hand find the problem at once.

Aliases are bounded while the document is composed, before anything is built from it: at
most ``MAX_ALIASES`` alias uses, adding at most ``MAX_ALIAS_VALUES`` values once expanded,
and never an alias inside the value it names; nesting is bounded by ``MAX_DEPTH``. A
"billion laughs" document is refused at the alias that crosses a limit, in time
proportional to its text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gateway.errors import SourceError, SourceProblem

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_VALUES",
    "MAX_DEPTH",
    "BoundedSafeLoader",
    "YamlDocument",
    "definition_digest",
    "load_yaml",
    "load_yaml_model",
    "problems_from_validation",
]

Model = TypeVar("Model", bound=BaseModel)
Loc = tuple[str, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML document and the line (1-based) where each value starts."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[object]) -> int:
        """The line of the value at ``loc``, or of its nearest enclosing value."""
        key = tuple(str(part) for part in loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)


MAX_ALIASES = 100
"""Alias uses (``*name``) allowed in one document."""
MAX_ALIAS_VALUES = 10_000
"""Values (scalars, sequences, mappings) that all the aliases of one document may add."""
MAX_DEPTH = 100
"""Sequences and mappings nested in one another."""


class BoundedSafeLoader(yaml.SafeLoader):
    """A safe loader that bounds aliases, what they expand to, and nesting, while composing.

    ``yaml.load(text, Loader=BoundedSafeLoader)`` is ``yaml.safe_load`` with the bounds; a
    document past one raises ``yaml.composer.ComposerError`` (a ``yaml.YAMLError``).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._alias_values = 0
        self._depth = 0
        self._open: set[str] = set()
        self._sizes: dict[int, tuple[int, int]] = {}

    def _expanded(self, node: yaml.Node) -> tuple[int, int]:
        """Values in ``node`` and its depth, with every alias expanded; each node sized once."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        sizes = [self._expanded(child) for child in children]
        known = (
            1 + sum(size for size, _ in sizes),
            1 + max((depth for _, depth in sizes), default=0),
        )
        self._sizes[id(node)] = known
        return known

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            return self._compose_alias(str(event.anchor), mark, parent, index)
        anchor = None if event.anchor is None else str(event.anchor)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH}", mark)
        if anchor is not None:
            self._open.add(anchor)
        node = super().compose_node(parent, index)
        self._open.discard(anchor or "")
        self._depth -= 1
        return node

    def _compose_alias(
        self, anchor: str, mark: yaml.Mark, parent: yaml.Node | None, index: int
    ) -> yaml.Node | None:
        self._aliases += 1
        problem = None
        if self._aliases > MAX_ALIASES:
            problem = f"more than {MAX_ALIASES} aliases in one document"
        elif anchor in self._open:
            problem = f"alias {anchor!r} refers to a value that contains it"
        if problem is not None:
            raise yaml.composer.ComposerError(None, None, problem, mark)
        node = super().compose_node(parent, index)  # raises on an undefined alias
        size, depth = self._expanded(node) if node is not None else (0, 0)
        self._alias_values += size
        if self._alias_values > MAX_ALIAS_VALUES:
            problem = f"aliases expand to more than {MAX_ALIAS_VALUES} values"
        elif self._depth + depth > MAX_DEPTH:
            problem = f"nested deeper than {MAX_DEPTH} once aliases are expanded"
        if problem is not None:
            raise yaml.composer.ComposerError(None, None, problem, mark)
        return node


def _index_lines(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], duplicates: list[tuple[int, str]]
) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                duplicates.append((key_node.start_mark.line + 1, f"duplicate key {key!r}"))
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*loc, key), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, str(index)), lines, duplicates)


def load_yaml(path: Path) -> YamlDocument:
    """Parse one YAML file; raise ``SourceError`` naming file and line on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError.single("cannot read file", path, 0, type(exc).__name__) from exc
    try:
        loader = BoundedSafeLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses unprintable characters up front
        raise SourceError.single("invalid YAML", path, 0, str(exc)) from exc
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise SourceError.single("invalid YAML", path, line, str(exc.problem or exc)) from exc
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    duplicates: list[tuple[int, str]] = []
    if node is not None:
        _index_lines(node, (), lines, duplicates)
    if duplicates:
        problems = [SourceProblem(str(path), line, message) for line, message in duplicates]
        raise SourceError("invalid YAML", problems)
    return YamlDocument(path=path, data=data, lines=lines)


def problems_from_validation(document: YamlDocument, error: ValidationError) -> list[SourceProblem]:
    """Turn pydantic's errors into problems located in the YAML file."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        loc = detail["loc"]
        where = ".".join(str(part) for part in loc) or "document"
        problems.append(
            SourceProblem(str(document.path), document.line_of(loc), f"{where}: {detail['msg']}")
        )
    return problems


def load_yaml_model(path: Path, model: type[Model], summary: str) -> tuple[Model, YamlDocument]:
    """Parse ``path`` and validate it as ``model``; raise ``SourceError`` with every problem."""
    document = load_yaml(path)
    try:
        return model.model_validate(document.data), document
    except ValidationError as exc:
        raise SourceError(summary, problems_from_validation(document, exc)) from exc


def definition_digest(definition: BaseModel) -> str:
    """``sha256:`` over the canonical JSON of a checked definition: the same content gives
    the same digest whatever its layout, comments or key order in the file."""
    canonical = json.dumps(definition.model_dump(mode="json", by_alias=True), sort_keys=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

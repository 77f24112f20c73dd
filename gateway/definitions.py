"""Folders of YAML definitions, every file read the same way and every problem reported at once.

Workflows, catalog items, ticket triggers, troubleshooting trees and policy test files are
folders of ``*.yaml`` files, one definition each, read in name order.  ``load_definition``
reads one file: parsed (``gateway.yaml_source``), validated by its model, then checked by
the rules of its kind.  ``load_definitions`` reads a whole folder: it collects every problem
of every file instead of stopping at the first, refuses an ``id`` defined twice (naming both
files and lines), runs the checks that span files, and raises one ``SourceError`` whose
summary names the kind::

    invalid workflows:
      workflows/b.yaml:3: workflow id 'unlock' is also defined in workflows/a.yaml:1
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from gateway.errors import SourceError, SourceProblem
from gateway.yaml_source import YamlDocument, load_yaml_model

__all__ = [
    "DefinitionKind",
    "Loaded",
    "definition_files",
    "load_definition",
    "load_definition_files",
    "load_definitions",
]

Model = TypeVar("Model", bound=BaseModel)
Value = TypeVar("Value")


@dataclass(frozen=True)
class DefinitionKind:
    """How errors name a kind of definition: ``invalid <name>`` for one file, ``invalid
    <plural>`` for a folder, ``<name> id 'x' is also defined in ...`` for an id used twice."""

    name: str
    plural: str


@dataclass(frozen=True)
class Loaded(Generic[Value]):
    """What one file became, the document it was read from (for the lines of later
    problems), and its id (``None`` for kinds whose definitions have none)."""

    value: Value
    document: YamlDocument
    id: str | None = None

    @property
    def source(self) -> str:
        return str(self.document.path)


def definition_files(folder: Path) -> list[Path]:
    """The ``*.yaml`` files of ``folder`` in name order; none when it does not exist."""
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def load_definition(
    path: Path,
    model: type[Model],
    kind: DefinitionKind,
    check: Callable[[Model, YamlDocument], Iterable[SourceProblem]] | None = None,
) -> tuple[Model, YamlDocument]:
    """``path`` parsed, validated as ``model`` and checked by ``check``; ``SourceError``
    (``invalid <kind>``) with every problem, each naming the file and line."""
    summary = f"invalid {kind.name}"
    definition, document = load_yaml_model(path, model, summary)
    problems = list(check(definition, document)) if check is not None else []
    if problems:
        raise SourceError(summary, problems)
    return definition, document


def _duplicate(kind: DefinitionKind, item: Loaded[Value], earlier: Loaded[Value]) -> SourceProblem:
    here = item.document.line_of(("id",))
    there = earlier.document.line_of(("id",))
    message = f"{kind.name} id {item.id!r} is also defined in {earlier.source}:{there}"
    return SourceProblem(item.source, here, message)


def load_definition_files(
    paths: Iterable[Path],
    load_one: Callable[[Path], Loaded[Value]],
    kind: DefinitionKind,
    check_all: Callable[[Sequence[Loaded[Value]]], Iterable[SourceProblem]] | None = None,
) -> list[Loaded[Value]]:
    """Every file of ``paths`` through ``load_one``, in order; ``SourceError`` (``invalid
    <plural>``) with every problem of every file, every id used twice, and every problem
    ``check_all`` finds across the files that loaded."""
    loaded: list[Loaded[Value]] = []
    by_id: dict[str, Loaded[Value]] = {}
    problems: list[SourceProblem] = []
    for path in paths:
        try:
            item = load_one(path)
        except SourceError as exc:
            problems.extend(exc.problems)
            continue
        if item.id is not None:
            earlier = by_id.setdefault(item.id, item)
            if earlier is not item:
                problems.append(_duplicate(kind, item, earlier))
                continue
        loaded.append(item)
    if check_all is not None:
        problems.extend(check_all(loaded))
    if problems:
        raise SourceError(f"invalid {kind.plural}", problems)
    return loaded


def load_definitions(
    folder: Path,
    load_one: Callable[[Path], Loaded[Value]],
    kind: DefinitionKind,
    check_all: Callable[[Sequence[Loaded[Value]]], Iterable[SourceProblem]] | None = None,
) -> list[Value]:
    """Every definition of ``folder`` (none when it does not exist), in file name order;
    see ``load_definition_files`` for the problems reported."""
    return [
        item.value
        for item in load_definition_files(definition_files(folder), load_one, kind, check_all)
    ]

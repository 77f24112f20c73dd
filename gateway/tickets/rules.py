"""Trigger definitions: ``automations/triggers/*.yaml``, checked on load.

A trigger is one kind of ticket (a password reset, a software request).  Its ``signals``
say how to recognise it and give the confidence; its ``routes`` say what to do with it in
context, tried in order, the first whose ``when`` holds winning::

    id: password-reset
    title: Password reset requests
    priority: 50                    # breaks ties between triggers of equal confidence
    min_confidence: 0.6             # below this the trigger does not claim the ticket
    target: affected_user           # or "requester", or "none"
    signals:                        # confidence = 1 - product(1 - weight) of those found
      - {keywords: [password, passwd], weight: 0.4}
      - {pattern: '(?i)\\b(reset|forgot)\\b.{0,40}\\bpassword', weight: 0.6}
      - {field: category, equals: [password], weight: 0.5}
    routes:
      - id: privileged-account
        when: "target.privileged"
        humans: {queue: security-team, note: "..."}
      - id: own-account
        when: "requester.id == target.id"
        workflow: password-reset
        with: {user: "{{ target.id }}"}

Loading checks every expression and template, that each workflow exists and takes
exactly the parameters given, and that ids are unique; each problem names file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.definitions import DefinitionKind, Loaded, load_definition, load_definitions
from gateway.errors import SourceProblem
from gateway.expressions import (
    ExpressionError,
    parse_expression,
    parse_template,
    split_reference,
)
from gateway.yaml_source import YamlDocument

__all__ = [
    "SCOPE_ROOTS",
    "HumanRoute",
    "Route",
    "Signal",
    "TriggerDefinition",
    "TriggerSet",
    "WorkflowParameters",
    "load_triggers",
]

_ID = r"^[a-z][a-z0-9_-]{0,63}$"
SCOPE_ROOTS = frozenset({"ticket", "extracted", "requester", "target", "classification"})
_DONE_ROOTS = frozenset({"execution", "params"})
WorkflowParameters = dict[str, frozenset[str]]  # workflow id -> its parameter names


class Signal(BaseModel):
    """One sign of the kind of ticket: any of ``keywords`` as whole words, a regular
    expression ``pattern`` (searched in subject and description), or a ticket ``field``
    equal (case-insensitive) to one of ``equals``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keywords: list[str] | None = Field(default=None, min_length=1)
    pattern: str | None = Field(default=None, min_length=1, max_length=500)
    field: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    equals: list[str] | None = Field(default=None, min_length=1)
    weight: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Signal:
        kinds = [self.keywords is not None, self.pattern is not None, self.field is not None]
        if sum(kinds) != 1:
            raise ValueError("a signal has exactly one of keywords, pattern or field")
        if (self.field is None) != (self.equals is None):
            raise ValueError("field and equals go together")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern does not compile: {exc}") from exc
        return self

    def describe(self) -> str:
        if self.keywords is not None:
            return f"keyword (weight {self.weight:g})"
        if self.pattern is not None:
            return f"pattern (weight {self.weight:g})"
        return f"field {self.field} (weight {self.weight:g})"


class HumanRoute(BaseModel):
    """Leave the ticket with people: the queue to name and the note saying why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str = Field(default="service-desk", min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=2000)


class Route(BaseModel):
    """What to do with a ticket of this kind when ``when`` holds (always, when absent)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=_ID)
    when: str | None = None
    workflow: str | None = Field(default=None, pattern=_ID)
    run_as: str = Field(default="requester", min_length=1, max_length=128)
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    note: str | None = Field(default=None, max_length=2000)  # comment when it starts
    done_note: str | None = Field(default=None, max_length=2000)  # comment when it succeeds
    humans: HumanRoute | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Route:
        if (self.workflow is None) == (self.humans is None):
            raise ValueError("a route has either a workflow or humans")
        if self.humans is not None and (self.with_ or self.note or self.done_note):
            raise ValueError("a humans route takes only humans.queue and humans.note")
        return self


class TriggerDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    priority: int = Field(default=0, ge=-1000, le=1000)
    min_confidence: float = Field(default=0.5, gt=0, le=1)
    target: Literal["affected_user", "requester", "none"] = "affected_user"
    events: Literal["tickets", "alerts"] = "tickets"  # help desk tickets or monitoring alerts
    signals: list[Signal] = Field(min_length=1, max_length=100)
    routes: list[Route] = Field(min_length=1, max_length=50)


@dataclass(frozen=True)
class CompiledSignal:
    signal: Signal
    regex: re.Pattern[str] | None
    weight: float


@dataclass(frozen=True)
class Trigger:
    """A checked definition, its file, and its signals ready to match."""

    definition: TriggerDefinition
    source: str
    signals: tuple[CompiledSignal, ...]

    @property
    def id(self) -> str:
        return self.definition.id


def _compile(signal: Signal) -> CompiledSignal:
    if signal.keywords is not None:
        words = "|".join(re.escape(word) for word in signal.keywords)
        return CompiledSignal(signal, re.compile(rf"(?i)\b(?:{words})\b"), signal.weight)
    if signal.pattern is not None:
        return CompiledSignal(signal, re.compile(signal.pattern), signal.weight)
    return CompiledSignal(signal, None, signal.weight)


def _strings(value: Any, loc: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, str(index)))


def _check(
    definition: TriggerDefinition, document: YamlDocument, workflows: WorkflowParameters | None
) -> list[SourceProblem]:
    problems: list[SourceProblem] = []

    def problem(loc: tuple[str, ...], message: str) -> None:
        problems.append(SourceProblem(str(document.path), document.line_of(loc), message))

    seen: set[str] = set()
    for index, route in enumerate(definition.routes):
        at = ("routes", str(index))
        if route.id in seen:
            problem((*at, "id"), f"route id {route.id!r} is used twice")
        seen.add(route.id)
        texts: list[tuple[tuple[str, ...], str, frozenset[str]]] = [
            (loc, text, SCOPE_ROOTS) for loc, text in _strings(route.with_, (*at, "with"))
        ]
        for name in ("note", "done_note"):
            value = getattr(route, name)
            roots = _DONE_ROOTS if name == "done_note" else SCOPE_ROOTS
            if value is not None:
                texts.append(((*at, name), value, roots))
        if route.humans is not None:
            texts.append(((*at, "humans", "note"), route.humans.note, SCOPE_ROOTS))
        references: list[tuple[tuple[str, ...], str, frozenset[str]]] = []
        for loc, text, roots in texts:
            try:
                references += [(loc, r, roots) for r in parse_template(text).references]
            except ExpressionError as exc:
                problem(loc, f"template does not parse: {exc}")
        if route.when is not None:
            try:
                found = parse_expression(route.when).references
                references += [((*at, "when"), r, SCOPE_ROOTS) for r in found]
            except ExpressionError as exc:
                problem((*at, "when"), f"condition does not parse: {exc}")
        for loc, reference, roots in references:
            root = split_reference(reference)[0]
            if root not in roots:
                known = ", ".join(sorted(roots))
                problem(loc, f"{reference} refers to {root!r}; known: {known}")
        if route.workflow is not None and workflows is not None:
            params = workflows.get(route.workflow)
            if params is None:
                problem((*at, "workflow"), f"unknown workflow {route.workflow!r}")
            else:
                unknown = sorted(set(route.with_) - params)
                if unknown:
                    problem(
                        (*at, "with"),
                        f"workflow {route.workflow} has no parameter {', '.join(unknown)}",
                    )
    return problems


_KIND = DefinitionKind("trigger", "triggers")


def _read_trigger(path: Path, workflows: WorkflowParameters | None) -> Loaded[Trigger]:
    definition, document = load_definition(
        path, TriggerDefinition, _KIND, lambda found, doc: _check(found, doc, workflows)
    )
    signals = tuple(_compile(signal) for signal in definition.signals)
    trigger = Trigger(definition, str(path), signals)
    return Loaded(trigger, document, trigger.id)


def load_trigger(path: Path, workflows: WorkflowParameters | None) -> Trigger:
    """Load and check one trigger file; ``SourceError`` lists every problem."""
    return _read_trigger(path, workflows).value


class TriggerSet:
    """Every trigger of a folder, highest priority first."""

    def __init__(self, triggers: list[Trigger]) -> None:
        self.triggers = sorted(triggers, key=lambda t: (-t.definition.priority, t.id))

    def __iter__(self) -> Iterator[Trigger]:
        return iter(self.triggers)

    def ids(self) -> list[str]:
        return [trigger.id for trigger in self.triggers]


def load_triggers(folder: Path, workflows: WorkflowParameters | None = None) -> TriggerSet:
    """Every ``*.yaml`` of ``folder`` (none when it does not exist); ``workflows`` (id to
    parameter names) checks the workflows that routes start."""
    return TriggerSet(load_definitions(folder, lambda path: _read_trigger(path, workflows), _KIND))

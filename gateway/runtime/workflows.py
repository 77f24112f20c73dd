"""Workflow definitions: ``automations/workflows/*.yaml``, checked on load.

A workflow names its parameters and its steps.  A step either calls a registered action
with parameters templated from the workflow's parameters and earlier steps' outputs, or
schedules another workflow for later (a time-boxed grant schedules its revocation).  A
step may have a ``when`` condition.  Templates and conditions use the safe expression
language (``docs/expressions.md``).  Loading checks everything a run would trip on: unknown
actions and parameters, templates that do not parse, references to parameters that do not
exist or to steps that have not run yet, schedules of workflows the folder does not have;
each problem names the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
from gateway.runtime.actions import ActionRegistry
from gateway.runtime.errors import UnknownWorkflowError
from gateway.runtime.parameters import ParameterSet, ParameterSpec
from gateway.yaml_source import YamlDocument, definition_digest

__all__ = ["Schedule", "StepDefinition", "Workflow", "WorkflowCatalog", "WorkflowDefinition"]

_ID = r"^[a-z][a-z0-9_-]{0,63}$"
# Roots a template may refer to: the workflow's parameters, earlier steps, the execution.
_ROOTS = frozenset({"params", "steps", "execution"})


class Schedule(BaseModel):
    """Start ``workflow`` (as the gateway's service account) after a delay."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workflow: str = Field(pattern=_ID)
    after_hours: str | int
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    # It ends what this execution did (a time-boxed grant): when due, it is skipped while
    # another live execution of the same workflow on the same target still covers it.
    expiry: bool = False


class StepDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=_ID)
    description: str = ""
    action: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    when: str | None = None
    schedule: Schedule | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> StepDefinition:
        if (self.action is None) == (self.schedule is None):
            raise ValueError("a step has either an action or a schedule")
        if self.schedule is not None and self.with_:
            raise ValueError("a schedule step takes its parameters under schedule.with")
        return self


class WorkflowDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    version: int = Field(default=1, ge=1)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    target: str | None = None  # what it acts on; two executions never act on one at once
    # bound to a change request: the change number given at start is checked before
    # each privileged step (docs/runtime.md)
    change_request: Literal["required", "optional"] | None = None
    offline: bool = False  # may run on a field kit (docs/offline.md)
    steps: list[StepDefinition] = Field(min_length=1, max_length=100)


@dataclass(frozen=True)
class Workflow:
    """A checked definition, where it came from, and the digest of its exact content."""

    definition: WorkflowDefinition
    source: str
    digest: str

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def parameter_set(self) -> ParameterSet:
        return ParameterSet(f"workflow {self.id}", self.definition.parameters)

    def snapshot(self) -> str:
        """The definition as JSON, kept with each execution so a resumed execution runs
        exactly what it started with, whatever the file says by then."""
        return self.definition.model_dump_json(by_alias=True)

    @classmethod
    def from_snapshot(cls, text: str, source: str, digest: str) -> Workflow:
        return cls(WorkflowDefinition.model_validate_json(text), source, digest)


def _templates(value: Any, loc: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """Every string inside ``value``, with where it is."""
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, Mapping):
        return [t for key, item in value.items() for t in _templates(item, (*loc, str(key)))]
    if isinstance(value, list):
        return [t for i, item in enumerate(value) for t in _templates(item, (*loc, str(i)))]
    return []


def _reference_problem(reference: str, params: Mapping[str, object], done: list[str]) -> str | None:
    parts = [str(part) for part in split_reference(reference)]
    if parts[0] not in _ROOTS:
        return f"{reference}: templates may use params, steps and execution only"
    if parts[0] == "params" and (len(parts) < 2 or parts[1] not in params):
        return f"{reference}: the workflow has no such parameter"
    if parts[0] == "steps" and (len(parts) < 2 or parts[1] not in done):
        return f"{reference}: no earlier step has that id"
    return None


def _check_workflow(
    definition: WorkflowDefinition, document: YamlDocument, actions: ActionRegistry
) -> list[SourceProblem]:
    problems: list[SourceProblem] = []
    path = str(document.path)

    def problem(loc: tuple[str, ...], message: str) -> None:
        problems.append(SourceProblem(path, document.line_of(loc), message))

    for name, spec in definition.parameters.items():
        if spec.secret:
            problem(
                ("parameters", name, "secret"),
                f"parameter {name}: workflows take no secret parameters; "
                "an action that needs a secret makes or fetches it itself",
            )
    for index, step in enumerate(definition.steps):
        if any(earlier.id == step.id for earlier in definition.steps[:index]):
            problem(("steps", str(index), "id"), f"step id {step.id!r} is used twice")
    if definition.target is not None:
        try:
            for reference in sorted(parse_template(definition.target).references):
                why = _reference_problem(reference, definition.parameters, [])
                if why is not None or not reference.startswith("params"):
                    problem(("target",), f"target: {why or reference + ': use params only'}")
        except ExpressionError as exc:
            problem(("target",), f"target does not parse: {exc}")
    done: list[str] = []
    for index, step in enumerate(definition.steps):
        at = ("steps", str(index))
        texts: list[tuple[tuple[str, ...], str]] = []
        if step.action is not None:
            action = actions.get(step.action)
            if action is None:
                problem((*at, "action"), f"unknown action {step.action!r}")
            else:
                for name in step.with_:
                    if name not in action.parameters:
                        known = ", ".join(sorted(action.parameters)) or "none"
                        problem(
                            (*at, "with", name),
                            f"action {action.name} has no parameter {name!r} (known: {known})",
                        )
                missing = [
                    name
                    for name, spec in action.parameters.items()
                    if spec.is_required and name not in step.with_
                ]
                if missing:
                    problem((*at, "with"), f"action {action.name} needs {', '.join(missing)}")
            texts = _templates(step.with_, (*at, "with"))
        else:
            schedule = step.schedule
            if schedule is None:  # pragma: no cover - the model guarantees one kind
                raise RuntimeError("a step without action or schedule")
            texts = _templates(schedule.with_, (*at, "schedule", "with"))
            texts += _templates(schedule.after_hours, (*at, "schedule", "after_hours"))
        references: set[str] = set()
        for loc, text in texts:
            try:
                references |= parse_template(text).references
            except ExpressionError as exc:
                problem(loc, f"template does not parse: {exc}")
        if step.when is not None:
            try:
                references |= parse_expression(step.when).references
            except ExpressionError as exc:
                problem((*at, "when"), f"condition does not parse: {exc}")
        for reference in sorted(references):
            why = _reference_problem(reference, definition.parameters, done)
            if why is not None:
                problem(at, f"step {step.id}: {why}")
        done.append(step.id)
    return problems


_KIND = DefinitionKind("workflow", "workflows")


def _read_workflow(path: Path, actions: ActionRegistry) -> Loaded[Workflow]:
    definition, document = load_definition(
        path, WorkflowDefinition, _KIND, lambda found, doc: _check_workflow(found, doc, actions)
    )
    workflow = Workflow(definition, str(path), definition_digest(definition))
    return Loaded(workflow, document, workflow.id)


def load_workflow(path: Path, actions: ActionRegistry) -> Workflow:
    """Load and check one workflow file; ``SourceError`` lists every problem."""
    return _read_workflow(path, actions).value


def _unknown_schedules(loaded: Sequence[Loaded[Workflow]]) -> list[SourceProblem]:
    """Schedule steps naming a workflow the folder does not have."""
    known = {item.value.id for item in loaded}
    problems = []
    for item in loaded:
        for index, step in enumerate(item.value.definition.steps):
            if step.schedule is not None and step.schedule.workflow not in known:
                line = item.document.line_of(("steps", str(index), "schedule", "workflow"))
                problems.append(
                    SourceProblem(
                        item.source,
                        line,
                        f"step {step.id} schedules workflow {step.schedule.workflow!r}, "
                        "which does not exist",
                    )
                )
    return problems


class WorkflowCatalog:
    """Every workflow in a folder, by id; loading fails on the first invalid file set."""

    def __init__(self, workflows: Mapping[str, Workflow]) -> None:
        self._workflows = dict(workflows)

    @classmethod
    def load(cls, folder: Path, actions: ActionRegistry) -> WorkflowCatalog:
        """Every ``*.yaml`` of ``folder`` (none when it does not exist); ``SourceError``
        with every problem of every file, ids used twice and schedules of unknown ids."""
        workflows = load_definitions(
            folder, lambda path: _read_workflow(path, actions), _KIND, _unknown_schedules
        )
        return cls({workflow.id: workflow for workflow in workflows})

    def get(self, workflow_id: str) -> Workflow:
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            raise UnknownWorkflowError(workflow_id, self.ids())
        return workflow

    def ids(self) -> list[str]:
        return sorted(self._workflows)

    def __iter__(self) -> Iterator[Workflow]:
        return iter(self._workflows.values())

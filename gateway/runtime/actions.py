"""Registered actions: what a workflow step may call, and what each declares about itself.

An action is a Python callable with metadata the executor relies on:

- ``permission``: the policy action the decision point is asked before it runs; an action
  with a permission is privileged and never runs without an allow whose obligations are
  met.  ``resource`` and ``context`` say what the decision is about, from the parameters.
- ``idempotent``: running it twice leaves the system as running it once did, so after a
  crash in the middle it is simply run again; otherwise it is compensated.
- ``timeout_seconds`` and ``max_attempts`` (for a target system that is down).
- ``compensation``: the action that undoes it, and how its parameters follow from this
  action's parameters and output, for rolling back a workflow that failed later on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from gateway.runtime.parameters import ParameterSet, ParameterSpec, Values

__all__ = ["ActionCall", "ActionOutput", "ActionRegistry", "ActionSpec"]


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One call of an action: checked parameters, secrets apart, and where it comes from."""

    execution_id: str
    step_id: str
    actor: str
    parameters: Values
    secrets: Mapping[str, SecretStr] = field(default_factory=dict)
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class ActionOutput:
    """What an action returns: ``values`` are kept and visible to later steps; ``secrets``
    (a temporary password) are sealed for the actor to read once, never stored in clear,
    never audited."""

    values: Values = field(default_factory=dict)
    secrets: Mapping[str, SecretStr] = field(default_factory=dict)
    changed: bool = True
    detail: str = ""


ActionFunction = Callable[[ActionCall], ActionOutput]
ResourceOf = Callable[[Values], str]
ContextOf = Callable[[Values], dict[str, Any]]
UndoOf = Callable[[Values, Values], Values]


def _no_context(_: Values) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    description: str
    run: ActionFunction
    parameters: Mapping[str, ParameterSpec] = field(default_factory=dict)
    permission: str | None = None
    resource: ResourceOf | None = None
    context: ContextOf = _no_context
    target: ResourceOf | None = None  # what two executions must not act on at once
    idempotent: bool = False
    timeout_seconds: float = 30.0
    max_attempts: int | None = None  # None: the runtime's configured default
    compensation: str | None = None
    undo: UndoOf | None = None  # parameters of the compensation from (parameters, output)
    system: str = "gateway"  # the outside system it talks to, for status messages

    def __post_init__(self) -> None:
        if (self.permission is None) != (self.resource is None):
            raise RuntimeError(f"action {self.name}: permission and resource go together")
        if (self.compensation is None) != (self.undo is None):
            raise RuntimeError(f"action {self.name}: compensation and undo go together")

    @property
    def privileged(self) -> bool:
        return self.permission is not None

    @property
    def parameter_set(self) -> ParameterSet:
        return ParameterSet(f"action {self.name}", self.parameters)


class ActionRegistry:
    """The actions workflows may name; each name once."""

    def __init__(self, actions: Iterable[ActionSpec] = ()) -> None:
        self._actions: dict[str, ActionSpec] = {}
        for action in actions:
            self.register(action)

    def register(self, action: ActionSpec) -> None:
        if action.name in self._actions:
            raise RuntimeError(f"action {action.name} is registered twice")
        self._actions[action.name] = action

    def get(self, name: str) -> ActionSpec | None:
        return self._actions.get(name)

    def names(self) -> list[str]:
        return sorted(self._actions)

    def check_compensations(self) -> None:
        """Every compensation names a registered action (a bug otherwise)."""
        for action in self._actions.values():
            if action.compensation is not None and action.compensation not in self._actions:
                raise RuntimeError(
                    f"action {action.name}: compensation {action.compensation} is not registered"
                )

"""The tree format: ``automations/troubleshooting/*.yaml``, as pydantic models.

A tree has inputs (facts a ticket may already hold), a start node and nodes by id.  Each
node has a ``type``:

* ``question`` asks the technician; the typed answer is stored as a fact and branched on;
* ``diagnostic`` runs an automated check (ping, DNS, TCP port, HTTP, monitoring, asset);
* ``decision`` branches on conditions over the facts collected so far;
* ``action`` starts a workflow through the guarded runtime and branches on its outcome;
* ``outcome`` ends the session: ``resolved``, or ``escalate`` with a summary.

The graph checks (references, reachability, loops, facts) live in ``validation``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CHECK_PARAMETERS",
    "ActionNode",
    "AnswerType",
    "Branch",
    "CheckKind",
    "DecisionNode",
    "DiagnosticNode",
    "InputSpec",
    "Node",
    "OutcomeNode",
    "QuestionNode",
    "TreeDefinition",
]

ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
FACT_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
AnswerType = Literal["boolean", "choice", "integer", "number", "text"]
CheckKind = Literal["ping", "dns", "tcp", "http", "monitoring", "asset"]
Scalar = bool | int | float | str

_FROZEN = ConfigDict(frozen=True, extra="forbid")

# Parameters of each check: (required, optional).
CHECK_PARAMETERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "ping": (frozenset({"host"}), frozenset()),
    "dns": (frozenset({"name"}), frozenset()),
    "tcp": (frozenset({"host", "port"}), frozenset()),
    "http": (frozenset({"url"}), frozenset({"expect_status"})),
    "monitoring": (frozenset({"query"}), frozenset()),
    "asset": (frozenset({"key"}), frozenset()),
}


class Branch(BaseModel):
    """Go to ``goto`` when ``when`` holds, or when the answer ``equals`` a value."""

    model_config = _FROZEN

    goto: str = Field(pattern=ID_PATTERN)
    when: str | None = None
    equals: Scalar | None = None
    label: str = ""

    @model_validator(mode="after")
    def _one_test(self) -> Branch:
        if (self.when is None) == (self.equals is None):
            raise ValueError("a branch has either when or equals")
        return self


class _Node(BaseModel):
    model_config = _FROZEN

    title: str = ""
    max_visits: int | None = Field(default=None, ge=1, le=20)
    exhausted: str | None = Field(default=None, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _guard(self) -> _Node:
        if (self.max_visits is None) != (self.exhausted is None):
            raise ValueError("max_visits and exhausted go together")
        return self


class _Branching(_Node):
    branches: list[Branch] = Field(default_factory=list, max_length=50)
    default: str | None = Field(default=None, pattern=ID_PATTERN)
    order: Literal["as_written", "success_rate"] = "as_written"


class InputSpec(BaseModel):
    """A fact a ticket may supply when the session starts."""

    model_config = _FROZEN

    type: AnswerType = "text"
    choices: list[Scalar] = Field(default_factory=list)
    description: str = ""


class QuestionNode(_Branching):
    type: Literal["question"]
    text: str = Field(min_length=1, max_length=500)
    help: str = ""
    answer: AnswerType = "boolean"
    choices: list[Scalar] = Field(default_factory=list, max_length=50)
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = Field(default=500, ge=1, le=10_000)
    fact: str = Field(pattern=FACT_PATTERN)
    examples: list[Scalar] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _choices(self) -> QuestionNode:
        if (self.answer == "choice") != bool(self.choices):
            raise ValueError("choices go with answer: choice, and it needs them")
        if len(set(map(str, self.choices))) != len(self.choices):
            raise ValueError("choices must not repeat")
        return self


class DiagnosticNode(_Branching):
    type: Literal["diagnostic"]
    check: CheckKind
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    timeout_seconds: float | None = Field(default=None, gt=0, le=120)
    fact: str = Field(pattern=FACT_PATTERN)
    provides: dict[str, str] = Field(default_factory=dict)
    fallback: str = Field(pattern=ID_PATTERN)
    offline: str | None = Field(default=None, pattern=ID_PATTERN)
    examples: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class DecisionNode(_Branching):
    type: Literal["decision"]


class ActionNode(_Node):
    type: Literal["action"]
    workflow: str = Field(pattern=ID_PATTERN)
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    fact: str = Field(pattern=FACT_PATTERN)
    succeeded: str = Field(pattern=ID_PATTERN)
    failed: str = Field(pattern=ID_PATTERN)


class OutcomeNode(_Node):
    type: Literal["outcome"]
    result: Literal["resolved", "escalate"]
    summary: str = Field(min_length=1, max_length=2000)
    escalate_to: str | None = None


Node = Annotated[
    QuestionNode | DiagnosticNode | DecisionNode | ActionNode | OutcomeNode,
    Field(discriminator="type"),
]


class TreeDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    version: int = Field(default=1, ge=1)
    start: str = Field(pattern=ID_PATTERN)
    offline: bool = False  # may run on a field kit (docs/offline.md)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    nodes: dict[str, Node] = Field(min_length=1, max_length=100_000)

"""Every root-to-outcome path of a tree, each with a scenario that takes it.

The enumerator walks the tree the way the engine does (``navigation``), trying every
answer a question can have (``true``/``false``, each choice, or the question's examples
and the values its branches test), every result a diagnostic can have (the check's
sample results and the node's examples, then an error and an unavailable system), both
outcomes of an action, and, at nodes ordered by success rate, every matching branch.  A
question whose fact is already known is skipped, as in a session, and loop guards send
the walk on after ``max_visits``.  Paths are told apart by the nodes and edges they take;
the first scenario found for a path is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from gateway.troubleshooting.diagnostics import DiagnosticResult
from gateway.troubleshooting.errors import TroubleshootingError
from gateway.troubleshooting.model import (
    ActionNode,
    DecisionNode,
    DiagnosticNode,
    OutcomeNode,
    QuestionNode,
)
from gateway.troubleshooting.navigation import (
    Move,
    action_move,
    decision_candidates,
    decision_move,
    diagnostic_move,
    question_move,
)
from gateway.troubleshooting.tree import Tree

__all__ = ["SAMPLE_RESULTS", "ScenarioInput", "TreePath", "enumerate_paths"]

# What each check reports when it works and when it does not.
SAMPLE_RESULTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "ping": ({"latency_ms": 12.0}, {"latency_ms": None}),
    "dns": ({"addresses": ["192.0.2.10"]}, {"addresses": []}),
    "tcp": ({"latency_ms": 8.0}, {"latency_ms": None}),
    "http": ({"status_code": 200, "redirect": None}, {"status_code": 503, "redirect": None}),
    "monitoring": ({"value": "up"}, {"value": "down"}),
    "asset": ({"found": True, "asset": {"managed": True}}, {"found": False, "asset": {}}),
}


@dataclass(frozen=True, slots=True)
class ScenarioInput:
    """One thing the scenario supplies: an ``answer``, a ``check`` result (status and
    data), an ``action`` outcome (succeeded or failed), or a ``prefer``red branch."""

    node: str
    kind: str
    value: Any

    def as_json(self) -> dict[str, Any]:
        return {"node": self.node, "kind": self.kind, "value": self.value}


@dataclass(frozen=True, slots=True)
class TreePath:
    nodes: tuple[str, ...]  # every node passed, the outcome last
    edges: tuple[str, ...]  # how each node was left (one fewer than nodes)
    result: str  # resolved or escalate
    inputs: tuple[ScenarioInput, ...]

    @property
    def outcome(self) -> str:
        return self.nodes[-1]

    @property
    def taken(self) -> tuple[tuple[str, str], ...]:
        """The (node, edge) pairs of the path."""
        return tuple(zip(self.nodes, self.edges, strict=False))

    @property
    def name(self) -> str:
        """A readable id, unique within a tree: the nodes, with every edge but a node's
        first branch named (``ping-gateway [offline] > check-dns``)."""
        marked = [node if edge == "branch 0" else f"{node} [{edge}]" for node, edge in self.taken]
        return " > ".join([*marked, self.outcome])

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "result": self.result,
            "nodes": list(self.nodes),
            "edges": list(self.edges),
            "inputs": [item.as_json() for item in self.inputs],
        }


@dataclass(frozen=True, slots=True)
class _State:
    node: str
    facts: dict[str, Any]
    nodes: tuple[str, ...]
    edges: tuple[str, ...]
    inputs: tuple[ScenarioInput, ...]

    def after(self, move: Move, *added: ScenarioInput) -> _State:
        return _State(move.goto, move.facts, (*self.nodes, self.node),
                      (*self.edges, move.edge), (*self.inputs, *added))  # fmt: skip


def _answers(node: QuestionNode) -> list[Any]:
    if node.answer == "boolean":
        return [True, False]
    if node.answer == "choice":
        return list(node.choices)
    values: list[Any] = [*node.examples, *(b.equals for b in node.branches if b.equals is not None)]
    if not values:
        values = [{"integer": 0, "number": 0.0}.get(node.answer, "")]
    return list(dict.fromkeys(values))


def _results(node: DiagnosticNode) -> list[DiagnosticResult]:
    good, bad = SAMPLE_RESULTS[node.check]
    found = [DiagnosticResult("ok", "sample", good), DiagnosticResult("failed", "sample", bad)]
    for example in node.examples:
        data = {k: v for k, v in example.items() if k not in ("ok", "status", "detail")}
        found.append(DiagnosticResult("ok" if example.get("ok") else "failed", "example", data))
    found.append(DiagnosticResult("error", "sample error"))
    found.append(DiagnosticResult("unavailable", "sample outage"))
    return found


def _alternatives(
    node_id: str,
    node: QuestionNode | DiagnosticNode | DecisionNode,
    move: Move,
    result: Any,
) -> list[tuple[Move, list[ScenarioInput]]]:
    """The move taken, or every matching branch where the node orders by success rate."""
    if node.order != "success_rate" or not move.edge.startswith("branch"):
        return [(move, [])]
    scope: dict[str, Any] = {"facts": dict(move.facts)}
    if not isinstance(node, DecisionNode):
        scope["result"] = result
    candidates = decision_candidates(node_id, node, scope)
    if len(candidates) == 1:
        return [(move, [])]
    return [
        (Move(goto, edge, move.facts), [ScenarioInput(node_id, "prefer", goto)])
        for goto, edge in candidates
    ]


def _next(tree: Tree, state: _State) -> list[_State]:
    node_id = state.node
    node = tree.node(node_id)
    if node.exhausted is not None and state.nodes.count(node_id) >= (node.max_visits or 0):
        return [state.after(Move(node.exhausted, "exhausted", state.facts))]
    found: list[_State] = []
    if isinstance(node, QuestionNode):
        known = node.fact in state.facts and node_id not in state.nodes
        values = [state.facts[node.fact]] if known else _answers(node)
        for value in values:
            move = question_move(node_id, node, state.facts, value, None)
            given = [] if known else [ScenarioInput(node_id, "answer", value)]
            for alternative, preferred in _alternatives(node_id, node, move, value):
                found.append(state.after(alternative, *given, *preferred))
    elif isinstance(node, DiagnosticNode):
        for result in _results(node):
            move = diagnostic_move(node_id, node, state.facts, result, None)
            checked = ScenarioInput(node_id, "check", {"status": result.status,
                                                     "data": dict(result.data)})  # fmt: skip
            for alternative, preferred in _alternatives(node_id, node, move, result.as_fact()):
                found.append(state.after(alternative, checked, *preferred))
    elif isinstance(node, DecisionNode):
        move = decision_move(node_id, node, state.facts, None)
        for alternative, preferred in _alternatives(node_id, node, move, None):
            found.append(state.after(alternative, *preferred))
    else:  # an action: outcomes end the walk before it gets here
        action = cast(ActionNode, node)
        for outcome in ("succeeded", "failed"):
            move = action_move(action, state.facts, {"state": outcome, "execution": None})
            found.append(state.after(move, ScenarioInput(node_id, "action", outcome)))
    return found


def enumerate_paths(tree: Tree, *, limit: int = 10_000) -> list[TreePath]:
    """Every distinct sequence of nodes from the start to an outcome, with a scenario
    that takes it, plus the variants needed so that every edge some scenario can take is
    taken by one (a fallback that leads where the branch does).  ``TroubleshootingError``
    when there are more than ``limit`` (or the walk explodes)."""
    variants: list[TreePath] = []
    seen: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    todo = [_State(tree.definition.start, {}, (), (), ())]
    budget = limit * 100
    while todo:
        budget -= 1
        if budget < 0:
            raise TroubleshootingError(f"tree {tree.id}: too many scenarios to enumerate")
        state = todo.pop()
        node = tree.node(state.node)
        if isinstance(node, OutcomeNode):
            nodes = (*state.nodes, state.node)
            if (nodes, state.edges) not in seen:
                seen.add((nodes, state.edges))
                variants.append(TreePath(nodes, state.edges, node.result, state.inputs))
            continue
        todo.extend(reversed(_next(tree, state)))
    chosen: list[TreePath] = []
    by_nodes: set[tuple[str, ...]] = set()
    covered: set[tuple[str, str]] = set()
    for path in variants:
        if path.nodes not in by_nodes:
            by_nodes.add(path.nodes)
            chosen.append(path)
            covered.update(path.taken)
    for path in variants:
        if not set(path.taken) <= covered:
            chosen.append(path)
            covered.update(path.taken)
    if len(chosen) > limit:
        raise TroubleshootingError(f"tree {tree.id} has more than {limit} paths")
    return chosen

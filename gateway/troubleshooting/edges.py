"""The ways out of a tree's nodes, read by the tree, its validation and its paths."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.troubleshooting.model import ActionNode, DiagnosticNode, Node, OutcomeNode

__all__ = ["Edge", "edges_of"]


@dataclass(frozen=True, slots=True)
class Edge:
    """One way out of a node: ``kind`` is branch, default, fallback, offline, exhausted,
    succeeded or failed; ``loc`` is where the target is written in the file."""

    source: str
    target: str
    kind: str
    loc: tuple[str, ...]
    index: int = -1  # the branch's position, for kind "branch"


def edges_of(node_id: str, node: Node) -> list[Edge]:
    """Every edge leaving ``node``, in the order the engine considers them."""
    at = ("nodes", node_id)
    found: list[Edge] = []
    if node.exhausted is not None:
        found.append(Edge(node_id, node.exhausted, "exhausted", (*at, "exhausted")))
    if isinstance(node, OutcomeNode):
        return found
    if isinstance(node, ActionNode):
        found.append(Edge(node_id, node.succeeded, "succeeded", (*at, "succeeded")))
        found.append(Edge(node_id, node.failed, "failed", (*at, "failed")))
        return found
    for index, branch in enumerate(node.branches):
        found.append(Edge(node_id, branch.goto, "branch", (*at, "branches", str(index)), index))
    if node.default is not None:
        found.append(Edge(node_id, node.default, "default", (*at, "default")))
    if isinstance(node, DiagnosticNode):
        found.append(Edge(node_id, node.fallback, "fallback", (*at, "fallback")))
        if node.offline is not None:
            found.append(Edge(node_id, node.offline, "offline", (*at, "offline")))
    return found

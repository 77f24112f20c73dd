"""The graph checks of a tree, each problem located by file and line.

After the models accept a file, ``check_tree`` looks for what a session would trip on:
references to nodes that do not exist, nodes no path reaches, loops without a guard
(``max_visits``), nodes from which no outcome can be reached, questions whose answers have
no branch, conditions and templates that do not parse or read names they may not, and
facts read where no path to that node is sure to have set them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from gateway.errors import SourceProblem
from gateway.expressions import ExpressionError, parse_expression, parse_template
from gateway.troubleshooting.edges import Edge, edges_of
from gateway.troubleshooting.model import (
    CHECK_PARAMETERS,
    FACT_PATTERN,
    ActionNode,
    DecisionNode,
    DiagnosticNode,
    Node,
    OutcomeNode,
    QuestionNode,
    TreeDefinition,
)
from gateway.yaml_source import YamlDocument

__all__ = ["answer_fits", "check_tree", "produced_by"]

Loc = tuple[str, ...]


def answer_fits(kind: str, choices: list[Any], value: object) -> bool:
    """Whether ``value`` is a possible answer of this type."""
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "choice":
        return any(type(value) is type(choice) and value == choice for choice in choices)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def produced_by(node: Node, edge: Edge) -> frozenset[str]:
    """The facts known after leaving ``node`` along ``edge``."""
    if edge.kind == "exhausted" or isinstance(node, DecisionNode | OutcomeNode):
        return frozenset()
    if isinstance(node, DiagnosticNode) and edge.kind in ("branch", "default"):
        return frozenset({node.fact, *node.provides})
    return frozenset({node.fact})


def _strings(value: Any, loc: Loc) -> list[tuple[Loc, str]]:
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, Mapping):
        return [s for key, item in value.items() for s in _strings(item, (*loc, str(key)))]
    if isinstance(value, list):
        return [s for i, item in enumerate(value) for s in _strings(item, (*loc, str(i)))]
    return []


class _Checker:
    def __init__(
        self, tree: TreeDefinition, document: YamlDocument, workflows: Collection[str] | None
    ) -> None:
        self.tree = tree
        self.document = document
        self.workflows = workflows
        self.problems: list[SourceProblem] = []
        self.edges = {node_id: edges_of(node_id, node) for node_id, node in tree.nodes.items()}
        self.set_anywhere = {fact for node in tree.nodes.values() for fact in _sets(node)}

    def problem(self, loc: Iterable[str], message: str) -> None:
        line = self.document.line_of(tuple(loc))
        self.problems.append(SourceProblem(str(self.document.path), line, message))

    def run(self) -> list[SourceProblem]:
        tree = self.tree
        for name, spec in tree.inputs.items():
            if not _is_fact_name(name):
                self.problem(("inputs", name), f"input {name!r} is not a valid fact name")
            if (spec.type == "choice") != bool(spec.choices):
                self.problem(("inputs", name), f"input {name}: choices go with type choice")
        if tree.start not in tree.nodes:
            self.problem(("start",), f"start node {tree.start!r} does not exist")
            return self.problems
        dangling = False
        for edges in self.edges.values():
            for edge in edges:
                if edge.target not in tree.nodes:
                    dangling = True
                    self.problem(
                        edge.loc, f"node {edge.source}: {edge.kind} goes to unknown node "
                        f"{edge.target!r}",
                    )  # fmt: skip
        for node_id, node in tree.nodes.items():
            self.check_node(node_id, node)
        if dangling:
            return self.problems
        reachable = self.reachable()
        for node_id in tree.nodes:
            if node_id not in reachable:
                self.problem(("nodes", node_id), f"node {node_id} cannot be reached from the start")
        self.check_loops()
        self.check_outcomes(reachable)
        self.check_facts()
        return self.problems

    # -- per node --------------------------------------------------------------------

    def check_node(self, node_id: str, node: Node) -> None:
        at: Loc = ("nodes", node_id)
        if isinstance(node, QuestionNode):
            self.check_question(node_id, node)
            spec = self.tree.inputs.get(node.fact)
            if spec is not None and spec.type != node.answer:
                self.problem(
                    (*at, "fact"),
                    f"node {node_id}: fact {node.fact} is an input of type {spec.type}, "
                    f"the question answers {node.answer}",
                )
        elif isinstance(node, DiagnosticNode | DecisionNode):
            for index, branch in enumerate(node.branches):
                if branch.equals is not None:
                    self.problem(
                        (*at, "branches", str(index)),
                        f"node {node_id}: equals is for question branches; use when",
                    )
            if node.default is None:
                self.problem(at, f"node {node_id}: a {node.type} node needs a default branch")
        if isinstance(node, DiagnosticNode):
            required, optional = CHECK_PARAMETERS[node.check]
            for name in sorted(set(node.with_) - required - optional):
                self.problem((*at, "with", name), f"node {node_id}: {node.check} has no "
                             f"parameter {name!r}")  # fmt: skip
            missing = sorted(required - set(node.with_))
            if missing:
                self.problem((*at, "with"), f"node {node_id}: {node.check} needs "
                             f"{', '.join(missing)}")  # fmt: skip
            for fact in node.provides:
                if not _is_fact_name(fact):
                    self.problem((*at, "provides", fact), f"{fact!r} is not a valid fact name")
        workflows = self.workflows
        if (
            isinstance(node, ActionNode)
            and workflows is not None
            and (node.workflow not in workflows)
        ):
            known = ", ".join(sorted(workflows)) or "none"
            self.problem(
                (*at, "workflow"),
                f"node {node_id}: unknown workflow {node.workflow!r} (known: {known})",
            )

    def check_question(self, node_id: str, node: QuestionNode) -> None:
        at: Loc = ("nodes", node_id)
        covered: list[object] = []
        for index, branch in enumerate(node.branches):
            if branch.equals is None:
                continue
            if not answer_fits(node.answer, node.choices, branch.equals):
                self.problem(
                    (*at, "branches", str(index), "equals"),
                    f"node {node_id}: {branch.equals!r} is not a possible {node.answer} answer",
                )
            covered.append(branch.equals)
        for index, example in enumerate(node.examples):
            if not answer_fits(node.answer, node.choices, example):
                self.problem(
                    (*at, "examples", str(index)),
                    f"node {node_id}: example {example!r} is not a possible {node.answer} answer",
                )
        if node.default is not None:
            return
        missing: list[object]
        if node.answer == "boolean":
            missing = [v for v in (True, False) if not _covers(covered, v)]
        elif node.answer == "choice":
            missing = [v for v in node.choices if not _covers(covered, v)]
        else:
            self.problem(at, f"node {node_id}: a {node.answer} question needs a default branch")
            return
        if missing:
            listed = ", ".join(repr(v) for v in missing)
            self.problem(at, f"node {node_id}: answers {listed} have no branch and no default")

    # -- the graph -------------------------------------------------------------------

    def reachable(self) -> set[str]:
        seen = {self.tree.start}
        todo = [self.tree.start]
        while todo:
            for edge in self.edges[todo.pop()]:
                if edge.target not in seen:
                    seen.add(edge.target)
                    todo.append(edge.target)
        return seen

    def check_loops(self) -> None:
        guarded = {n for n, node in self.tree.nodes.items() if node.max_visits is not None}
        graph = {
            n: [e.target for e in edges if e.target not in guarded]
            for n, edges in self.edges.items()
            if n not in guarded
        }
        for component in _cycles(graph):
            shown = " -> ".join([*component[:5], component[0]])
            self.problem(
                ("nodes", component[0]),
                f"loop without a guard: {shown}; give one of its nodes max_visits and exhausted",
            )

    def check_outcomes(self, reachable: set[str]) -> None:
        incoming: dict[str, list[str]] = {n: [] for n in self.tree.nodes}
        for source, edges in self.edges.items():
            for edge in edges:
                incoming[edge.target].append(source)
        ends = [n for n, node in self.tree.nodes.items() if isinstance(node, OutcomeNode)]
        good = set(ends)
        while ends:
            for source in incoming[ends.pop()]:
                if source not in good:
                    good.add(source)
                    ends.append(source)
        for node_id in self.tree.nodes:
            if node_id in reachable and node_id not in good:
                self.problem(("nodes", node_id), f"node {node_id}: no branch from here ever "
                             "reaches an outcome")  # fmt: skip

    def check_facts(self) -> None:
        known = known_facts(self.tree, self.edges)
        for node_id, node in self.tree.nodes.items():
            before = known.get(node_id)
            if before is None:
                continue  # unreachable, reported already
            for loc, names, result_allowed in _reads(node_id, node, before):
                for reference, known_here in names.items():
                    if reference.startswith(_BAD):
                        self.problem(loc, f"node {node_id}: {reference[len(_BAD) :]}")
                    else:
                        self.check_reference(node_id, loc, reference, known_here, result_allowed)

    def check_reference(
        self, node_id: str, loc: Loc, reference: str, known: Known, result_ok: bool
    ) -> None:
        root, _, rest = reference.partition(".")
        fact = rest.split(".")[0].split("[")[0]
        if root == "result" and result_ok:
            return
        if root != "facts":
            allowed = "facts and result" if result_ok else "facts"
            self.problem(loc, f"node {node_id}: {reference}: only {allowed} may be read here")
        elif not fact:
            self.problem(loc, f"node {node_id}: {reference}: name a fact, facts.NAME")
        elif fact not in self.set_anywhere:
            self.problem(loc, f"node {node_id}: {reference}: no question, diagnostic or "
                         "action sets this fact")  # fmt: skip
        elif fact not in known:
            self.problem(loc, f"node {node_id}: {reference} is used before it can be known "
                         "(some path to here does not set it)")  # fmt: skip


def _covers(covered: list[object], value: object) -> bool:
    return any(type(item) is type(value) and item == value for item in covered)


def _is_fact_name(name: str) -> bool:
    return re.fullmatch(FACT_PATTERN, name) is not None


def _sets(node: Node) -> set[str]:
    if isinstance(node, QuestionNode | ActionNode):
        return {node.fact}
    if isinstance(node, DiagnosticNode):
        return {node.fact, *node.provides}
    return set()


class Known:
    """A set of fact names as a bit mask over one index of names: unions and
    intersections stay cheap on trees with thousands of facts."""

    __slots__ = ("index", "mask")

    def __init__(self, index: dict[str, int], mask: int = 0) -> None:
        self.index = index
        self.mask = mask

    def bits(self, names: Iterable[str]) -> int:
        mask = 0
        for name in names:
            mask |= 1 << self.index.setdefault(name, len(self.index))
        return mask

    def __or__(self, names: Iterable[str]) -> Known:
        return Known(self.index, self.mask | self.bits(names))

    def __contains__(self, name: object) -> bool:
        position = self.index.get(str(name))
        return position is not None and bool(self.mask >> position & 1)


def known_facts(tree: TreeDefinition, edges: Mapping[str, list[Edge]]) -> dict[str, Known]:
    """For each reachable node, the facts every path from the start sets before it."""
    index: dict[str, int] = {}
    empty = Known(index)
    masks: dict[str, int] = {tree.start: 0}
    produced: dict[tuple[str, int], int] = {}
    todo = [tree.start]
    while todo:
        node_id = todo.pop()
        node = tree.nodes[node_id]
        for position, edge in enumerate(edges[node_id]):
            if edge.target == tree.start:
                continue
            made = produced.get((node_id, position))
            if made is None:
                made = produced[(node_id, position)] = empty.bits(produced_by(node, edge))
            out = masks[node_id] | made
            current = masks.get(edge.target)
            merged = out if current is None else current & out
            if merged != current:
                masks[edge.target] = merged
                todo.append(edge.target)
    return {node_id: Known(index, mask) for node_id, mask in masks.items()}


def _reads(node_id: str, node: Node, before: Known) -> list[tuple[Loc, dict[str, Known], bool]]:
    """Every condition or template of the node: where it is, what it reads (with the
    facts known at that point), and whether it may read ``result``."""
    at: Loc = ("nodes", node_id)
    found: list[tuple[Loc, dict[str, Known], bool]] = []
    after = before
    if isinstance(node, QuestionNode | ActionNode | DiagnosticNode):
        after = before | {node.fact}
    templates: list[tuple[Loc, str]] = []
    if isinstance(node, DiagnosticNode | ActionNode):
        templates = _strings(node.with_, (*at, "with"))
    if isinstance(node, OutcomeNode):
        templates = [((*at, "summary"), node.summary)]
    for loc, text in templates:
        found.append((loc, _parsed(text, before, template=True), False))
    if isinstance(node, DiagnosticNode):
        for fact, text in node.provides.items():
            loc = (*at, "provides", fact)
            found.append((loc, _parsed(text, after, template=False), True))
        after = after | set(node.provides)
    if not isinstance(node, ActionNode | OutcomeNode):
        result_ok = not isinstance(node, DecisionNode)
        for index, branch in enumerate(node.branches):
            if branch.when is not None:
                loc = (*at, "branches", str(index), "when")
                found.append((loc, _parsed(branch.when, after, template=False), result_ok))
    return found


_BAD = "\x00bad"


def _parsed(
    text: str,
    known: Known,
    *,
    template: bool,
) -> dict[str, Known]:
    try:
        references = (parse_template(text) if template else parse_expression(text)).references
    except ExpressionError as exc:
        what = "template" if template else "condition"
        return {f"{_BAD}{what} does not parse: {exc}": known}
    return dict.fromkeys(sorted(references), known)


def check_tree(
    tree: TreeDefinition, document: YamlDocument, workflows: Collection[str] | None = None
) -> list[SourceProblem]:
    """Every problem of a tree the models accepted; empty when it is sound."""
    checker = _Checker(tree, document, workflows)
    return checker.run()


def _cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """The strongly connected components that hold a cycle (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                if len(component) > 1 or node in targets:
                    found.append(component[::-1])
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found

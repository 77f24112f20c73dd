"""Where a node leads: the branch a value takes, worked out without side effects.

The engine and the path enumerator share these rules, so the paths ``gateway tree paths``
lists are the paths sessions take.  A branch's ``when`` is evaluated with ``facts`` (every
fact known, the node's own included) and ``result`` (the answer, the check's result, or
the execution's outcome); ``equals`` compares the answer.  The first matching branch in
the order written wins, unless the node asks for ``order: success_rate``: then, of the
branches that match, the one with the best history of resolved sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.expressions import ExpressionError, parse_expression, render_value
from gateway.troubleshooting.diagnostics import DiagnosticResult
from gateway.troubleshooting.errors import AnswerError, TroubleshootingError
from gateway.troubleshooting.model import (
    ActionNode,
    Branch,
    DecisionNode,
    DiagnosticNode,
    QuestionNode,
)
from gateway.troubleshooting.validation import answer_fits

__all__ = [
    "Move",
    "Rates",
    "action_move",
    "decision_candidates",
    "diagnostic_move",
    "parse_answer",
    "pick",
    "question_move",
    "render",
]

# The success rates of a node's branch targets: (node id) -> {target: rate}.
Rates = Callable[[str], Mapping[str, float]]

_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})


@dataclass(frozen=True, slots=True)
class Move:
    """Leave the node along ``edge`` to ``goto`` with these facts."""

    goto: str
    edge: str
    facts: dict[str, Any]


def parse_answer(node: QuestionNode, raw: object) -> Any:
    """The answer as its type: text from a command line is converted, anything else must
    already have the type.  ``AnswerError`` says what was expected."""
    value = raw
    if isinstance(raw, str):
        text = raw.strip()
        if node.answer == "boolean":
            lowered = text.lower()
            value = True if lowered in _TRUE else False if lowered in _FALSE else raw
        elif node.answer in ("integer", "number"):
            try:
                value = int(text) if node.answer == "integer" else float(text)
            except ValueError:
                value = raw
        elif node.answer == "choice":
            value = next((c for c in node.choices if str(c) == text), raw)
        else:
            value = text
    if not answer_fits(node.answer, node.choices, value):
        if node.answer == "choice":
            listed = ", ".join(str(choice) for choice in node.choices)
            raise AnswerError(f"{node.fact}: expected one of {listed}, found {raw!r}")
        raise AnswerError(f"{node.fact}: expected a {node.answer} answer, found {raw!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if node.minimum is not None and value < node.minimum:
            raise AnswerError(f"{node.fact}: must be at least {node.minimum:g}, found {value}")
        if node.maximum is not None and value > node.maximum:
            raise AnswerError(f"{node.fact}: must be at most {node.maximum:g}, found {value}")
    if isinstance(value, str) and len(value) > node.max_length:
        raise AnswerError(f"{node.fact}: at most {node.max_length} characters, found {len(value)}")
    return value


def _matches(node_id: str, branch: Branch, scope: Mapping[str, Any]) -> bool:
    if branch.equals is not None:
        value = scope["result"]
        return type(value) is type(branch.equals) and bool(value == branch.equals)
    text = str(branch.when)
    try:
        return parse_expression(text).evaluate_bool(scope)
    except ExpressionError as exc:
        raise TroubleshootingError(
            f"node {node_id}: condition {text!r} cannot be evaluated: {exc}"
        ) from exc


def decision_candidates(
    node_id: str, node: QuestionNode | DiagnosticNode | DecisionNode, scope: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The (target, edge) pairs that may be taken: every matching branch, or the default.
    Only one unless the node orders by success rate."""
    matching = [
        (branch.goto, f"branch {index}")
        for index, branch in enumerate(node.branches)
        if _matches(node_id, branch, scope)
    ]
    if matching:
        return matching if node.order == "success_rate" else matching[:1]
    if node.default is None:
        raise TroubleshootingError(f"node {node_id}: no branch matches and there is no default")
    return [(node.default, "default")]


def pick(node_id: str, candidates: list[tuple[str, str]], rates: Rates | None) -> tuple[str, str]:
    """The candidate with the best success rate (the first written on a tie)."""
    if len(candidates) == 1 or rates is None:
        return candidates[0]
    known = rates(node_id)
    best = max(range(len(candidates)), key=lambda i: (known.get(candidates[i][0], -1.0), -i))
    return candidates[best]


def question_move(
    node_id: str, node: QuestionNode, facts: Mapping[str, Any], answer: Any, rates: Rates | None
) -> Move:
    known = {**facts, node.fact: answer}
    scope = {"facts": known, "result": answer}
    goto, edge = pick(node_id, decision_candidates(node_id, node, scope), rates)
    return Move(goto, edge, known)


def decision_move(
    node_id: str, node: DecisionNode, facts: Mapping[str, Any], rates: Rates | None
) -> Move:
    scope = {"facts": dict(facts)}
    goto, edge = pick(node_id, decision_candidates(node_id, node, scope), rates)
    return Move(goto, edge, dict(facts))


def diagnostic_move(
    node_id: str,
    node: DiagnosticNode,
    facts: Mapping[str, Any],
    result: DiagnosticResult,
    rates: Rates | None,
) -> Move:
    value = result.as_fact()
    known = {**facts, node.fact: value}
    if result.status == "unavailable" and node.offline is not None:
        return Move(node.offline, "offline", known)
    if not result.completed:
        return Move(node.fallback, "fallback", known)
    scope = {"facts": known, "result": value}
    for fact, text in node.provides.items():
        try:
            known[fact] = parse_expression(text).evaluate(scope)
        except ExpressionError as exc:
            raise TroubleshootingError(
                f"node {node_id}: provides.{fact} cannot be evaluated: {exc}"
            ) from exc
    scope = {"facts": known, "result": value}
    goto, edge = pick(node_id, decision_candidates(node_id, node, scope), rates)
    return Move(goto, edge, known)


def action_move(node: ActionNode, facts: Mapping[str, Any], outcome: dict[str, Any]) -> Move:
    known = {**facts, node.fact: outcome}
    if outcome.get("state") == "succeeded":
        return Move(node.succeeded, "succeeded", known)
    return Move(node.failed, "failed", known)


def render(node_id: str, value: Any, facts: Mapping[str, Any]) -> Any:
    """A node's templates rendered with the facts; ``TroubleshootingError`` if one fails."""
    try:
        return render_value(value, {"facts": dict(facts)})
    except ExpressionError as exc:
        raise TroubleshootingError(f"node {node_id}: template cannot be rendered: {exc}") from exc

"""Answers as people type them, and the branch rules at their edges."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.troubleshooting.diagnostics import DiagnosticResult
from gateway.troubleshooting.errors import AnswerError, TroubleshootingError
from gateway.troubleshooting.model import DecisionNode, DiagnosticNode, QuestionNode
from gateway.troubleshooting.navigation import (
    decision_move,
    diagnostic_move,
    parse_answer,
    pick,
    render,
)


def question(answer: str, **extra: Any) -> QuestionNode:
    return QuestionNode.model_validate(
        {"type": "question", "text": "?", "answer": answer, "fact": "f", "default": "x", **extra}
    )


@pytest.mark.parametrize(
    ("answer", "raw", "value"),
    [
        ("boolean", " Yes ", True),
        ("boolean", "n", False),
        ("boolean", False, False),
        ("integer", "42", 42),
        ("number", "2.5", 2.5),
        ("number", 3, 3),
        ("text", "  printer-3f ", "printer-3f"),
    ],
)
def test_answers_are_converted_to_their_type(answer: str, raw: object, value: object) -> None:
    assert parse_answer(question(answer), raw) == value


@pytest.mark.parametrize(
    ("answer", "raw", "message"),
    [
        ("boolean", "perhaps", "f: expected a boolean answer, found 'perhaps'"),
        ("number", "lots", "f: expected a number answer, found 'lots'"),
        ("integer", True, "f: expected a integer answer, found True"),
        ("text", 5, "f: expected a text answer, found 5"),
    ],
)
def test_answers_of_the_wrong_type_are_refused(answer: str, raw: object, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_answer(question(answer), raw)


def test_a_choice_answer_matches_a_choice_as_written() -> None:
    node = question("choice", choices=[1, 2])
    assert parse_answer(node, "2") == 2
    assert parse_answer(node, 1) == 1


def test_pick_takes_the_best_rate_and_the_first_on_a_tie() -> None:
    candidates = [("a", "branch 0"), ("b", "branch 1")]
    assert pick("n", candidates, lambda node: {"b": 0.9, "a": 0.5}) == ("b", "branch 1")
    assert pick("n", candidates, lambda node: {}) == ("a", "branch 0")
    assert pick("n", candidates, None) == ("a", "branch 0")


def test_a_node_without_a_matching_branch_or_a_default_is_an_error() -> None:
    node = DecisionNode.model_validate(
        {"type": "decision", "branches": [{"when": "false", "goto": "x"}]}
    )
    with pytest.raises(TroubleshootingError, match="node d: no branch matches and there is no"):
        decision_move("d", node, {}, None)


def test_a_provided_fact_that_cannot_be_evaluated_is_an_error() -> None:
    node = DiagnosticNode.model_validate(
        {"type": "diagnostic", "check": "dns", "with": {"name": "x"}, "fact": "d",
         "provides": {"n": "result.nope"}, "fallback": "x", "default": "x"}
    )  # fmt: skip
    with pytest.raises(TroubleshootingError, match=r"node d: provides.n cannot be evaluated"):
        diagnostic_move("d", node, {}, DiagnosticResult("ok", "fine"), None)


def test_a_template_that_cannot_be_rendered_is_an_error() -> None:
    with pytest.raises(TroubleshootingError, match="node o: template cannot be rendered"):
        render("o", "{{ facts.missing }}", {})

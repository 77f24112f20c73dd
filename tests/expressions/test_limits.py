"""Limits: text length, nesting, result sizes, integer range and a shallow stack."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from gateway.expressions import (
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    parse_expression,
)
from tests.expressions import evaluate


def test_an_expression_is_at_most_4096_characters() -> None:
    assert evaluate("1" + " " * 4_095) == 1
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("1" + " " * 4_096)
    assert str(caught.value) == "expression is longer than 4,096 characters at column 4097"


@pytest.mark.parametrize(
    ("opening", "closing", "column"),
    [
        pytest.param("(", ")", 33, id="parentheses"),
        pytest.param("[", "]", 33, id="lists"),
        pytest.param("len(", ")", 132, id="calls"),
        pytest.param("a[", "]", 66, id="subscripts"),
        pytest.param("not ", "", 129, id="not"),
        pytest.param("-", "", 33, id="unary minus"),
    ],
)
def test_nesting_is_at_most_32_levels(opening: str, closing: str, column: int) -> None:
    parse_expression(opening * 32 + "1" + closing * 32)
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(opening * 33 + "1" + closing * 33)
    assert caught.value.problem == "expression is nested more than 32 levels deep"
    assert caught.value.column == column


def test_a_pathological_input_of_full_length_is_refused_without_exhausting_the_stack() -> None:
    for text in ("(" * 4_096, "[" * 4_096, "-" * 4_096, "not " * 1_024):
        with pytest.raises(ExpressionSyntaxError, match="nested more than 32 levels"):
            parse_expression(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("+".join(["1"] * 2_000), id="a long sum"),
        pytest.param(" and ".join(["true"] * 400), id="a long conjunction"),
        pytest.param(" or ".join(["false"] * 400), id="a long disjunction"),
        pytest.param("a" + ".a" * 2_000, id="a long path"),
        pytest.param("1 if false else " * 250 + "2", id="a long chain of conditionals"),
    ],
)
def test_long_flat_chains_parse_and_evaluate_without_deep_recursion(text: str) -> None:
    scope: dict[str, Any] = {}
    for _ in range(2_001):
        scope = {"a": scope}
    parse_expression(text).evaluate(scope)


def test_the_deepest_expression_still_evaluates() -> None:
    assert evaluate("(" * 16 + "-" * 16 + "n + 1" + ")" * 16, n=1) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "n * n * n",
            "integer result is out of range (64-bit signed)",
            id="a product beyond 64 bits",
        ),
        pytest.param(
            "9223372036854775807 + 1",
            "integer result is out of range (64-bit signed)",
            id="one past the largest integer",
        ),
        pytest.param(
            "-9223372036854775807 - 2",
            "integer result is out of range (64-bit signed)",
            id="one before the smallest integer",
        ),
        pytest.param("-big", "integer result is out of range (64-bit signed)", id="a negation"),
        pytest.param("1e300 * 1e300", "number result is not finite", id="a float overflow"),
        pytest.param("huge / 1", "number result is out of range", id="an int too big for a float"),
        pytest.param("inf + 1", "number result is not finite", id="an infinite operand"),
    ],
)
def test_number_results_stay_in_range(text: str, message: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate(text, n=999_999_999_999, big=-(2**63), huge=10**400, inf=float("inf"))
    assert str(caught.value) == message


def test_the_smallest_integer_is_a_valid_result() -> None:
    assert evaluate("-9223372036854775807 - 1") == -(2**63)


def _long(size: int) -> str:
    return "x" * size


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        pytest.param("s + 'y'", {"s": _long(65_536)}, id="joining strings"),
        pytest.param("upper(s)", {"s": "ß" * 32_769}, id="upper-casing that grows"),
        pytest.param("str(items)", {"items": [_long(40_000), _long(40_000)]}, id="str of a list"),
        pytest.param("join(items, '')", {"items": [_long(40_000)] * 2}, id="join"),
        pytest.param("join(items, ',')", {"items": ["a"] * 40_000}, id="join with separators"),
        pytest.param("replace(s, 'a', 'aaaa')", {"s": "a" * 20_000}, id="replace"),
        pytest.param("replace(s, '', '-')", {"s": _long(40_000)}, id="replace the empty string"),
        pytest.param("str(s)", {"s": _long(65_537)}, id="str of a long scope string"),
        pytest.param("str([s])", {"s": _long(65_537)}, id="str of a list holding one"),
    ],
)
def test_string_results_are_at_most_65536_characters(text: str, scope: dict[str, Any]) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        parse_expression(text).evaluate(scope)
    assert str(caught.value) == "string result is longer than 65,536 characters"


def test_a_string_of_exactly_the_limit_is_allowed() -> None:
    assert len(evaluate("s + 'x'", s=_long(65_535))) == 65_536


def test_a_value_read_from_the_scope_is_passed_through_whatever_its_size() -> None:
    assert len(evaluate("s", s=_long(100_000))) == 100_000


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        pytest.param("a + a", {"a": [0] * 5_001}, id="joining lists"),
        pytest.param("split(s, ',')", {"s": "," * 10_000}, id="split"),
        pytest.param("keys(d)", {"d": {str(i): i for i in range(10_001)}}, id="keys"),
        pytest.param("values(d)", {"d": {str(i): i for i in range(10_001)}}, id="values"),
    ],
)
def test_list_results_are_at_most_10000_items(text: str, scope: dict[str, Any]) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        parse_expression(text).evaluate(scope)
    assert str(caught.value) == "list result has more than 10,000 items"


def test_a_list_of_exactly_the_limit_is_allowed() -> None:
    assert len(evaluate("split(s, ',')", s="," * 9_999)) == 10_000


def test_comparing_values_that_never_end_stops_at_a_limit() -> None:
    first: list[Any] = []
    first.append(first)
    second: list[Any] = []
    second.append(second)
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate("a == b", a=first, b=second)
    assert str(caught.value) == "values are too large to compare"


def test_rendering_a_value_that_never_ends_stops_at_the_string_limit() -> None:
    endless: list[Any] = []
    endless.append(endless)
    with pytest.raises(ExpressionEvaluationError, match="longer than 65,536"):
        evaluate("str(a)", a=endless)


def _with_little_stack(action: Callable[[], Any]) -> Any:
    """Run ``action`` with only a few dozen frames of stack left."""
    depth = 0
    frame = sys._getframe()
    while frame.f_back is not None:
        frame = frame.f_back
        depth += 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 40)
    try:
        return action()
    finally:
        sys.setrecursionlimit(limit)


def test_parsing_with_little_stack_left_is_a_syntax_error_not_a_crash() -> None:
    text = "(" * 30 + "parsed_with_little_stack" + ")" * 30
    with pytest.raises(ExpressionSyntaxError) as caught:
        _with_little_stack(lambda: parse_expression(text))
    assert str(caught.value) == "expression is nested too deeply to parse at column 1"


def test_evaluating_with_little_stack_left_is_an_evaluation_error_not_a_crash() -> None:
    expression = parse_expression("-" * 30 + "n")
    with pytest.raises(ExpressionEvaluationError) as caught:
        _with_little_stack(lambda: expression.evaluate({"n": 1}))
    assert str(caught.value) == "expression is nested too deeply to evaluate"

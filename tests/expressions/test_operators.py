"""Operators: arithmetic, comparison, membership, boolean logic and conditionals."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.expressions import ExpressionEvaluationError, UndefinedNameError
from tests.expressions import Secret, evaluate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1 + 2 * 3", 7, id="multiplication binds tighter than addition"),
        pytest.param("(1 + 2) * 3", 9, id="parentheses group"),
        pytest.param("10 - 4 - 3", 3, id="subtraction folds from the left"),
        pytest.param("7 / 2", 3.5, id="division gives a float"),
        pytest.param("4 / 2", 2.0, id="even division still gives a float"),
        pytest.param("7 % 3", 1, id="remainder"),
        pytest.param("-7 % 3", 2, id="remainder takes the sign of the divisor"),
        pytest.param("1 + 0.5", 1.5, id="int plus float"),
        pytest.param("-(2 + 3)", -5, id="unary minus of a group"),
        pytest.param("2 * -3", -6, id="unary minus binds tighter than multiplication"),
        pytest.param("-n", -4, id="unary minus of a name"),
        pytest.param("'ab' + 'cd'", "abcd", id="plus joins strings"),
        pytest.param("[1] + [2, 3]", [1, 2, 3], id="plus joins lists"),
        pytest.param("1 == 1.0", True, id="an int equals the same float"),
        pytest.param("1 == true", False, id="a number never equals a bool"),
        pytest.param("null == null", True, id="null equals null"),
        pytest.param("'a' == 'a'", True, id="equal strings"),
        pytest.param("'a' != 'b'", True, id="different strings"),
        pytest.param("[1, [2]] == [1, [2]]", True, id="equal nested lists"),
        pytest.param("[1, 2] == [1]", False, id="lists of different lengths"),
        pytest.param("[1, 2] == [1, 3]", False, id="lists with a different item"),
        pytest.param("d == e", True, id="equal dicts"),
        pytest.param("d == f", False, id="dicts with different keys"),
        pytest.param("d == g", False, id="dicts with a different value"),
        pytest.param("d == h", False, id="dicts of different sizes"),
        pytest.param("1 == '1'", False, id="an int never equals a string"),
        pytest.param("null != 0", True, id="null is not zero"),
        pytest.param("1 < 2", True, id="less than"),
        pytest.param("2 <= 2.0", True, id="less or equal across int and float"),
        pytest.param("3 > 2", True, id="greater than"),
        pytest.param("2 >= 3", False, id="greater or equal"),
        pytest.param("'apple' < 'banana'", True, id="strings compare by code point"),
        pytest.param("'vpn' in 'VPN vpn'", True, id="in finds a substring"),
        pytest.param("2 in [1, 2]", True, id="in finds a list item"),
        pytest.param("true in [1, 2]", False, id="in uses strict equality"),
        pytest.param("'a' in d", True, id="in finds a dict key"),
        pytest.param("1 in d", False, id="a non-string is never a dict key"),
        pytest.param("'x' not in [1]", True, id="not in"),
        pytest.param("not 'a' in 'abc'", False, id="not applies to the whole comparison"),
        pytest.param("true and false", False, id="and"),
        pytest.param("false or true", True, id="or"),
        pytest.param("true and true and true", True, id="a chain of and"),
        pytest.param("false or false or false", False, id="a chain of or"),
        pytest.param("true or false and false", True, id="and binds tighter than or"),
        pytest.param("not false", True, id="not"),
        pytest.param("not not true", True, id="not twice"),
        pytest.param("false and missing", False, id="and stops at the first false"),
        pytest.param("true or missing", True, id="or stops at the first true"),
        pytest.param("'a' if true else 'b'", "a", id="a conditional takes its first branch"),
        pytest.param("'a' if false else 'b'", "b", id="a conditional falls back"),
        pytest.param("1 if false else 2 if true else 3", 2, id="chained conditionals"),
        pytest.param("1 if false else 2 if false else 3", 3, id="chained conditionals fall back"),
        pytest.param("missing if false else 0", 0, id="an untaken branch is not evaluated"),
        pytest.param("1 + 1 == 2 and 'a' < 'b'", True, id="precedence across levels"),
    ],
)
def test_operator(text: str, expected: Any) -> None:
    scope = {"n": 4, "d": {"a": 1}, "e": {"a": 1.0}, "f": {"b": 1}, "g": {"a": 2}, "h": {}}
    result = evaluate(text, **scope)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "1 + 'a'",
            "'+' needs two numbers, two strings or two lists, found int and string",
            id="int plus string",
        ),
        pytest.param(
            "[1] + 'a'",
            "'+' needs two numbers, two strings or two lists, found list and string",
            id="list plus string",
        ),
        pytest.param(
            "true + 1",
            "'+' needs two numbers, two strings or two lists, found bool and int",
            id="a bool is not a number",
        ),
        pytest.param(
            "'a' * 3", "'*' needs two numbers, found string and int", id="no string repetition"
        ),
        pytest.param(
            "[1] * 3", "'*' needs two numbers, found list and int", id="no list repetition"
        ),
        pytest.param("null - 1", "'-' needs two numbers, found null and int", id="null minus one"),
        pytest.param("1 / 0", "'/' by zero", id="division by zero"),
        pytest.param("1 % 0", "'%' by zero", id="remainder by zero"),
        pytest.param("1.5 / 0.0", "'/' by zero", id="float division by zero"),
        pytest.param("-'a'", "'-' needs a number, found string", id="negating a string"),
        pytest.param("1 < 'a'", "cannot compare int with string using '<'", id="int with string"),
        pytest.param(
            "[1] <= [2]", "cannot compare list with list using '<='", id="lists are not ordered"
        ),
        pytest.param(
            "true > false", "cannot compare bool with bool using '>'", id="bools are not ordered"
        ),
        pytest.param(
            "null >= 1", "cannot compare null with int using '>='", id="null is not ordered"
        ),
        pytest.param(
            "1 in 'abc'", "'in' a string needs a string on the left, found int", id="int in string"
        ),
        pytest.param(
            "1 in 2", "'in' needs a string, list or dict on the right, found int", id="in an int"
        ),
        pytest.param("1 and true", "'and' needs a bool, found int", id="and with an int"),
        pytest.param(
            "true and 'yes'",
            "'and' needs a bool, found string",
            id="and with a string on the right",
        ),
        pytest.param("'' or false", "'or' needs a bool, found string", id="or has no truthiness"),
        pytest.param("not null", "'not' needs a bool, found null", id="not null"),
        pytest.param(
            "1 if 'x' else 2",
            "the condition after 'if' needs a bool, found string",
            id="a string condition",
        ),
    ],
)
def test_operator_refuses_mismatched_types(text: str, message: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate(text)
    assert str(caught.value) == message


def test_a_missing_name_in_an_operand_is_undefined() -> None:
    with pytest.raises(UndefinedNameError, match=r"^ticket\.priority is not defined$"):
        evaluate("ticket.priority < 3", ticket={})


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("token == 'x'", id="equality"),
        pytest.param("token != null", id="inequality"),
        pytest.param("[token] == [token]", id="equality inside lists"),
        pytest.param("token < 'x'", id="ordering"),
        pytest.param("'x' > token", id="ordering from the right"),
        pytest.param("'x' in [token]", id="membership in a list holding one"),
    ],
)
def test_an_opaque_value_cannot_be_compared_and_is_not_revealed(text: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate(text, token=Secret("hunter2"))
    assert str(caught.value) == "cannot compare an opaque value (Secret)"
    assert "hunter2" not in str(caught.value)


def test_an_opaque_value_is_never_a_dict_key_and_never_holds_a_substring() -> None:
    assert evaluate("token in d", token=Secret("a"), d={"a": 1}) is False
    with pytest.raises(ExpressionEvaluationError, match=r"found opaque value \(Secret\)$"):
        evaluate("'a' in token", token=Secret("a"))

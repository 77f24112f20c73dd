"""Values: what counts as plain, how values become text, and strict equality."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from gateway.expressions import ExpressionEvaluationError, parse_expression
from tests.expressions import Secret, evaluate


class Site(enum.StrEnum):
    OSLO = "oslo"


class Level(enum.IntEnum):
    HIGH = 1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(None, "", id="null is empty"),
        pytest.param(True, "true", id="true"),
        pytest.param(False, "false", id="false"),
        pytest.param(42, "42", id="an int"),
        pytest.param(-0.5, "-0.5", id="a float"),
        pytest.param(1e16, "1e+16", id="a large float"),
        pytest.param("plain", "plain", id="a string is itself"),
        pytest.param(Site.OSLO, "oslo", id="a string enum is its value"),
        pytest.param(Level.HIGH, "1", id="an int enum is its number"),
        pytest.param([1, "a", None, True, 2.5], '[1,"a",null,true,2.5]', id="a list"),
        pytest.param({"a": [], "b": {}}, '{"a":[],"b":{}}', id="nested containers"),
        pytest.param({"q": 'say "hi"\n'}, '{"q":"say \\"hi\\"\\n"}', id="escaped strings"),
        pytest.param(["Ærø"], '["Ærø"]', id="non-ascii text is kept"),
    ],
)
def test_str_and_templates_write_values_as_text(value: Any, text: str) -> None:
    assert evaluate("str(v)", v=value) == text


def test_a_string_subclass_compares_as_a_string() -> None:
    assert evaluate("site == 'oslo'", site=Site.OSLO) is True
    assert evaluate("[site] == ['oslo']", site=Site.OSLO) is True
    assert evaluate("level == 1", level=Level.HIGH) is True


def test_numbers_of_different_types_compare_by_value() -> None:
    assert evaluate("[1] == [2.0]") is False
    assert evaluate("[2] == [2.0]") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("x > 1", True, id="a true condition"),
        pytest.param("x > 5", False, id="a false condition"),
    ],
)
def test_evaluate_bool_returns_the_condition(text: str, expected: bool) -> None:
    assert parse_expression(text).evaluate_bool({"x": 2}) is expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param("x", "int", id="an int"),
        pytest.param("'true'", "string", id="the word true"),
        pytest.param("null", "null", id="null"),
        pytest.param("[true]", "list", id="a list holding true"),
        pytest.param("token", "opaque value (Secret)", id="an opaque value"),
    ],
)
def test_evaluate_bool_refuses_anything_but_a_bool(text: str, found: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        parse_expression(text).evaluate_bool({"x": 2, "token": Secret("t0ken")})
    assert str(caught.value) == f"condition must be a bool, found {found}"

"""Literals: numbers, strings with escapes, constants and lists."""

from __future__ import annotations

from typing import Any

import pytest

from tests.expressions import evaluate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("42", 42, id="an integer"),
        pytest.param("007", 7, id="an integer with leading zeros"),
        pytest.param("2.5", 2.5, id="a float"),
        pytest.param("1e3", 1000.0, id="a float with an exponent"),
        pytest.param("1.5E-2", 0.015, id="a float with a signed exponent"),
        pytest.param("-3", -3, id="a negative integer"),
        pytest.param("- -3", 3, id="a doubly negated integer"),
        pytest.param("9223372036854775807", 2**63 - 1, id="the largest integer"),
        pytest.param("'single'", "single", id="a single-quoted string"),
        pytest.param('"double"', "double", id="a double-quoted string"),
        pytest.param("''", "", id="an empty string"),
        pytest.param(r"'a\\b'", "a\\b", id="an escaped backslash"),
        pytest.param(r"'it\'s'", "it's", id="an escaped single quote"),
        pytest.param(r'"say \"hi\""', 'say "hi"', id="an escaped double quote"),
        pytest.param(r"'a\nb\tc'", "a\nb\tc", id="newline and tab escapes"),
        pytest.param("'two\nlines'", "two\nlines", id="a raw newline inside quotes"),
        pytest.param("'a \"quoted\" word'", 'a "quoted" word', id="other quotes need no escape"),
        pytest.param("true", True, id="true"),
        pytest.param("false", False, id="false"),
        pytest.param("null", None, id="null"),
        pytest.param("[]", [], id="an empty list"),
        pytest.param("[1, 'a', null, [true]]", [1, "a", None, [True]], id="a mixed list"),
        pytest.param("[1, 2,]", [1, 2], id="a list with a trailing comma"),
        pytest.param("  (\t1\n)  ", 1, id="whitespace and parentheses"),
    ],
)
def test_literal_evaluates_to_its_value(text: str, expected: Any) -> None:
    result = evaluate(text)
    assert result == expected
    assert type(result) is type(expected)


def test_each_evaluation_builds_a_new_list() -> None:
    first = evaluate("[1]")
    first.append(2)
    assert evaluate("[1]") == [1]

"""Patterns of ``matches()``: which are refused, and the caps on pattern and text."""

from __future__ import annotations

import pytest

from gateway.expressions import ExpressionEvaluationError, ExpressionSyntaxError, parse_expression
from tests.expressions import evaluate


def _quoted(pattern: str) -> str:
    return "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(r"(a+)+", id="a repeated group of a repetition"),
        pytest.param(r"(a*)*", id="a starred group of a star"),
        pytest.param(r"(\w*,)*x", id="a repeated group holding a starred class"),
        pytest.param(r"(a{1,3})+", id="a repeated group holding a counted repetition"),
        pytest.param(r"(a+){2,}", id="a counted repetition of a repeated group"),
        pytest.param(r"((a+))+", id="a repetition two groups down"),
        pytest.param(r"((a)+b)*", id="a repeated group holding a repeated group"),
        pytest.param(r"(?:x+y)+", id="a repeated non-capturing group"),
        pytest.param(r"(?P<n>[a-z]+)*", id="a repeated named group"),
    ],
)
def test_a_pattern_that_can_backtrack_catastrophically_is_refused(pattern: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(f"matches(text, {_quoted(pattern)})")
    assert caught.value.problem == "pattern repeats a group that itself repeats"


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        pytest.param(r"^INC\d{7}$", "INC0012345", True, id="a counted repetition outside groups"),
        pytest.param(r"(ab)+", "xababx", True, id="a repeated group without repetition inside"),
        pytest.param(r"(a+)?b", "aab", True, id="an optional group holding a repetition"),
        pytest.param(r"(a+)", "caat", True, id="a group holding a repetition, not repeated"),
        pytest.param(r"[(+)]+", "(+)", True, id="parentheses inside a class are characters"),
        pytest.param(r"[]a]+", "]a", True, id="a class starting with a bracket"),
        pytest.param(r"[^]a]+", "bc", True, id="a negated class starting with a bracket"),
        pytest.param(r"[\]]+", "]]", True, id="an escaped bracket in a class"),
        pytest.param(r"\(a+\)+", "(aa))", True, id="escaped parentheses are characters"),
        pytest.param(r"(?i)vpn", "VPN", True, id="an inline flag group"),
        pytest.param(r"a{2}(b)", "aab", True, id="a counted repetition before a group"),
        pytest.param(r"a{,2}b", "ab", True, id="an open-start counted repetition"),
        pytest.param(r"(a|b)+", "abba", True, id="a repeated alternation"),
    ],
)
def test_an_ordinary_pattern_is_accepted_and_searches(
    pattern: str, text: str, expected: bool
) -> None:
    assert evaluate(f"matches(text, {_quoted(pattern)})", text=text) is expected


def test_an_unbalanced_closing_parenthesis_is_an_invalid_pattern() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("matches(text, 'x)+')")
    assert caught.value.problem == "invalid pattern: unbalanced parenthesis"


def test_the_pattern_is_at_most_256_characters() -> None:
    parse_expression(f"matches(text, '{'a' * 256}')")
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(f"matches(text, '{'a' * 257}')")
    assert str(caught.value) == "pattern is longer than 256 characters at column 15"


def test_the_text_searched_is_at_most_10000_characters() -> None:
    assert evaluate("matches(text, 'x$')", text="a" * 9_999 + "x") is True
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate("matches(text, 'x')", text="a" * 10_001)
    assert str(caught.value) == "matches() text is longer than 10,000 characters"

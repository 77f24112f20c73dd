"""Syntax errors: the message, the column and the caret display."""

from __future__ import annotations

import pytest

from gateway.errors import ExitCode, GatewayError
from gateway.expressions import (
    Expression,
    ExpressionError,
    ExpressionSyntaxError,
    parse_expression,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "expected an expression at column 1, found end of input", id="nothing"),
        pytest.param(
            "(ticket.priority", "expected ')' at column 17, found end of input", id="unclosed paren"
        ),
        pytest.param("[1, 2", "expected ']' at column 6, found end of input", id="unclosed list"),
        pytest.param("a[1", "expected ']' at column 4, found end of input", id="unclosed index"),
        pytest.param(
            "1 +", "expected an expression at column 4, found end of input", id="dangling"
        ),
        pytest.param("a b", "expected end of input at column 3, found 'b'", id="two names"),
        pytest.param("()", "expected an expression at column 2, found ')'", id="empty parens"),
        pytest.param(
            "().__class__", "expected an expression at column 2, found ')'", id="a python tuple"
        ),
        pytest.param("a.", "expected a name after '.' at column 3, found end of input", id="dot"),
        pytest.param("a.1", "expected a name after '.' at column 3, found '1'", id="dot number"),
        pytest.param("x if y", "expected 'else' at column 7, found end of input", id="no else"),
        pytest.param(
            "a if b if c else d else e",
            "expected 'else' at column 8, found 'if'",
            id="a conditional as a condition needs parentheses",
        ),
        pytest.param(
            "1 < 2 < 3",
            "comparisons cannot be chained at column 7: join them with 'and'",
            id="chained comparison",
        ),
        pytest.param(
            "a == b not in c",
            "comparisons cannot be chained at column 8: join them with 'and'",
            id="chained not in",
        ),
        pytest.param("a not b", "expected end of input at column 3, found 'not'", id="not alone"),
        pytest.param("'abc", "unterminated string at column 1", id="unterminated string"),
        pytest.param("'abc\\", "unterminated string at column 1", id="a trailing backslash"),
        pytest.param(
            r"'a\x'", r"unknown escape '\x' at column 3: use \\ \' \" \n or \t", id="bad escape"
        ),
        pytest.param(
            "'a\\\x01'",
            r"unknown escape '\\x01' at column 3: use \\ \' \" \n or \t",
            id="an escaped control character",
        ),
        pytest.param("a && b", "unexpected '&&' at column 3: use 'and'", id="c-style and"),
        pytest.param("a || b", "unexpected '||' at column 3: use 'or'", id="c-style or"),
        pytest.param("!a", "unexpected '!' at column 1: use 'not'", id="c-style not"),
        pytest.param("a = b", "unexpected '=' at column 3: use '==' to compare", id="assignment"),
        pytest.param("a @ b", "unexpected character '@' at column 3", id="a stray character"),
        pytest.param("a & b", "unexpected character '&' at column 3", id="a single ampersand"),
        pytest.param("{'a': 1}", "unexpected character '{' at column 1", id="no dict literals"),
        pytest.param("café", "unexpected character 'é' at column 4", id="non-ascii names"),
        pytest.param("10 ** 3", "expected an expression at column 5, found '*'", id="no power"),
        pytest.param(
            "9223372036854775808",
            "integer is out of range (64-bit signed) at column 1",
            id="an integer beyond 64 bits",
        ),
        pytest.param(
            "1" * 30, "integer is out of range (64-bit signed) at column 1", id="many digits"
        ),
        pytest.param("1e999", "number is too large at column 1", id="a float beyond range"),
        pytest.param("1e", "expected end of input at column 2, found 'e'", id="no exponent"),
        pytest.param("eval('1')", "unknown function 'eval' at column 1", id="eval"),
        pytest.param("now()", "unknown function 'now' at column 1", id="no clock"),
        pytest.param(
            "x.__class__()",
            "unexpected '(' at column 12: only built-in functions can be called, by name",
            id="calling a path",
        ),
        pytest.param(
            "(lower)('A')",
            "unexpected '(' at column 8: only built-in functions can be called, by name",
            id="calling a group",
        ),
        pytest.param(
            "len()", "len() takes 1 argument at column 1, found 0", id="too few arguments"
        ),
        pytest.param(
            "replace('a', 'b')",
            "replace() takes 3 arguments at column 1, found 2",
            id="too few of several arguments",
        ),
        pytest.param(
            "round(1, 2, 3)", "round() takes 1 or 2 arguments at column 1, found 3", id="too many"
        ),
        pytest.param(
            "x + min()", "min() takes at least 1 argument at column 5, found 0", id="min of nothing"
        ),
        pytest.param(
            "defined(1 + 1)",
            "defined() takes a name or path at column 9, such as ticket.assignee",
            id="defined of a sum",
        ),
        pytest.param(
            "matches(text, pattern)",
            "matches() takes its pattern as a quoted string at column 15",
            id="a pattern from the scope",
        ),
        pytest.param(
            "matches(text, '(')",
            "invalid pattern: missing ), unterminated subpattern at column 15",
            id="an invalid pattern",
        ),
        pytest.param(
            "matches(text, 'a{99999999999}')",
            "invalid pattern: too large or too deeply nested at column 15",
            id="a pattern with a huge repetition",
        ),
        pytest.param(
            "matches(text, '(a+)+$')",
            "pattern repeats a group that itself repeats at column 15",
            id="a catastrophic pattern",
        ),
        pytest.param(
            "a\n  and (b",
            "expected ')' at line 2, column 9, found end of input",
            id="a position on a later line",
        ),
    ],
)
def test_syntax_error_names_the_problem_and_its_column(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    assert str(caught.value) == message


def test_syntax_error_exposes_its_position() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("a and\n  (b or")
    error = caught.value
    assert (error.line, error.column, error.position) == (2, 8, 13)
    assert error.source == "a and\n  (b or"
    assert error.problem == "expected an expression"


def test_describe_adds_the_origin_and_a_caret_under_the_column() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("ticket.priority <= 2 and (x")
    assert caught.value.describe("workflows/reset.yaml:12") == (
        "workflows/reset.yaml:12: expected ')' at column 28, found end of input\n"
        "  ticket.priority <= 2 and (x\n"
        "                             ^"
    )


def test_describe_shows_only_the_line_of_the_problem() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("a and\n  b @\n  or c")
    assert caught.value.describe() == (
        "unexpected character '@' at line 2, column 5\n    b @\n      ^"
    )


def test_describe_shows_a_window_around_a_problem_in_a_long_line() -> None:
    text = "a + " * 40 + "@" + " + b" * 40
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    _, shown, caret = caught.value.describe().split("\n")
    assert shown.startswith("  ...")
    assert shown.endswith("...")
    assert shown[caret.index("^")] == "@"


def test_diagnostics_for_the_command_line_include_the_caret() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("1 +")
    assert caught.value.diagnostics() == (
        "expected an expression at column 4, found end of input\n  1 +\n     ^"
    )


def test_syntax_errors_are_gateway_input_errors() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(")")
    assert isinstance(caught.value, ExpressionError)
    assert isinstance(caught.value, GatewayError)
    assert caught.value.exit_code is ExitCode.INVALID_INPUT


def test_a_long_token_is_shortened_in_the_message() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("a " + "b" * 50)
    assert str(caught.value) == (
        "expected end of input at column 3, found 'bbbbbbbbbbbbbbbbbbbbbbbb...'"
    )


def test_a_string_token_is_not_quoted_in_the_message() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("a 'password123'")
    assert str(caught.value) == "expected end of input at column 3, found a string"


def test_source_that_is_not_text_is_caller_misuse() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_expression(5)  # type: ignore[arg-type]


def test_parsing_is_cached_by_source_text() -> None:
    assert parse_expression("a + 1") is parse_expression("a + 1")
    assert Expression.parse("a + 1") is parse_expression("a + 1")
    assert repr(parse_expression("a + 1")) == "Expression('a + 1')"

"""What a definition's CEL is refused for when it loads, each refusal with its position."""

from __future__ import annotations

from pathlib import Path

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import SourceError
from gateway.expressions import (
    ExpressionSyntaxError,
    parse_expression,
    parse_template,
    split_reference,
)
from gateway.tickets.rules import load_triggers

TRIGGER = """\
id: t1
title: T
signals:
  - {keywords: [vpn], weight: 0.9}
routes:
  - id: r1
    when: "WHEN"
    humans: {note: "hi"}
"""


def _refusal(text: str) -> str:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a and b", "unexpected 'and': write && at column 3", id="and"),
        pytest.param("a or b", "unexpected 'or': write || at column 3", id="or"),
        pytest.param("a if b else c", "unexpected 'if': write c ? a : b at column 3", id="if"),
        pytest.param("(a", "missing ')' at end of input at column 3", id="an open parenthesis"),
        pytest.param("a +", "unexpected end of input at column 4", id="a dangling operator"),
        pytest.param("a &&\n  (b", "missing ')' at end of input at line 2, column 5",
                     id="over two lines"),
    ],
)  # fmt: skip
def test_a_syntax_error_gives_the_problem_and_its_position(text: str, message: str) -> None:
    assert _refusal(text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("now() > 3", "unknown function now() at column 1", id="unknown"),
        pytest.param("a.lowerAscii() == 'x'", "unknown function lowerAscii() at column 3",
                     id="an extension function"),
        pytest.param("timestamp(a) > timestamp(b)", "unknown function timestamp() at column 1",
                     id="a clock"),
        pytest.param("a && .b", "write b without the leading dot at column 6",
                     id="an absolute name"),
        pytest.param("size(a, b) > 0", "size() takes 1 argument, found 2 at column 1",
                     id="too many arguments"),
        pytest.param("string() == ''", "string() takes 1 argument, found 0 at column 1",
                     id="no argument"),
        pytest.param("a.size(b) > 0", "x.size() takes 0 arguments, found 1 at column 3",
                     id="a method with an argument too many"),
        pytest.param("a.startsWith('x', [1, (2)])", "x.startsWith() takes 1 argument, found 2 "
                     "at column 3", id="nested brackets count as one argument"),
        pytest.param("a.int() > 0", "int() cannot be called as x.int() at column 3",
                     id="a function called as a method"),
        pytest.param("startsWith(a, 'x')", "startsWith() cannot be called as startsWith(x) at "
                     "column 1", id="a method called as a function"),
        pytest.param("matches(a, 'x')", "write text.matches('pattern'), the pattern as a string "
                     "literal at column 1", id="matches as a global function"),
        pytest.param("a.matches(b)", "write text.matches('pattern'), the pattern as a string "
                     "literal at column 3", id="a pattern from the scope"),
        pytest.param("a.matches('(')", "matches() pattern is not a valid regular expression at "
                     "column 11", id="a pattern that does not compile"),
    ],
)  # fmt: skip
def test_functions_outside_the_allow_list_and_bad_patterns_are_refused(
    text: str, message: str
) -> None:
    assert _refusal(text) == message


@pytest.mark.parametrize("macro", ["all", "exists", "exists_one", "map", "filter"])
def test_every_comprehension_macro_is_refused(macro: str) -> None:
    text = f"params.users.{macro}(u, u == 'tom')"

    assert _refusal(text) == (
        f"the macro {macro}() is not allowed: its cost grows with data at column 14"
    )


def test_a_macro_whose_variable_hides_a_root_is_refused() -> None:
    assert "the macro map()" in _refusal("params.users.map(params, params.size()).size() > 0")


def test_macro_names_inside_string_literals_are_text() -> None:
    condition = parse_expression("s == 'x.map(a, a)' && \"all(\" != s")

    assert condition.evaluate_bool({"s": "x.map(a, a)"}) is True


def test_allowed_functions_and_a_literal_pattern_compile() -> None:
    condition = parse_expression(
        "size(s) == 3 && s.startsWith('a') && s.endsWith('c') && s.contains('b') && "
        "s.matches('^a.c$') && int('3') == 3 && double(1) == 1.0 && string(1) == '1' && "
        "type(s) == string && dyn(1) == 1 && uint(1) == 1u && text(true) == 'true' && "
        "has(m.k) && !has(m.j)"
    )

    assert condition.evaluate_bool({"s": "abc", "m": {"k": 1}}) is True


def test_an_expression_of_4096_characters_compiles_and_one_more_is_refused() -> None:
    parse_expression("a" * 4_096)

    assert _refusal("a" * 4_097) == "expression is longer than 4,096 characters at column 4097"


def test_a_template_part_longer_than_4096_characters_is_refused_where_it_starts() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_template("x {{ " + "a" * 4_097 + " }}")

    assert str(caught.value) == "expression is longer than 4,096 characters at column 4101"


def test_a_template_of_65536_characters_compiles_and_one_more_is_refused() -> None:
    parse_template("x" * 65_536)

    with pytest.raises(ExpressionSyntaxError, match="template is longer than 65,536 characters"):
        parse_template("x" * 65_537)


def test_describe_shows_the_origin_the_line_and_a_caret() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_template("Hello {{ user.name &&\n }} and {{ x }}")

    assert caught.value.describe("t.yaml:7") == (
        "t.yaml:7: unexpected end of input at line 2, column 2\n   }} and {{ x }}\n   ^"
    )


def test_describe_shows_only_the_line_of_the_problem() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("a and\nb")

    assert caught.value.describe() == (
        "unexpected 'and': write && at line 1, column 3\n  a and\n    ^"
    )


def test_a_library_error_without_a_position_points_at_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(text: str) -> None:
        raise ValueError("no position here")

    monkeypatch.setattr(cel, "compile", refuse)

    assert _refusal("a == 2") == "invalid expression at column 1"


def test_describe_cuts_a_long_line_around_the_caret() -> None:
    text = "a" * 100 + " && (" + "b" * 100
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)

    shown = caught.value.diagnostics().splitlines()
    assert shown[0] == "missing ')' at end of input at column 206"
    assert shown[1].startswith("  ...")
    assert shown[1].endswith("b")
    assert shown[2].endswith("^")


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        pytest.param("ticket.priority <= 2 and (x", "unexpected 'and': write && at column 22",
                     id="a syntax error"),
        pytest.param("requester.groups.exists(g, g == 'vpn')",
                     "the macro exists() is not allowed: its cost grows with data at column 18",
                     id="a macro"),
        pytest.param("ticket.subject.matches('(?P<x')",
                     "matches() pattern is not a valid regular expression at column 24",
                     id="a bad pattern"),
    ],
)  # fmt: skip
def test_a_definition_is_refused_at_load_with_file_line_and_column(
    tmp_path: Path, condition: str, problem: str
) -> None:
    (tmp_path / "t.yaml").write_text(TRIGGER.replace("WHEN", condition), encoding="utf-8")

    with pytest.raises(SourceError) as raised:
        load_triggers(tmp_path)

    assert [str(found) for found in raised.value.problems] == [
        f"{tmp_path / 't.yaml'}:7: condition does not parse: {problem}"
    ]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab.()[]{}'\"\\,:?!&|=<>+-*/%0123456789xeuR_ \n", max_size=40))
def test_any_text_compiles_or_is_refused_with_a_position(text: str) -> None:
    try:
        expression = parse_expression(text)
    except ExpressionSyntaxError as error:
        position = error.position
    else:
        position = 0
        for reference in expression.references:
            split_reference(reference)
    assert 0 <= position <= len(text)

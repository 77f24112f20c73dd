"""Templates: ``{{ }}`` around CEL, typed single expressions, and the text rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.expressions import (
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    Scope,
    parse_template,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(None, "", id="null is empty"),
        pytest.param(True, "true", id="true"),
        pytest.param(False, "false", id="false"),
        pytest.param(3, "3", id="an int"),
        pytest.param(0.25, "0.25", id="a double"),
        pytest.param("é", "é", id="a string as it is"),
        pytest.param(["vpn", 1], '["vpn",1]', id="a list as compact JSON"),
        pytest.param({"site": "Oslo"}, '{"site":"Oslo"}', id="a map as compact JSON"),
    ],
)
def test_text_templates_write_values_by_the_text_rules(value: Any, text: str) -> None:
    assert parse_template("<{{ v }}>").render({"v": value}) == f"<{text}>"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(b"x", "cannot write a bytes as text", id="bytes"),
        pytest.param([float("nan")], "cannot write this list as text", id="a list with NaN"),
        pytest.param(
            datetime(2026, 1, 1, tzinfo=UTC), "cannot write a timestamp as text", id="a timestamp"
        ),
    ],
)
def test_values_without_a_text_form_are_refused(value: Any, message: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match=message):
        parse_template("<{{ v }}>").render({"v": value})


@pytest.mark.parametrize(
    ("template", "value"),
    [
        pytest.param("{{ params.hours }}", 8, id="an int stays an int"),
        pytest.param("  {{ params.groups }}\n", ["vpn"], id="whitespace around is allowed"),
        pytest.param("{{ params.none }}", None, id="null stays null"),
        pytest.param("{{ {'a': {'b': 1}} }}", {"a": {"b": 1}}, id="map braces inside"),
    ],
)
def test_a_single_expression_keeps_its_type(template: str, value: Any) -> None:
    scope = {"params": {"hours": 8, "groups": ["vpn"], "none": None}}

    assert parse_template(template).render(scope) == value


@pytest.mark.parametrize(
    ("template", "text"),
    [
        pytest.param("{{ '{{' }} x }}", "{{ x }}", id="a literal {{"),
        pytest.param("a }} b", "a }} b", id="}} outside an expression"),
        pytest.param("{{ '}}' }}!", "}}!", id="}} inside a string literal"),
        pytest.param('{{ r\'\\d\' }}{{ """x\'""" }}', "\\dx'", id="raw and triple quotes"),
        pytest.param("no braces", "no braces", id="plain text"),
        pytest.param("{{ 'it\\'s' }}", "it's", id="an escaped quote"),
    ],
)
def test_braces_and_string_literals(template: str, text: str) -> None:
    assert parse_template(template).render({}) == text


def test_a_template_reads_one_conversion_of_its_scope() -> None:
    template = parse_template("{{ params.user }} ({{ execution.actor }}, {{ 1 + 1 }})")
    scope = Scope({"params": {"user": "tom"}, "execution": {"actor": "elena"}})

    assert template.render(scope) == "tom (elena, 2)"
    assert template.references == {"params.user", "execution.actor"}
    assert [e.source for e in template.expressions] == ["params.user", "execution.actor", "1 + 1"]
    assert template.source.startswith("{{ params.user }}")
    assert repr(parse_template("x")) == "Template('x')"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("Hi {{ user ", "'{{' is not closed by '}}' at column 12", id="an open {{"),
        pytest.param("Hi {{ 'user }}", "string literal is not closed at column 7",
                     id="an open string"),
        pytest.param("Hi {{ }}", "unexpected end of input at column 7", id="an empty expression"),
        pytest.param("Hi\n{{ a.map(x, x) }}", "the macro map() is not allowed: its cost grows "
                     "with data at line 2, column 6", id="positions count from the template"),
    ],
)  # fmt: skip
def test_template_errors_give_their_position_in_the_template(template: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_template(template)

    assert str(caught.value) == message


def test_rendered_text_is_at_most_65536_characters() -> None:
    long = "x" * 40_000
    assert len(parse_template("{{ s }}{{ s }}").render({"s": long[:32_768]})) == 65_536

    with pytest.raises(ExpressionEvaluationError, match="longer than 65,536 characters"):
        parse_template("{{ s }}{{ s }}").render({"s": long})


def test_only_text_is_a_template() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_template(None)  # type: ignore[arg-type]

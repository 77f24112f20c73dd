"""Templates: interpolation as text, typed single expressions, escapes and errors."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.expressions import (
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    Template,
    UndefinedNameError,
    parse_template,
)
from tests.expressions import Secret

SCOPE: dict[str, Any] = {
    "request": {"user": "alice", "groups": ["vpn-users", "staff"], "hours": 8},
    "ticket": {"number": "INC0012345", "priority": 2, "urgent": True, "assignee": None},
    "meta": {"ratio": 0.25, "labels": {"site": "Oslo", "floor": 3}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Reset for {{ request.user }} on {{ ticket.number }}",
            "Reset for alice on INC0012345",
            id="two names in a sentence",
        ),
        pytest.param("P{{ticket.priority}}", "P2", id="an int as text, no spaces"),
        pytest.param("ratio {{ meta.ratio }}", "ratio 0.25", id="a float as text"),
        pytest.param("urgent={{ ticket.urgent }}", "urgent=true", id="a bool as text"),
        pytest.param("[{{ ticket.assignee }}]", "[]", id="null as empty text"),
        pytest.param(
            "groups: {{ request.groups }}",
            'groups: ["vpn-users","staff"]',
            id="a list as compact JSON",
        ),
        pytest.param(
            "at {{ meta.labels }}", 'at {"site":"Oslo","floor":3}', id="a dict as compact JSON"
        ),
        pytest.param("no expressions at all", "no expressions at all", id="plain text"),
        pytest.param("", "", id="an empty template"),
        pytest.param("{{ '{{' }} literal }}", "{{ literal }}", id="an escaped opening"),
        pytest.param("a }} b", "a }} b", id="a closing without an opening is text"),
        pytest.param("{{ '}}' }}", "}}", id="a closing inside a string literal"),
        pytest.param("{{ request.user }}-{{ ticket.priority }}", "alice-2", id="two expressions"),
        pytest.param(
            "{{ upper(request.user) if ticket.urgent else request.user }}!",
            "ALICE!",
            id="a conditional in text",
        ),
        pytest.param("line one\n{{ request.user }}\n", "line one\nalice\n", id="multi-line"),
    ],
)
def test_template_renders_text(text: str, expected: str) -> None:
    assert parse_template(text).render(SCOPE) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{ ticket.priority }}", 2, id="an int stays an int"),
        pytest.param("  {{ request.groups }}\n", ["vpn-users", "staff"], id="a list stays a list"),
        pytest.param("{{ ticket.urgent }}", True, id="a bool stays a bool"),
        pytest.param("{{ ticket.assignee }}", None, id="null stays null"),
        pytest.param("{{ request.hours * 2 }}", 16, id="a computed int"),
        pytest.param("{{ meta.labels }}", {"site": "Oslo", "floor": 3}, id="a dict stays a dict"),
        pytest.param("{{ request.user }}", "alice", id="a string stays a string"),
    ],
)
def test_a_single_expression_template_keeps_the_type(text: str, expected: Any) -> None:
    result = parse_template(text).render(SCOPE)
    assert result == expected
    assert type(result) is type(expected)


def test_a_single_expression_template_passes_an_opaque_value_along_untouched() -> None:
    secret = Secret("Winter2024!")
    assert parse_template("{{ vault.password }}").render({"vault": {"password": secret}}) is secret


def test_an_opaque_value_cannot_be_rendered_into_text() -> None:
    template = parse_template("password is {{ vault.password }}")
    with pytest.raises(ExpressionEvaluationError) as caught:
        template.render({"vault": {"password": Secret("Winter2024!")}})
    assert str(caught.value) == "cannot render an opaque value (Secret)"
    assert "Winter2024" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param([Secret("x")], "cannot render an opaque value (Secret)", id="inside a list"),
        pytest.param({"k": Secret("x")}, "cannot render an opaque value (Secret)", id="in a dict"),
        pytest.param(
            {1: "x"},
            "cannot render a dict with a key that is not a string (int)",
            id="a dict with a key that is not a string",
        ),
    ],
)
def test_a_structure_holding_something_not_plain_cannot_be_rendered(
    value: Any, message: str
) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        parse_template("v={{ v }}").render({"v": value})
    assert str(caught.value) == message


def test_a_missing_name_in_a_template_is_undefined() -> None:
    with pytest.raises(UndefinedNameError, match=r"^steps\.reset\.output\.ok is not defined$"):
        parse_template("done: {{ steps.reset.output.ok }}").render({"steps": {}})


def test_rendered_text_is_at_most_65536_characters() -> None:
    template = parse_template("{{ a }}{{ a }}")
    assert len(template.render({"a": "x" * 32_768})) == 65_536
    with pytest.raises(ExpressionEvaluationError) as caught:
        template.render({"a": "x" * 32_769})
    assert str(caught.value) == "string result is longer than 65,536 characters"


def test_references_cover_every_expression() -> None:
    template = parse_template("{{ request.user }} / {{ default(ticket['custom field'], x) }}")
    assert template.references == frozenset({"request.user", 'ticket["custom field"]', "x"})
    assert [expression.source for expression in template.expressions] == [
        "request.user",
        "default(ticket['custom field'], x)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("Hi {{ name", "expected '}}' at column 11, found end of input", id="unclosed"),
        pytest.param("Hi {{ }}", "expected an expression at column 7, found '}}'", id="empty"),
        pytest.param("{{ a } }}", "unexpected character '}' at column 6", id="a lone brace"),
        pytest.param("{{ a b }}", "expected '}}' at column 6, found 'b'", id="two names"),
        pytest.param(
            "ok\n{{ (a }}", "expected ')' at line 2, column 7, found '}}'", id="on a later line"
        ),
        pytest.param("{{ 'a }}", "unterminated string at column 4", id="an unterminated string"),
    ],
)
def test_template_syntax_errors_point_into_the_template(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_template(text)
    assert str(caught.value) == message
    assert caught.value.source == text


def test_an_expression_inside_a_template_is_at_most_4096_characters() -> None:
    parse_template("x {{ " + "1" + " " * 4_094 + "}}")
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_template("x {{ " + "1" + " " * 4_095 + "}}")
    assert str(caught.value) == "expression is longer than 4,096 characters at column 5"


def test_a_template_is_at_most_65536_characters() -> None:
    parse_template("x" * 65_536)
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_template("x" * 65_537)
    assert str(caught.value) == "template is longer than 65,536 characters at column 65537"


def test_parsing_is_cached_and_the_template_knows_its_source() -> None:
    assert Template.parse("{{ a }}") is parse_template("{{ a }}")
    assert parse_template("{{ a }}").source == "{{ a }}"
    assert repr(parse_template("{{ a }}")) == "Template('{{ a }}')"


def test_template_source_that_is_not_text_is_caller_misuse() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_template(None)  # type: ignore[arg-type]

"""Rendering templates inside nested definitions and checking the names they read."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.expressions import (
    ExpressionError,
    ExpressionSyntaxError,
    check_template_names,
    parse_expression,
    render_value,
    split_reference,
)

SCOPE: dict[str, Any] = {
    "params": {"user": "alice", "hours": 8, "groups": ["vpn"]},
    "steps": {"lookup": {"output": {"dn": "cn=alice,ou=staff"}}},
}


def test_render_value_renders_every_string_and_keeps_types() -> None:
    definition = {
        "user": "{{ params.user }}",
        "expires_in": "{{ params.hours * 60 }}",
        "groups": ["{{ params.groups }}", "static", 3, None, True],
        "note": "moved {{ steps.lookup.output.dn }}",
        "{{ key }}": "keys are not templates",
        "nested": {"deeper": [{"x": "{{ params.hours }}"}]},
    }
    assert render_value(definition, SCOPE) == {
        "user": "alice",
        "expires_in": 480,
        "groups": [["vpn"], "static", 3, None, True],
        "note": "moved cn=alice,ou=staff",
        "{{ key }}": "keys are not templates",
        "nested": {"deeper": [{"x": 8}]},
    }


def test_render_value_returns_a_new_structure() -> None:
    definition: dict[str, Any] = {"a": ["{{ params.user }}"]}
    rendered = render_value(definition, SCOPE)
    rendered["a"].append("more")
    assert definition == {"a": ["{{ params.user }}"]}


def test_render_value_of_a_plain_string_is_that_string_rendered() -> None:
    assert render_value("{{ params.hours }}", SCOPE) == 8


def _deep(levels: int) -> Any:
    value: Any = "{{ params.user }}"
    for _ in range(levels):
        value = [value]
    return value


def test_render_value_walks_at_most_64_levels() -> None:
    render_value(_deep(64), SCOPE)
    with pytest.raises(ExpressionError) as caught:
        render_value(_deep(65), SCOPE)
    assert str(caught.value) == "value is nested more than 64 levels deep"


def test_check_template_names_reports_only_the_unknown_references() -> None:
    definition = {
        "user": "{{ params.user }}",
        "dn": "{{ steps.lookup.output.dn }}",
        "later": "{{ steps['tell-user'].output.sent }}",
        "whole": "{{ size(steps) }}",
        "when": ["{{ execution.actor }}", "{{ ticket.number }}"],
    }
    assert check_template_names(definition, ["params", "steps.lookup", "execution"]) == (
        'steps["tell-user"].output.sent',
        "ticket.number",
    )


def test_check_template_names_with_everything_known_is_empty() -> None:
    assert check_template_names({"a": "{{ params.user }}", "b": 1}, {"params"}) == ()


def test_a_known_name_is_matched_only_at_a_key_boundary() -> None:
    assert check_template_names("{{ paramsx.user }}", ["params"]) == ("paramsx.user",)
    assert check_template_names("{{ steps.lookup[0] }}", ["steps.lookup"]) == ()


def test_check_template_names_raises_for_a_template_that_does_not_parse() -> None:
    with pytest.raises(ExpressionSyntaxError, match=r"'\{\{' is not closed by '\}\}'"):
        check_template_names({"a": ["{{ params.user"]}, ["params"])


def test_check_template_names_walks_at_most_64_levels() -> None:
    assert check_template_names(_deep(64), ["params"]) == ()
    with pytest.raises(ExpressionError, match="nested more than 64 levels"):
        check_template_names(_deep(65), ["params"])


@pytest.mark.parametrize(
    ("reference", "keys"),
    [
        pytest.param("params", ("params",), id="a name"),
        pytest.param("steps.lookup.output", ("steps", "lookup", "output"), id="a dotted path"),
        pytest.param('m["a\\"b"]', ("m", 'a"b'), id="a quoted key with an escape"),
        pytest.param('steps["tell-user"].ok', ("steps", "tell-user", "ok"), id="a quoted key"),
        pytest.param("items[0][-1]", ("items", 0, -1), id="indices"),
    ],
)
def test_split_reference_gives_the_keys(reference: str, keys: tuple[str | int, ...]) -> None:
    assert split_reference(reference) == keys


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a +", id="not an expression"),
        pytest.param("a + b", id="not a path"),
        pytest.param("size(a).b", id="a path from a call"),
        pytest.param("a[b]", id="a computed subscript"),
        pytest.param("[0]", id="no root"),
    ],
)
def test_split_reference_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a reference$"):
        split_reference(text)


@pytest.mark.parametrize(
    ("text", "references"),
    [
        pytest.param("steps.reset.output.ok", {"steps.reset.output.ok"}, id="a dotted path"),
        pytest.param("ticket[field].x == 1", {"ticket", "field"},
                     id="up to a computed subscript"),
        pytest.param("m[b'k'].x && m[1.5]", {"m"}, id="bytes and double keys are computed"),
        pytest.param("items[0].name + steps['tell-user'].output",
                     {"items[0].name", 'steps["tell-user"].output'}, id="indices and quoted keys"),
        pytest.param("params.user.startsWith('a')", {"params.user"}, id="up to a method call"),
        pytest.param("size(size) > 0 && type(x) == int", {"size", "x"},
                     id="a root called like a function, and type names"),
        pytest.param("(a).b + {'k': c}.k + [d][0].e", {"a", "c", "d"},
                     id="fields of what is not a root"),
        pytest.param("0x1F + 2.5e3 + 3u + .5 // a comment\n + z", {"z"},
                     id="numbers and a comment"),
    ],
)  # fmt: skip
def test_references_list_the_paths_read_from_the_scope(text: str, references: set[str]) -> None:
    assert parse_expression(text).references == references

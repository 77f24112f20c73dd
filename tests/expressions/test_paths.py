"""Paths into the scope: keys, indices, missing names and values that cannot be read."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest

from gateway.expressions import ExpressionEvaluationError, UndefinedNameError, parse_expression
from tests.expressions import Secret, evaluate

SCOPE: dict[str, Any] = {
    "request": {"user": "alice", "tags": ["vpn", "urgent"]},
    "ticket": {"custom field": "blue", "priority": 2, "assignee": None, "if": "kw"},
    "steps": {"reset": {"output": {"ok": True}}},
    "items": [{"name": "first"}, {"name": "second"}],
    "key": "custom field",
    "i": 1,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("request.user", "alice", id="a dotted key"),
        pytest.param("steps.reset.output.ok", True, id="a long dotted path"),
        pytest.param('ticket["custom field"]', "blue", id="a quoted key"),
        pytest.param("ticket['priority']", 2, id="a quoted identifier key"),
        pytest.param("items[0].name", "first", id="an index then a key"),
        pytest.param("items[-1].name", "second", id="a negative index"),
        pytest.param("request.tags[1]", "urgent", id="an index into a nested list"),
        pytest.param("ticket[key]", "blue", id="a key computed from the scope"),
        pytest.param("items[i]['name']", "second", id="an index computed from the scope"),
        pytest.param("items[i - 1].name", "first", id="an index computed by arithmetic"),
        pytest.param("ticket.if", "kw", id="a key spelled like a keyword"),
        pytest.param("ticket.assignee", None, id="a null value"),
        pytest.param("[10, 20][1]", 20, id="an index into a list literal"),
        pytest.param("(request).user", "alice", id="a key of a parenthesized name"),
        pytest.param("split('a b', ' ')[1]", "b", id="an index into a function result"),
    ],
)
def test_path_reads_the_scope(text: str, expected: Any) -> None:
    assert evaluate(text, **SCOPE) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("nobody", "nobody is not defined", id="a missing name"),
        pytest.param(
            "steps.reset.output.missing",
            "steps.reset.output.missing is not defined",
            id="a missing last key",
        ),
        pytest.param(
            "steps.other.output.ok",
            "steps.other.output.ok is not defined",
            id="a missing middle key",
        ),
        pytest.param("absent.a.b", "absent.a.b is not defined", id="a missing root"),
        pytest.param("items[5].name", "items[5].name is not defined", id="an index past the end"),
        pytest.param("items[-3]", "items[-3] is not defined", id="an index before the start"),
        pytest.param(
            "ticket.assignee.name",
            "ticket.assignee.name is not defined",
            id="a key of a null value",
        ),
        pytest.param('ticket["no such"]', 'ticket["no such"] is not defined', id="a quoted key"),
        pytest.param(
            "ticket[request.user]", "ticket[request.user] is not defined", id="a computed key"
        ),
        pytest.param("__class__", "__class__ is not defined", id="a dunder name"),
        pytest.param(
            "request.__class__", "request.__class__ is not defined", id="a dunder key of a dict"
        ),
        pytest.param("[1][3]", "[1][3] is not defined", id="an index into a list literal"),
    ],
)
def test_missing_path_is_undefined_and_named_in_full(text: str, message: str) -> None:
    with pytest.raises(UndefinedNameError) as caught:
        evaluate(text, **SCOPE)
    assert str(caught.value) == message
    assert caught.value.path == message.removesuffix(" is not defined")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "ticket.priority.level",
            "cannot read .level of ticket.priority: found int, not a dict or list",
            id="a key of an int",
        ),
        pytest.param(
            "request.user[0]",
            "cannot read [0] of request.user: found string, not a dict or list",
            id="an index into a string",
        ),
        pytest.param(
            "items.name", "items is a list: use an int index, found string", id="a key of a list"
        ),
        pytest.param("ticket[0]", "ticket is a dict: use a string key, found int", id="int key"),
        pytest.param(
            "items[1.5]", "a subscript needs a string or an int, found float", id="a float index"
        ),
        pytest.param(
            "items[true]", "a subscript needs a string or an int, found bool", id="a bool index"
        ),
        pytest.param(
            "token.value",
            "cannot read .value of token: found opaque value (Secret), not a dict or list",
            id="an attribute of an opaque value",
        ),
    ],
)
def test_path_into_a_value_that_is_not_a_container_is_an_error(text: str, message: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate(text, token=Secret("hunter2"), **SCOPE)
    assert str(caught.value) == message
    assert not isinstance(caught.value, UndefinedNameError)
    assert "hunter2" not in str(caught.value)


def test_an_opaque_value_can_be_read_and_passed_along() -> None:
    token = Secret("s3cret")
    assert evaluate("vault.token", vault={"token": token}) is token


def test_the_scope_may_be_any_mapping_and_nested_dicts_may_be_subclasses() -> None:
    scope = MappingProxyType({"ticket": OrderedDict(number=7)})
    assert parse_expression("ticket.number").evaluate(scope) == 7


def test_a_scope_that_is_not_a_mapping_is_caller_misuse() -> None:
    with pytest.raises(TypeError, match="must be a mapping"):
        parse_expression("a").evaluate(["a"])  # type: ignore[arg-type]

"""Evaluating conditions and values: bool conditions, missing names, and errors that name
the expression but never a value of the scope."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from gateway.expressions import (
    ExpressionEvaluationError,
    Scope,
    UndefinedNameError,
    parse_expression,
)
from tests.expressions import SECRET, evaluate


@pytest.mark.parametrize(
    ("text", "scope", "value"),
    [
        pytest.param("ticket.priority <= 2 && 'vpn' in ticket.tags", {"ticket": {"priority": 1,
                     "tags": ["vpn"]}}, True, id="a condition"),
        pytest.param("has(params.hours) ? params.hours : 8", {"params": {}}, 8,
                     id="has() and a ternary instead of default()"),
        pytest.param("target != null && has(target.manager) ? target.manager : 'none'",
                     {"target": None}, "none", id="a null target"),
        pytest.param("result.status_code == 407", {"result": {"status_code": None}}, False,
                     id="null compared with an int"),
        pytest.param("1 == 1.0", {}, True, id="numbers of two types"),
        pytest.param("steps['tell-user'].output.sent", {"steps": {"tell-user": {"output":
                     {"sent": True}}}}, True, id="a key that is not a name"),
        pytest.param("[a, 'x']", {"a": (1, 2)}, [[1, 2], "x"], id="a tuple reads as a list"),
    ],
)  # fmt: skip
def test_values(text: str, scope: dict[str, Any], value: Any) -> None:
    assert parse_expression(text).evaluate(scope) == value


def test_a_condition_must_be_a_bool() -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        parse_expression("params.user").evaluate_bool({"params": {"user": SECRET}})

    assert str(caught.value) == "`params.user`: a condition must be a bool, found string"


@pytest.mark.parametrize(
    ("text", "scope", "path"),
    [
        pytest.param("steps.unlock.output.changed", {"steps": {}}, "steps.unlock.output.changed",
                     id="a step that did not run"),
        pytest.param("param.user == 'tom'", {"params": {}}, "param.user", id="a root not there"),
        pytest.param("target.privileged", {"target": None}, "target.privileged",
                     id="a field of null"),
        pytest.param("items[2] == 1", {"items": [1]}, "items[2]", id="an index past the end"),
        pytest.param("items[0].x", {"items": [{}]}, "items[0].x", id="a key of an item"),
    ],
)  # fmt: skip
def test_a_missing_name_is_named_by_its_whole_path(
    text: str, scope: dict[str, Any], path: str
) -> None:
    with pytest.raises(UndefinedNameError) as caught:
        parse_expression(text).evaluate(scope)

    assert caught.value.path == path
    assert str(caught.value) == f"{path} is not defined"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("params.password + 1",
                     "`params.password + 1`: no operation string + int: CEL does not convert types",
                     id="a string plus an int"),
        pytest.param("int(params.password) > 0", "`int(params.password) > 0`: int() failed on its "
                     "argument", id="int() of a string"),
        pytest.param("params.number + 1", "`params.number + 1`: integer result is out of range "
                     "(64-bit)", id="an overflow"),
        pytest.param("1 / params.zero", "`1 / params.zero`: division by zero", id="by zero"),
        pytest.param("params.user.size() > params.password", "`params.user.size() > "
                     "params.password`: no operation or function for these types: CEL does not "
                     "convert types", id="comparing an int with a string"),
        pytest.param("{'a': 1}[params.password] == 1", "`{'a': 1}[params.password] == 1`: a key "
                     "or index is not there", id="a key computed from a secret"),
        pytest.param("text(b'x') == ''", "`text(b'x') == ''`: text() failed on its argument",
                     id="text() of bytes"),
        pytest.param("vault.token == ''", "`vault.token == ''`: vault holds a value that is not "
                     "plain data (SecretStr)", id="an opaque value"),
    ],
)  # fmt: skip
def test_errors_name_the_expression_and_never_a_value(text: str, message: str) -> None:
    scope = {
        "params": {
            "user": "tom",
            "password": SECRET,
            "number": 9_223_372_036_854_775_807,
            "zero": 0,
        },
        "vault": {"token": SecretStr(SECRET)},
    }

    with pytest.raises(ExpressionEvaluationError) as caught:
        parse_expression(text).evaluate(scope)

    assert str(caught.value) == message
    assert SECRET not in str(caught.value)


def test_a_root_the_expression_does_not_read_may_hold_anything() -> None:
    scope = {"params": {"user": "tom"}, "vault": SecretStr(SECRET), "odd": object()}

    assert evaluate("params.user", **scope) == "tom"


def test_a_map_with_keys_cel_cannot_hold_is_named() -> None:
    with pytest.raises(ExpressionEvaluationError, match="a key CEL cannot hold"):
        evaluate("m.size()", m={(1, 2): "pair"})


def test_the_scope_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="must be a mapping"):
        parse_expression("a").evaluate(["a"])  # type: ignore[arg-type]


def test_a_shared_scope_converts_each_root_once_and_reads_like_a_mapping() -> None:
    scope = Scope({"params": {"user": "tom"}, "execution": {"actor": "elena"}})

    assert parse_expression("params.user").evaluate(scope) == "tom"
    assert parse_expression("execution.actor + params.user").evaluate(scope) == "elenatom"
    assert parse_expression("has(params.user)").evaluate_bool(scope) is True
    assert dict(scope) == {"params": {"user": "tom"}, "execution": {"actor": "elena"}}
    assert len(scope) == 2


def test_a_shared_scope_refuses_an_opaque_root_each_time_it_is_read() -> None:
    scope = Scope({"token": SecretStr(SECRET), "user": "tom"})

    for _ in range(2):
        with pytest.raises(ExpressionEvaluationError, match="token holds a value"):
            parse_expression("token == ''").evaluate(scope)
    assert parse_expression("user").evaluate(scope) == "tom"


def test_expressions_are_compiled_once_per_text() -> None:
    assert parse_expression("a == 1") is parse_expression("a == 1")
    assert repr(parse_expression("a == 1")) == "Expression('a == 1')"


def test_only_text_is_compiled() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_expression(1)  # type: ignore[arg-type]

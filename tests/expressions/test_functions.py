"""The whitelisted functions, their results and their errors."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.expressions import ExpressionEvaluationError
from tests.expressions import Secret, evaluate

SCOPE: dict[str, Any] = {
    "ticket": {"text": "  VPN is down  ", "tags": ["vpn", "urgent"], "assignee": None},
    "request": {"user": "alice"},
    "groups": {"helpdesk": ["bob"], "security": ["carol"]},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("len('abc')", 3, id="len of a string"),
        pytest.param("len(ticket.tags)", 2, id="len of a list"),
        pytest.param("len(groups)", 2, id="len of a dict"),
        pytest.param("lower('VPN')", "vpn", id="lower"),
        pytest.param("upper('vpn')", "VPN", id="upper"),
        pytest.param("trim(ticket.text)", "VPN is down", id="trim"),
        pytest.param("startswith('INC0012', 'INC')", True, id="startswith"),
        pytest.param("endswith('laptop-01', '-02')", False, id="endswith of an int"),
        pytest.param("contains(ticket.tags, 'vpn')", True, id="contains an item"),
        pytest.param("contains('printer jam', 'jam')", True, id="contains a substring"),
        pytest.param("default(ticket.assignee, 'helpdesk')", "helpdesk", id="default of null"),
        pytest.param(
            "default(ticket.queue, 'helpdesk')", "helpdesk", id="default of a missing key"
        ),
        pytest.param("default(nothing.at.all, 0)", 0, id="default of a missing root"),
        pytest.param("default(request.user, 'x')", "alice", id="default of a present value"),
        pytest.param("default(false, true)", False, id="default keeps false"),
        pytest.param("defined(request.user)", True, id="defined"),
        pytest.param("defined(ticket.assignee)", True, id="a null value is defined"),
        pytest.param("defined(ticket.assignee.name)", False, id="a key of null is not defined"),
        pytest.param("defined(nobody)", False, id="a missing name is not defined"),
        pytest.param("defined(ticket.tags[5])", False, id="an index past the end is not defined"),
        pytest.param("int('42')", 42, id="int of a string"),
        pytest.param("int(' -7 ')", -7, id="int of a padded negative string"),
        pytest.param("int(3.9)", 3, id="int truncates a float"),
        pytest.param("int(-3.9)", -3, id="int truncates toward zero"),
        pytest.param("int(true)", 1, id="int of true"),
        pytest.param("int(5)", 5, id="int of an int"),
        pytest.param("float('2.5')", 2.5, id="float of a string"),
        pytest.param("float('1e3')", 1000.0, id="float of an exponent string"),
        pytest.param("float('.5')", 0.5, id="float of a string without a leading digit"),
        pytest.param("float(2)", 2.0, id="float of an int"),
        pytest.param("float(false)", 0.0, id="float of false"),
        pytest.param("str(12)", "12", id="str of an int"),
        pytest.param("str(1.5)", "1.5", id="str of a float"),
        pytest.param("str(true)", "true", id="str of a bool"),
        pytest.param("str(null)", "", id="str of null"),
        pytest.param("str(ticket.tags)", '["vpn","urgent"]', id="str of a list"),
        pytest.param("bool('Yes')", True, id="bool of yes"),
        pytest.param("bool(' off ')", False, id="bool of off"),
        pytest.param("bool('')", False, id="bool of an empty string"),
        pytest.param("bool(0)", False, id="bool of zero"),
        pytest.param("bool(0.5)", True, id="bool of a nonzero float"),
        pytest.param("bool(null)", False, id="bool of null"),
        pytest.param("bool(true)", True, id="bool of true"),
        pytest.param("bool([])", False, id="bool of an empty list"),
        pytest.param("bool(groups)", True, id="bool of a dict"),
        pytest.param("round(2.5)", 2, id="round halves to even"),
        pytest.param("round(3.5)", 4, id="round halves to even upward"),
        pytest.param("round(7)", 7, id="round of an int"),
        pytest.param("round(3.14159, 2)", 3.14, id="round to digits"),
        pytest.param("round(1234, -2)", 1200, id="round an int to hundreds"),
        pytest.param("min(3, 1, 2)", 1, id="min of arguments"),
        pytest.param("max([3, 1.5, 2])", 3, id="max of a list"),
        pytest.param("min(['b', 'a'])", "a", id="min of strings"),
        pytest.param("max([7])", 7, id="max of one item"),
        pytest.param("any([false, true])", True, id="any"),
        pytest.param("any([])", False, id="any of nothing"),
        pytest.param("all([true, true])", True, id="all"),
        pytest.param("all([])", True, id="all of nothing"),
        pytest.param("join(ticket.tags, ', ')", "vpn, urgent", id="join strings"),
        pytest.param("join([1, null, true], '-')", "1--true", id="join renders items as text"),
        pytest.param("join([], ',')", "", id="join nothing"),
        pytest.param("split('a,b,,c', ',')", ["a", "b", "", "c"], id="split by a separator"),
        pytest.param("split('  a  b ')", ["a", "b"], id="split by whitespace"),
        pytest.param("replace('a-b-c', '-', '/')", "a/b/c", id="replace with an int"),
        pytest.param("replace('ab', '', '.')", ".a.b.", id="replace the empty string"),
        pytest.param("keys(groups)", ["helpdesk", "security"], id="keys"),
        pytest.param("values(groups)", [["bob"], ["carol"]], id="values"),
        pytest.param("matches('INC0012345', '^INC[0-9]{7}$')", True, id="matches"),
        pytest.param("matches('Printer', '(?i)printer')", True, id="matches with inline flags"),
        pytest.param("matches('vpn', 'x')", False, id="matches nothing"),
    ],
)
def test_function(text: str, expected: Any) -> None:
    result = evaluate(text, **SCOPE)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("len(5)", "len() needs a string, list or dict, found int", id="len of an int"),
        pytest.param("lower(1)", "lower() needs a string, found int", id="lower of an int"),
        pytest.param("upper(null)", "upper() needs a string, found null", id="upper of null"),
        pytest.param("trim([])", "trim() needs a string, found list", id="trim of a list"),
        pytest.param(
            "startswith('a', 1)",
            "startswith() needs a string, found int",
            id="startswith with an int prefix",
        ),
        pytest.param(
            "endswith(1, 'a')", "endswith() needs a string, found int", id="endswith of an int"
        ),
        pytest.param(
            "contains(1, 1)",
            "'in' needs a string, list or dict on the right, found int",
            id="contains in an int",
        ),
        pytest.param(
            "int('4x')", "int() cannot convert this string: not a whole number", id="int of text"
        ),
        pytest.param(
            "int('1' + '0' * 1)",
            "'*' needs two numbers, found string and int",
            id="no string repetition to build numbers",
        ),
        pytest.param(
            "int('99999999999999999999')",
            "integer result is out of range (64-bit signed)",
            id="int of a huge string",
        ),
        pytest.param(
            "int(1e300)", "integer result is out of range (64-bit signed)", id="int of a huge float"
        ),
        pytest.param(
            "int([])", "int() needs a number, string or bool, found list", id="int of a list"
        ),
        pytest.param(
            "float('nan')", "float() cannot convert this string: not a number", id="float of nan"
        ),
        pytest.param("float('1e999')", "number result is not finite", id="float of a huge string"),
        pytest.param(
            "float(null)", "float() needs a number, string or bool, found null", id="float of null"
        ),
        pytest.param(
            "bool('maybe')",
            "bool() cannot convert this string: expected true, false, yes, no, on, off, 1 or 0",
            id="bool of an unknown word",
        ),
        pytest.param("round('1')", "round() needs a number, found string", id="round of text"),
        pytest.param(
            "round(1.5, 1.5)",
            "round() needs an int number of digits, found float",
            id="round to fractional digits",
        ),
        pytest.param(
            "round(1, 16)", "round() digits must lie between -15 and 15", id="round too far"
        ),
        pytest.param(
            "round(1e300)",
            "integer result is out of range (64-bit signed)",
            id="round of a huge float",
        ),
        pytest.param("min([])", "min() of an empty list", id="min of nothing"),
        pytest.param("max(5)", "max() needs a list, found int", id="max of one non-list"),
        pytest.param(
            "min(1, 'a')", "cannot compare string with int using '<'", id="min of mixed kinds"
        ),
        pytest.param(
            "max([null])", "cannot compare null with null using '>'", id="max of one null"
        ),
        pytest.param(
            "any([1])", "any() needs a list of bools, found int in it", id="any of non-bools"
        ),
        pytest.param("all('ab')", "all() needs a list, found string", id="all of a string"),
        pytest.param("join('ab', ',')", "join() needs a list, found string", id="join a string"),
        pytest.param("join([], 1)", "join() needs a string, found int", id="join with an int"),
        pytest.param("split(1)", "split() needs a string, found int", id="split an int"),
        pytest.param(
            "split('a', '')", "split() separator must not be empty", id="split by nothing"
        ),
        pytest.param(
            "replace('a', 1, 'b')", "replace() needs a string, found int", id="replace with an int"
        ),
        pytest.param("keys([])", "keys() needs a dict, found list", id="keys of a list"),
        pytest.param("values('a')", "values() needs a dict, found string", id="values of text"),
        pytest.param("matches(1, 'a')", "matches() needs a string, found int", id="match an int"),
        pytest.param(
            "bool(token)",
            "bool() needs a plain value, found opaque value (Secret)",
            id="bool of an opaque value",
        ),
        pytest.param(
            "len(token)",
            "len() needs a string, list or dict, found opaque value (Secret)",
            id="len of an opaque value",
        ),
        pytest.param("str(token)", "cannot render an opaque value (Secret)", id="str of opaque"),
        pytest.param(
            "default(1 + 'a', 0)",
            "'+' needs two numbers, two strings or two lists, found int and string",
            id="default only forgives missing names",
        ),
    ],
)
def test_function_refuses_bad_arguments(text: str, message: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate(text, token=Secret("hunter2"), **SCOPE)
    assert str(caught.value) == message
    assert "hunter2" not in str(caught.value)


def test_float_of_an_int_too_large_for_a_float_is_an_error() -> None:
    with pytest.raises(ExpressionEvaluationError, match=r"^number result is out of range$"):
        evaluate("float(n)", n=10**400)


def test_int_of_a_scope_int_beyond_64_bits_is_an_error() -> None:
    with pytest.raises(ExpressionEvaluationError, match="out of range"):
        evaluate("int(n)", n=2**64)


def test_default_returns_an_opaque_value_untouched() -> None:
    token = Secret("x")
    assert evaluate("default(vault.token, '')", vault={"token": token}) is token

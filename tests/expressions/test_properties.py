"""Properties that hold for any input: parsing and evaluation fail only with the
language's own errors, and text rendering agrees with JSON."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from gateway.expressions import (
    Expression,
    ExpressionError,
    ExpressionSyntaxError,
    Template,
    parse_expression,
    parse_template,
    render_value,
)
from gateway.expressions.functions import ARITY
from tests.expressions import Secret, evaluate

NAMES = ["a", "b", "ticket", "items", "missing", "s"]
SYMBOLS = [*"abst_019.'\"\\[](){}<>=!&|+-*/%,: \n", "not ", " in ", " if ", " else ", "and"]

EXPRESSION_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(SYMBOLS), max_size=60).map("".join).filter(lambda t: len(t) <= 200),
)


def _parsed(text: str, parser: Any) -> Any:
    """What ``parser`` returns for ``text``, or the syntax error it raises."""
    try:
        return parser(text)
    except ExpressionSyntaxError as error:
        return error


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSION_TEXT)
def test_any_text_parses_or_raises_a_syntax_error(text: str) -> None:
    result = _parsed(text, parse_expression)
    if isinstance(result, ExpressionSyntaxError):
        assert result.column >= 1
        assert 0 <= result.position <= len(text)
    else:
        assert isinstance(result, Expression)
        assert result.source == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*SYMBOLS, "{{", "}}", "{{ a }}", " x "]), max_size=50))
def test_any_text_parses_as_a_template_or_raises_a_syntax_error(pieces: list[str]) -> None:
    text = "".join(pieces)
    result = _parsed(text, parse_template)
    if isinstance(result, ExpressionSyntaxError):
        assert 0 <= result.position <= len(text)
    else:
        assert isinstance(result, Template)


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


LEAVES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=8).map(_quoted),
    st.sampled_from(["true", "false", "null", "[]"]),
    st.sampled_from(NAMES),
    st.tuples(st.sampled_from(NAMES), st.sampled_from(["x", "y", "0", "if"])).map(".".join),
)
OPERATORS = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]
PLAIN_FUNCTIONS = sorted(set(ARITY) - {"defined", "matches"})


def _call(name: str, arguments: list[str]) -> str:
    least, most = ARITY[name]
    count = max(least, min(len(arguments), most if most is not None else len(arguments)))
    padded = (arguments * count)[:count] if arguments else ["1"] * count
    return f"{name}({', '.join(padded)})"


def _compound(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map(
            lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"
        ),
        children.map(lambda child: f"not ({child})"),
        children.map(lambda child: f"-({child})"),
        st.tuples(children, children, children).map(
            lambda parts: f"({parts[0]} if {parts[1]} else {parts[2]})"
        ),
        st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(st.sampled_from(PLAIN_FUNCTIONS), st.lists(children, min_size=1, max_size=3)).map(
            lambda parts: _call(*parts)
        ),
        st.tuples(children, st.sampled_from(["'a'", "'^x+$'", "'(?i)vpn'"])).map(
            lambda parts: f"matches({parts[0]}, {parts[1]})"
        ),
        st.sampled_from(NAMES).map(lambda name: f"defined({name}.x[0])"),
        st.tuples(children, children).map(lambda parts: f"({parts[0]})[{parts[1]}]"),
        st.tuples(children, st.sampled_from(["x", "y"])).map(lambda p: f"({p[0]}).{p[1]}"),
    )


EXPRESSIONS = st.recursive(LEAVES, _compound, max_leaves=12)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.builds(Secret, st.text(max_size=4)),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["x", "y", "0", "if", "other"]), children, max_size=4),
    ),
    max_leaves=15,
)
SCOPES = st.dictionaries(st.sampled_from(NAMES), JSON_VALUES, max_size=len(NAMES))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, SCOPES)
def test_any_expression_in_any_scope_evaluates_or_raises_an_expression_error(
    text: str, scope: dict[str, Any]
) -> None:
    try:
        expression = parse_expression(text)
    except ExpressionSyntaxError:
        reject()
    with contextlib.suppress(ExpressionError):
        expression.evaluate(scope)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, SCOPES)
def test_any_expression_in_a_template_renders_or_raises_an_expression_error(
    text: str, scope: dict[str, Any]
) -> None:
    try:
        template = parse_template(f"v={{{{ {text} }}}}")
    except ExpressionSyntaxError:
        reject()
    try:
        rendered = render_value({"k": [template.source]}, scope)
    except ExpressionError:
        pass
    else:
        assert isinstance(rendered["k"][0], str)


JSON_DATA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(st.one_of(st.lists(JSON_DATA, max_size=4), st.dictionaries(st.text(), JSON_DATA)))
def test_lists_and_dicts_render_as_compact_json(value: Any) -> None:
    text = evaluate("str(v)", v=value)
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert evaluate("v == w", v=value, w=json.loads(text)) is True


@settings(deadline=None)
@given(JSON_DATA)
def test_a_single_expression_template_returns_the_value_itself(value: Any) -> None:
    assert parse_template("{{ v }}").render({"v": value}) is value

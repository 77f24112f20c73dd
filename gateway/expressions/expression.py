"""Parsed expressions: ``parse_expression(text)`` once, ``evaluate(scope)`` many times."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from gateway.expressions.errors import ExpressionEvaluationError, ExpressionSyntaxError
from gateway.expressions.limits import MAX_EXPRESSION_LENGTH, PARSE_CACHE_SIZE
from gateway.expressions.nodes import Name, Node, Path
from gateway.expressions.parser import parse
from gateway.expressions.values import type_name

__all__ = ["Expression", "parse_expression", "split_reference"]


class Expression:
    """A parsed expression, immutable and safe to share between threads.

    ``source`` is the text as written and ``references`` the dotted paths it reads from
    the scope (``{"ticket.priority", "ticket.text"}``), up to the first computed subscript.
    """

    __slots__ = ("_node", "_references", "_source")

    def __init__(self, source: str, node: Node) -> None:
        self._source = source
        self._node = node
        found: set[str] = set()
        node.collect_references(found)
        self._references = frozenset(found)

    @classmethod
    def parse(cls, text: str) -> Expression:
        """The same as ``parse_expression(text)``."""
        return parse_expression(text)

    @property
    def source(self) -> str:
        return self._source

    @property
    def references(self) -> frozenset[str]:
        return self._references

    @property
    def node(self) -> Node:
        """The root of the syntax tree."""
        return self._node

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """The value of the expression with names looked up in ``scope``."""
        if not isinstance(scope, Mapping):
            raise TypeError("the scope of an expression must be a mapping")
        try:
            return self._node.evaluate(scope)
        except RecursionError:  # only when called with little stack left
            raise ExpressionEvaluationError("expression is nested too deeply to evaluate") from None

    def evaluate_bool(self, scope: Mapping[str, Any]) -> bool:
        """The value of a condition, which must be a bool."""
        value = self.evaluate(scope)
        if not isinstance(value, bool):
            raise ExpressionEvaluationError(f"condition must be a bool, found {type_name(value)}")
        return value

    def __repr__(self) -> str:
        return f"Expression({self._source!r})"


def parse_expression(text: str) -> Expression:
    """Parse ``text``; raise ``ExpressionSyntaxError`` with the column of the problem.

    Parses are cached by text, so the same definition is parsed once.
    """
    if not isinstance(text, str):
        raise TypeError("an expression must be a str")
    return _parse_expression(text)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_expression(text: str) -> Expression:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(
            f"expression is longer than {MAX_EXPRESSION_LENGTH:,} characters",
            text,
            MAX_EXPRESSION_LENGTH,
        )
    node, _, _ = parse(text)
    return Expression(text, node)


def split_reference(reference: str) -> tuple[str | int, ...]:
    """The keys and indices of a reference: ``steps["tell-user"].output`` gives
    ``("steps", "tell-user", "output")``.  Raises ``ValueError`` for anything that is not
    a reference as ``Expression.references`` writes them.
    """
    try:
        node = parse_expression(reference).node
    except ExpressionSyntaxError:
        raise ValueError("not a reference") from None
    if isinstance(node, Name):
        return (node.name,)
    if not isinstance(node, Path) or not isinstance(node.base, Name):
        raise ValueError("not a reference")
    keys: list[str | int] = [node.base.name]
    for step in node.steps:
        if step.key is None:
            raise ValueError("not a reference")
        keys.append(step.key)
    return tuple(keys)

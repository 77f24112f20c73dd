"""Expressions: ``parse_expression(text)`` once, at load; ``evaluate(scope)`` many times."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway.expressions import checks
from gateway.expressions.checks import split_reference
from gateway.expressions.engine import compile_cel, execute
from gateway.expressions.errors import ExpressionEvaluationError, ExpressionSyntaxError
from gateway.expressions.limits import MAX_EXPRESSION_LENGTH, PARSE_CACHE_SIZE
from gateway.expressions.text import type_name

if TYPE_CHECKING:
    import cel  # imported on first use: see compile_cel

__all__ = ["Expression", "compile_expression", "parse_expression", "split_reference"]


class Expression:
    """A compiled CEL expression, immutable and safe to share between threads.

    ``source`` is the text as written and ``references`` the dotted paths it reads from
    the scope (``{"ticket.priority", "ticket.text"}``), up to the first computed subscript.
    """

    __slots__ = ("_program", "_references", "_roots", "_source")

    def __init__(self, source: str, program: cel.Program, references: frozenset[str]) -> None:
        self._source = source
        self._program = program
        self._references = references
        self._roots = frozenset(str(split_reference(r)[0]) for r in references)

    @property
    def source(self) -> str:
        return self._source

    @property
    def references(self) -> frozenset[str]:
        return self._references

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """The value of the expression with names looked up in ``scope`` (a ``Scope`` shares
        its conversion between evaluations)."""
        if not isinstance(scope, Mapping):
            raise TypeError("the scope of an expression must be a mapping")
        return execute(self._program, self._source, self._roots, self._references, scope)

    def evaluate_bool(self, scope: Mapping[str, Any]) -> bool:
        """The value of a condition, which must be a bool."""
        value = self.evaluate(scope)
        if not isinstance(value, bool):
            raise ExpressionEvaluationError(
                f"`{self._source}`: a condition must be a bool, found {type_name(value)}"
            )
        return value

    def __repr__(self) -> str:
        return f"Expression({self._source!r})"


def parse_expression(text: str) -> Expression:
    """Compile and check ``text``; raise ``ExpressionSyntaxError`` with the column of the
    problem.  Compilations are cached by text, so a definition is compiled once."""
    if not isinstance(text, str):
        raise TypeError("an expression must be a str")
    return _parse_expression(text)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_expression(text: str) -> Expression:
    return compile_expression(text, text, 0)


def compile_expression(text: str, source: str, offset: int) -> Expression:
    """``text``, found at ``offset`` in ``source``, compiled and checked; errors give their
    position in ``source``."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(
            f"expression is longer than {MAX_EXPRESSION_LENGTH:,} characters",
            source,
            offset + MAX_EXPRESSION_LENGTH,
        )
    program = compile_cel(text, source, offset)
    try:
        references = checks.inspect(text, program)
    except checks.Refusal as refusal:
        raise ExpressionSyntaxError(refusal.problem, source, offset + refusal.offset) from None
    return Expression(text.strip(), program, references)

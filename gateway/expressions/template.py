"""Templates: text with ``{{ expression }}`` parts, each a CEL expression.

An expression ends at the first ``}}`` outside its string literals and map braces, so
``{{ '}}' }}`` and ``{{ {'a': {'b': 1}}['a'] }}`` work.  A template that is exactly one
``{{ expression }}`` (whitespace around it allowed) renders to the expression's value with
its type kept: this is how workflow parameters pass ints and lists.  Any other template
renders to text, each value written as ``text.to_text`` describes.  ``{{ '{{' }}`` writes a
literal ``{{``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from gateway.expressions.engine import Scope
from gateway.expressions.errors import ExpressionEvaluationError, ExpressionSyntaxError
from gateway.expressions.expression import Expression, compile_expression
from gateway.expressions.limits import MAX_TEMPLATE_LENGTH, MAX_TEXT_LENGTH, PARSE_CACHE_SIZE
from gateway.expressions.text import to_text
from gateway.expressions.tokens import string_end

__all__ = ["Template", "parse_template"]


class Template:
    """A compiled template, immutable and safe to share between threads."""

    __slots__ = ("_parts", "_references", "_single", "_source")

    def __init__(self, source: str, parts: tuple[str | Expression, ...]) -> None:
        self._source = source
        self._parts = parts
        expressions = [part for part in parts if isinstance(part, Expression)]
        texts = [part for part in parts if isinstance(part, str)]
        single = len(expressions) == 1 and all(text.strip() == "" for text in texts)
        self._single = expressions[0] if single else None
        self._references = frozenset().union(*(part.references for part in expressions))

    @property
    def source(self) -> str:
        return self._source

    @property
    def references(self) -> frozenset[str]:
        """The dotted paths every expression of the template reads from the scope."""
        return self._references

    @property
    def expressions(self) -> tuple[Expression, ...]:
        return tuple(part for part in self._parts if isinstance(part, Expression))

    def render(self, scope: Mapping[str, Any]) -> Any:
        """The typed value of a single-expression template, otherwise the rendered text."""
        if self._single is not None:
            return self._single.evaluate(scope)
        shared = scope if isinstance(scope, Scope) else Scope(scope)
        pieces: list[str] = []
        size = 0
        for part in self._parts:
            piece = part if isinstance(part, str) else to_text(part.evaluate(shared))
            size += len(piece)
            if size > MAX_TEXT_LENGTH:
                raise ExpressionEvaluationError(
                    f"rendered text is longer than {MAX_TEXT_LENGTH:,} characters"
                )
            pieces.append(piece)
        return "".join(pieces)

    def __repr__(self) -> str:
        return f"Template({self._source!r})"


def parse_template(text: str) -> Template:
    """Compile and check every expression of ``text``; errors give the line and column
    within the template.  Compilations are cached by text."""
    if not isinstance(text, str):
        raise TypeError("a template must be a str")
    return _parse_template(text)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_template(text: str) -> Template:
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise ExpressionSyntaxError(
            f"template is longer than {MAX_TEMPLATE_LENGTH:,} characters", text, MAX_TEMPLATE_LENGTH
        )
    parts: list[str | Expression] = []
    position = 0
    while (opening := text.find("{{", position)) >= 0:
        if opening > position:
            parts.append(text[position:opening])
        inner = opening + 2
        closing = _expression_end(text, inner)
        parts.append(compile_expression(text[inner:closing], text, inner))
        position = closing + 2
    if position < len(text):
        parts.append(text[position:])
    return Template(text, tuple(parts))


def _expression_end(text: str, index: int) -> int:
    """The index of the ``}}`` that closes the expression starting at ``index``."""
    depth = 0
    while index < len(text):
        char = text[index]
        if char in "'\"":
            end = string_end(text, index)
            if end > len(text):
                raise ExpressionSyntaxError("string literal is not closed", text, index)
            index = end
            continue
        if char == "}" and depth == 0 and text.startswith("}}", index):
            return index
        depth += {"{": 1, "}": -1}.get(char, 0)
        index += 1
    raise ExpressionSyntaxError("'{{' is not closed by '}}'", text, len(text))

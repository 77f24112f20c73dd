"""Templates: text with ``{{ expression }}`` parts.

A template that is exactly one ``{{ expression }}`` (whitespace around it allowed) renders
to the expression's value with its type kept: this is how workflow parameters pass ints,
lists and even opaque values such as secrets.  Any other template renders to text, each
value interpolated as ``values.to_text`` describes.  ``{{ '{{' }}`` writes a literal ``{{``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from gateway.expressions.errors import ExpressionSyntaxError
from gateway.expressions.expression import Expression
from gateway.expressions.limits import (
    MAX_EXPRESSION_LENGTH,
    MAX_STRING_LENGTH,
    MAX_TEMPLATE_LENGTH,
    PARSE_CACHE_SIZE,
)
from gateway.expressions.parser import parse
from gateway.expressions.values import string_too_long, to_text

__all__ = ["Template", "parse_template"]


class Template:
    """A parsed template, immutable and safe to share between threads."""

    __slots__ = ("_parts", "_references", "_single", "_source")

    def __init__(self, source: str, parts: tuple[str | Expression, ...]) -> None:
        self._source = source
        self._parts = parts
        expressions = [part for part in parts if isinstance(part, Expression)]
        texts = [part for part in parts if isinstance(part, str)]
        single = len(expressions) == 1 and all(text.strip() == "" for text in texts)
        self._single = expressions[0] if single else None
        self._references = frozenset().union(*(part.references for part in expressions))

    @classmethod
    def parse(cls, text: str) -> Template:
        """The same as ``parse_template(text)``."""
        return parse_template(text)

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
        pieces: list[str] = []
        size = 0
        for part in self._parts:
            piece = part if isinstance(part, str) else to_text(part.evaluate(scope))
            size += len(piece)
            if size > MAX_STRING_LENGTH:
                raise string_too_long()
            pieces.append(piece)
        return "".join(pieces)

    def __repr__(self) -> str:
        return f"Template({self._source!r})"


def parse_template(text: str) -> Template:
    """Parse ``text``; syntax errors give line and column within the template.

    Parses are cached by text, so the same definition is parsed once.
    """
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
        node, closing, position = parse(text, inner, in_template=True)
        if closing - inner > MAX_EXPRESSION_LENGTH:
            raise ExpressionSyntaxError(
                f"expression is longer than {MAX_EXPRESSION_LENGTH:,} characters", text, inner
            )
        parts.append(Expression(text[inner:closing].strip(), node))
    if position < len(text):
        parts.append(text[position:])
    return Template(text, tuple(parts))

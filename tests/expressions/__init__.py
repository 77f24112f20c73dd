"""Tests of the expression and template language."""

from __future__ import annotations

from typing import Any

from gateway.expressions import parse_expression


def evaluate(source: str, /, **scope: Any) -> Any:
    """Parse ``source`` and evaluate it in a scope built from the keyword arguments."""
    return parse_expression(source).evaluate(scope)


class Secret:
    """A stand-in for an opaque value such as a pydantic ``SecretStr``."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('**********')"

"""Tests of the CEL conditions and templates of definitions."""

from __future__ import annotations

from typing import Any

from gateway.expressions import parse_expression

SECRET = "S3cret-Hunter2"
"""A value in the scope that no message may show."""


def evaluate(source: str, /, **scope: Any) -> Any:
    """Compile ``source`` and evaluate it in a scope built from the keyword arguments."""
    return parse_expression(source).evaluate(scope)

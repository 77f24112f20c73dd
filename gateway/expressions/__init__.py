"""A small, safe expression and template language for definitions written in YAML.

Conditions (``ticket.priority <= 2 and 'vpn' in lower(ticket.text)``) and templates
(``Reset for {{ request.user }}``) are parsed once and evaluated against a scope of plain
JSON-like data, without ``eval``, attribute access, clocks or unbounded results.

See ``docs/expressions.md``.
"""

from gateway.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    UndefinedNameError,
)
from gateway.expressions.expression import Expression, parse_expression, split_reference
from gateway.expressions.nested import check_template_names, render_value
from gateway.expressions.template import Template, parse_template

__all__ = [
    "Expression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "Template",
    "UndefinedNameError",
    "check_template_names",
    "parse_expression",
    "parse_template",
    "render_value",
    "split_reference",
]

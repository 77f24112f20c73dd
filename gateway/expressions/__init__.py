"""Conditions and templates of the YAML definitions, in CEL (Common Expression Language).

Conditions (``ticket.priority <= 2 && ticket.text.matches('(?i)vpn')``) and templates
(``Reset for {{ request.user }}``) are compiled once, when their definition loads, by the
``common-expression-language`` library, checked by the gateway (length caps, allowed
functions, no comprehension macros, ``matches()`` patterns) and evaluated against a scope of
plain JSON-like data.  See ``docs/expressions.md`` and ``docs/adr/0009``.
"""

from gateway.expressions.engine import Scope
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
    "Scope",
    "Template",
    "UndefinedNameError",
    "check_template_names",
    "parse_expression",
    "parse_template",
    "render_value",
    "split_reference",
]

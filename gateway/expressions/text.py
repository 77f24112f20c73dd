"""How a template writes a value as text, and the names of value types in messages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from gateway.expressions.errors import ExpressionEvaluationError

__all__ = ["to_text", "type_name"]

_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "bool",
    int: "int",
    float: "double",
    str: "string",
    bytes: "bytes",
    list: "list",
    dict: "map",
    datetime: "timestamp",
    timedelta: "duration",
}


def type_name(value: Any) -> str:
    """The CEL name of the type of ``value``; other values name their class."""
    names = (name for kind, name in _NAMES.items() if isinstance(value, kind))
    return next(names, type(value).__name__)


def to_text(value: Any) -> str:
    """The text a template writes for ``value``: ``null`` is empty, bools ``true``/``false``,
    numbers as Python writes them, strings as they are, lists and maps as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | dict):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            raise ExpressionEvaluationError(
                f"cannot write this {type_name(value)} as text"
            ) from None
    raise ExpressionEvaluationError(f"cannot write a {type_name(value)} as text")

"""Values of the expression language: their names, limits, text form and equality.

Plain values are ``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` and ``dict`` with
string keys.  Anything else is opaque: it may be passed along, but comparing it or turning
it into text raises an error that names only its type.
"""

from __future__ import annotations

import json
import math
from typing import Any, cast

from gateway.expressions.errors import ExpressionEvaluationError
from gateway.expressions.limits import (
    MAX_COMPARE_STEPS,
    MAX_INT,
    MAX_LIST_ITEMS,
    MAX_STRING_LENGTH,
    MIN_INT,
)

_SCALAR_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "bool",
    int: "int",
    float: "float",
    str: "string",
    list: "list",
    dict: "dict",
}

_EXACT_SCALARS = frozenset({type(None), bool, int, float, str})


def type_name(value: Any) -> str:
    """The language's name for the type of ``value``; opaque values name their class."""
    if value is None or isinstance(value, bool):
        return _SCALAR_NAMES[type(value)]
    for kind in (int, float, str, list, dict):
        if isinstance(value, kind):
            return _SCALAR_NAMES[kind]
    return f"opaque value ({type(value).__name__})"


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float (a bool is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_opaque(value: Any) -> bool:
    """Whether ``value`` is not one of the plain types."""
    return not (value is None or isinstance(value, bool | int | float | str | list | dict))


def check_number(value: int | float) -> int | float:
    """Return ``value`` if it is a 64-bit integer or a finite float."""
    if isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            raise ExpressionEvaluationError("integer result is out of range (64-bit signed)")
        return value
    if not math.isfinite(value):
        raise ExpressionEvaluationError("number result is not finite")
    return value


def string_too_long() -> ExpressionEvaluationError:
    """The error for a string beyond the length limit."""
    return ExpressionEvaluationError(
        f"string result is longer than {MAX_STRING_LENGTH:,} characters"
    )


def check_string(value: str) -> str:
    """Return ``value`` if it is within the string length limit."""
    if len(value) > MAX_STRING_LENGTH:
        raise string_too_long()
    return value


def check_list(value: list[Any]) -> list[Any]:
    """Return ``value`` if it is within the list length limit."""
    if len(value) > MAX_LIST_ITEMS:
        raise ExpressionEvaluationError(f"list result has more than {MAX_LIST_ITEMS:,} items")
    return value


def opaque_error(value: Any, action: str) -> ExpressionEvaluationError:
    """The error for using an opaque value; ``action`` is e.g. ``compare`` or ``render``."""
    return ExpressionEvaluationError(f"cannot {action} an {type_name(value)}")


def to_text(value: Any) -> str:
    """The text a template interpolates for ``value``.

    ``null`` is empty, bools are ``true``/``false``, numbers are written as Python writes
    them, strings are themselves and lists and dicts are compact JSON.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list | dict):
        return to_json_text(value)
    return _scalar_json(value)


def _scalar_json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, str):
        check_string(value)
        return json.dumps(str.__str__(value), ensure_ascii=False)
    raise opaque_error(value, "render")


class _JsonWriter:
    """Collects JSON text and stops as soon as it exceeds the string length limit."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_STRING_LENGTH:
            raise string_too_long()
        self.parts.append(text)


def to_json_text(value: Any) -> str:
    """Compact JSON for ``value``, built without recursion and within the string limit."""
    out = _JsonWriter()
    # Each frame: the iterator over a container's items, whether it is a dict, and
    # whether an item has been written yet.
    stack: list[tuple[Any, bool, list[bool]]] = []

    def start(item: Any) -> None:
        if isinstance(item, list):
            out.write("[")
            stack.append((iter(item), False, [False]))
        elif isinstance(item, dict):
            out.write("{")
            stack.append((iter(item.items()), True, [False]))
        else:
            out.write(_scalar_json(item))

    start(value)
    end = object()
    while stack:
        items, is_dict, started = stack[-1]
        item = next(items, end)
        if item is end:
            out.write("}" if is_dict else "]")
            stack.pop()
            continue
        if started[0]:
            out.write(",")
        started[0] = True
        if is_dict:
            key, item = cast(tuple[Any, Any], item)
            if not isinstance(key, str):
                raise ExpressionEvaluationError(
                    f"cannot render a dict with a key that is not a string ({type_name(key)})"
                )
            out.write(_scalar_json(key) + ":")
        start(item)
    return "".join(out.parts)


def values_equal(left: Any, right: Any) -> bool:
    """Strict equality: same kind of value (ints and floats are both numbers), same content.

    ``1 == true`` is false and ``1 == 1.0`` is true.  Opaque values cannot be compared.
    """
    pending = [(left, right)]
    steps = 0
    while pending:
        steps += 1
        if steps > MAX_COMPARE_STEPS:
            raise ExpressionEvaluationError("values are too large to compare")
        a, b = pending.pop()
        kind = type(a)
        if kind is type(b) and kind in _EXACT_SCALARS:
            if a != b:
                return False
            continue
        for value in (a, b):
            if is_opaque(value):
                raise opaque_error(value, "compare")
        if is_number(a) and is_number(b):
            if a != b:
                return False
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif isinstance(a, dict) and isinstance(b, dict):
            if len(a) != len(b) or any(key not in b for key in a):
                return False
            pending.extend((a[key], b[key]) for key in a)
        elif type_name(a) != type_name(b) or a != b:
            return False
    return True

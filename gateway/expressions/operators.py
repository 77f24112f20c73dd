"""The operators of the language: arithmetic, comparison, membership and boolean tests.

Operands are never converted implicitly: ``1 + '1'`` and ``1 < 'a'`` are errors, and the
boolean operators accept only bools.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from gateway.expressions.errors import ExpressionEvaluationError
from gateway.expressions.values import (
    check_list,
    check_number,
    check_string,
    is_number,
    is_opaque,
    opaque_error,
    type_name,
    values_equal,
)

__all__ = ["arithmetic", "compare", "contains", "negate", "require_bool"]

_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def require_bool(value: Any, what: str) -> bool:
    """Return ``value`` if it is a bool; otherwise say that ``what`` needs one."""
    if not isinstance(value, bool):
        raise ExpressionEvaluationError(f"{what} needs a bool, found {type_name(value)}")
    return value


def arithmetic(symbol: str, left: Any, right: Any) -> Any:
    """``left <symbol> right`` for ``+ - * / %``; ``+`` also joins two strings or two lists."""
    if symbol == "+" and isinstance(left, str) and isinstance(right, str):
        return check_string(left + right)
    if symbol == "+" and isinstance(left, list) and isinstance(right, list):
        return check_list([*left, *right])
    if not (is_number(left) and is_number(right)):
        wanted = "two numbers, two strings or two lists" if symbol == "+" else "two numbers"
        raise ExpressionEvaluationError(
            f"'{symbol}' needs {wanted}, found {type_name(left)} and {type_name(right)}"
        )
    try:
        result = _ARITHMETIC[symbol](left, right)
    except ZeroDivisionError:
        raise ExpressionEvaluationError(f"'{symbol}' by zero") from None
    except OverflowError:
        raise ExpressionEvaluationError("number result is out of range") from None
    return check_number(result)


def negate(value: Any) -> Any:
    """``-value`` for a number."""
    if not is_number(value):
        raise ExpressionEvaluationError(f"'-' needs a number, found {type_name(value)}")
    return check_number(-value)


def compare(symbol: str, left: Any, right: Any) -> bool:
    """``left <symbol> right`` for ``== != < <= > >= in`` and ``not in``."""
    if symbol == "==":
        return values_equal(left, right)
    if symbol == "!=":
        return not values_equal(left, right)
    if symbol == "in":
        return contains(right, left)
    if symbol == "not in":
        return not contains(right, left)
    for value in (left, right):
        if is_opaque(value):
            raise opaque_error(value, "compare")
    both_numbers = is_number(left) and is_number(right)
    if not (both_numbers or (isinstance(left, str) and isinstance(right, str))):
        raise ExpressionEvaluationError(
            f"cannot compare {type_name(left)} with {type_name(right)} using '{symbol}'"
        )
    return _ORDERING[symbol](left, right)


def contains(container: Any, item: Any) -> bool:
    """``item in container``: a substring of a string, an item of a list or a key of a dict."""
    if isinstance(container, str):
        if not isinstance(item, str):
            raise ExpressionEvaluationError(
                f"'in' a string needs a string on the left, found {type_name(item)}"
            )
        return item in container
    if isinstance(container, list):
        return any(values_equal(item, candidate) for candidate in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    raise ExpressionEvaluationError(
        f"'in' needs a string, list or dict on the right, found {type_name(container)}"
    )

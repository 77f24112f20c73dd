"""The whitelist of functions an expression may call, with their argument counts.

``default``, ``defined`` and ``matches`` are evaluated by the call itself (they need the
unevaluated argument or a pattern compiled at parse time) and have no entry in
``IMPLEMENTATIONS``.  There is no clock and no randomness: evaluation is deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from gateway.expressions.errors import ExpressionEvaluationError
from gateway.expressions.limits import (
    MAX_LIST_ITEMS,
    MAX_MATCH_TEXT_LENGTH,
    MAX_ROUND_DIGITS,
    MAX_STRING_LENGTH,
)
from gateway.expressions.operators import compare, contains
from gateway.expressions.values import (
    check_list,
    check_number,
    check_string,
    is_number,
    string_too_long,
    to_text,
    type_name,
)

__all__ = ["ARITY", "IMPLEMENTATIONS", "arity_text", "search"]

ARITY: dict[str, tuple[int, int | None]] = {
    "len": (1, 1),
    "lower": (1, 1),
    "upper": (1, 1),
    "trim": (1, 1),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "contains": (2, 2),
    "matches": (2, 2),
    "default": (2, 2),
    "defined": (1, 1),
    "int": (1, 1),
    "float": (1, 1),
    "str": (1, 1),
    "bool": (1, 1),
    "round": (1, 2),
    "min": (1, None),
    "max": (1, None),
    "any": (1, 1),
    "all": (1, 1),
    "join": (2, 2),
    "split": (1, 2),
    "replace": (3, 3),
    "keys": (1, 1),
    "values": (1, 1),
}
"""Each function's least and greatest number of arguments (``None``: no greatest)."""

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", ""})


def arity_text(name: str) -> str:
    """How many arguments ``name`` takes, in words: ``1 argument``, ``1 or 2 arguments``."""
    least, most = ARITY[name]
    if most is None:
        return f"at least {least} argument{'s' if least > 1 else ''}"
    if least == most:
        return f"{least} argument{'s' if least > 1 else ''}"
    return f"{least} or {most} arguments"


def _fail(name: str, wanted: str, value: Any) -> ExpressionEvaluationError:
    return ExpressionEvaluationError(f"{name}() needs {wanted}, found {type_name(value)}")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(name, "a string", value)
    return value


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(name, "a list", value)
    return value


def _dict(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(name, "a dict", value)
    return value


def _len(value: Any) -> int:
    if not isinstance(value, str | list | dict):
        raise _fail("len", "a string, list or dict", value)
    return len(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return int(check_number(value))
    if isinstance(value, float):
        return int(check_number(math.trunc(check_number(value))))
    if isinstance(value, str):
        if _WHOLE_NUMBER.fullmatch(value.strip()) is None:
            raise ExpressionEvaluationError("int() cannot convert this string: not a whole number")
        return int(check_number(int(value.strip())))
    raise _fail("int", "a number, string or bool", value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if is_number(value):
        try:
            return float(check_number(float(value)))
        except OverflowError:
            raise ExpressionEvaluationError("number result is out of range") from None
    if isinstance(value, str):
        if len(value) > 400 or _DECIMAL.fullmatch(value.strip()) is None:
            raise ExpressionEvaluationError("float() cannot convert this string: not a number")
        return float(check_number(float(value.strip())))
    raise _fail("float", "a number, string or bool", value)


def _to_bool(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if is_number(value):
        return bool(value != 0)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise ExpressionEvaluationError(
            "bool() cannot convert this string: expected true, false, yes, no, on, off, 1 or 0"
        )
    if isinstance(value, list | dict):
        return bool(value)
    raise _fail("bool", "a plain value", value)


def _round(value: Any, digits: Any = None) -> int | float:
    if not is_number(value):
        raise _fail("round", "a number", value)
    if digits is None:
        return int(check_number(round(check_number(value))))
    if not (isinstance(digits, int) and not isinstance(digits, bool)):
        raise _fail("round", "an int number of digits", digits)
    if abs(digits) > MAX_ROUND_DIGITS:
        raise ExpressionEvaluationError(
            f"round() digits must lie between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}"
        )
    return check_number(round(value, digits))


def _extreme(name: str, pick: str, arguments: tuple[Any, ...]) -> Any:
    items = list(arguments)
    if len(items) == 1:
        items = _list(name, items[0])
    if not items:
        raise ExpressionEvaluationError(f"{name}() of an empty list")
    best = items[0]
    for item in items[1:]:
        if compare(pick, item, best):
            best = item
    if len(items) == 1:
        compare(pick, best, best)  # a single item must still be a number or a string
    return best


def _bools(name: str, value: Any) -> list[bool]:
    items = _list(name, value)
    for item in items:
        if not isinstance(item, bool):
            raise ExpressionEvaluationError(
                f"{name}() needs a list of bools, found {type_name(item)} in it"
            )
    return items


def _join(items: Any, separator: Any) -> str:
    listed = _list("join", items)
    between = _text("join", separator)
    texts: list[str] = []
    size = -len(between)
    for item in listed:
        texts.append(to_text(item))
        size += len(between) + len(texts[-1])
        if size > MAX_STRING_LENGTH:
            raise string_too_long()
    return between.join(texts)


def _split(text: Any, separator: Any = None) -> list[str]:
    whole = _text("split", text)
    if separator is not None and _text("split", separator) == "":
        raise ExpressionEvaluationError("split() separator must not be empty")
    return check_list(whole.split(separator, MAX_LIST_ITEMS))


def _replace(text: Any, old: Any, new: Any) -> str:
    whole, before, after = (_text("replace", value) for value in (text, old, new))
    count = len(whole) + 1 if before == "" else whole.count(before)
    if len(whole) + count * (len(after) - len(before)) > MAX_STRING_LENGTH:
        raise string_too_long()
    return whole.replace(before, after)


def search(text: Any, pattern: re.Pattern[str]) -> bool:
    """``matches(text, pattern)``: whether ``pattern`` is found anywhere in ``text``."""
    subject = _text("matches", text)
    if len(subject) > MAX_MATCH_TEXT_LENGTH:
        raise ExpressionEvaluationError(
            f"matches() text is longer than {MAX_MATCH_TEXT_LENGTH:,} characters"
        )
    return pattern.search(subject) is not None


IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "lower": lambda value: check_string(_text("lower", value).lower()),
    "upper": lambda value: check_string(_text("upper", value).upper()),
    "trim": lambda value: _text("trim", value).strip(),
    "startswith": lambda text, prefix: _text("startswith", text).startswith(
        _text("startswith", prefix)
    ),
    "endswith": lambda text, suffix: _text("endswith", text).endswith(_text("endswith", suffix)),
    "contains": contains,
    "int": _to_int,
    "float": _to_float,
    "str": lambda value: check_string(to_text(value)),
    "bool": _to_bool,
    "round": _round,
    "min": lambda *items: _extreme("min", "<", items),
    "max": lambda *items: _extreme("max", ">", items),
    "any": lambda items: any(_bools("any", items)),
    "all": lambda items: all(_bools("all", items)),
    "join": _join,
    "split": _split,
    "replace": _replace,
    "keys": lambda value: check_list(list(_dict("keys", value))),
    "values": lambda value: check_list(list(_dict("values", value).values())),
}

"""Regular expressions for ``matches()``: length-capped, checked and compiled at parse time.

Patterns come from definitions, never from data: ``matches()`` takes its pattern as a
quoted string.  A group that repeats and itself contains a repetition (``(a+)+``,
``(\\w*,)*``) is refused, as it is the usual shape of catastrophic backtracking.
"""

from __future__ import annotations

import re

from gateway.expressions.limits import MAX_PATTERN_LENGTH

__all__ = ["compile_pattern"]

_BRACE_REPETITION = re.compile(r"\{\d*(?:,\d*)?\}")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled pattern; ``ValueError`` with a short reason if it is refused."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"pattern is longer than {MAX_PATTERN_LENGTH} characters")
    if _has_nested_repetition(pattern):
        raise ValueError("pattern repeats a group that itself repeats")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"invalid pattern: {error.msg}") from None
    except (OverflowError, RecursionError):
        raise ValueError("invalid pattern: too large or too deeply nested") from None


def _repetition_at(pattern: str, i: int) -> bool:
    return pattern[i : i + 1] in ("*", "+") or _BRACE_REPETITION.match(pattern, i) is not None


def _class_end(pattern: str, i: int) -> int:
    """The index after the character class that opens at ``i``."""
    i += 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _has_nested_repetition(pattern: str) -> bool:
    groups: list[bool] = []  # for each open group: does it contain a repetition?
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
        elif char == "[":
            i = _class_end(pattern, i)
        elif char == "(":
            groups.append(False)
            i += 2 if pattern[i + 1 : i + 2] == "?" else 1
        elif char == ")":
            inner = groups.pop() if groups else False
            i += 1
            repeated = _repetition_at(pattern, i)
            if inner and repeated:
                return True
            if groups and (inner or repeated):
                groups[-1] = True
        else:
            if groups and _repetition_at(pattern, i):
                groups[-1] = True
            i += 1
    return False

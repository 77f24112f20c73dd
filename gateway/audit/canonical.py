"""The one canonical JSON encoding of audit records (see ``docs/audit-log-format.md``).

Objects with keys sorted by Unicode code point, no whitespace, UTF-8, strings escaped as
JSON requires and nothing more, integers only (within +-(2**53 - 1)), no floats.  The same
value always gives the same bytes, so hashes and signatures are reproducible by an
independent verifier.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "CanonicalError",
    "canonical_bytes",
    "check_canonical",
    "nested_deeper_than",
]

MAX_SAFE_INTEGER = 2**53 - 1


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


class CanonicalError(ValueError):
    """A value cannot be encoded canonically (a float, a huge integer, a non-string key)."""


MAX_DEPTH = 100
"""The deepest object or array a record may hold: the record itself is at depth 0, its
``payload`` at depth 1, and each object or array inside a value at depth ``d`` at ``d + 1``."""


def nested_deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` holds an object or array deeper than ``limit`` (``value`` itself
    being at depth 0); iterative, so any depth a parser produced can be measured."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item)
    return False


def _check(value: Any, where: str, depth: int = 0) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if depth > MAX_DEPTH:
        raise CanonicalError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"{where}: integer out of range")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"{where}: object keys must be strings")
            _check(item, f"{where}.{key}", depth + 1)
        return
    raise CanonicalError(f"{where}: {type(value).__name__} is not allowed")


def _fine(value: Any, depth: int = 0) -> bool:
    """Whether ``_check`` passes ``value``, without building the path of every value (the
    path is only needed for the message, and ``_check`` makes it when there is one)."""
    if value is None or isinstance(value, (bool, str)):
        return True
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, int):
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                return False
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return False
    depth += 1
    for item in items:  # noqa: SIM110 - a loop, not all(): twice as fast on every record
        if type(item) is not str and not _fine(item, depth):
            return False
    return True


def check_canonical(value: Any, where: str = "record") -> None:
    """Raise ``CanonicalError`` naming the first value that has no canonical form."""
    if not _fine(value):
        _check(value, where)


def canonical_bytes(value: Any, *, checked: bool = False) -> bytes:
    """The canonical encoding of ``value``; the only producer of hashed or signed bytes.

    ``checked=True`` skips the type check for a value already known to be canonical.
    """
    if not checked:
        check_canonical(value)
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("record: strings must be valid Unicode (no lone surrogates)") from exc

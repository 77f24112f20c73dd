"""Where each table and key of a TOML document starts, so that a configuration error can
name its line (``tomllib`` keeps no positions).

Only what locating needs is read: table headers (``[a.b]``, ``[[a]]`` with its index),
and ``key = value`` lines with bare, quoted or dotted keys.  Lines inside multi-line
strings and arrays are skipped; a value without a line of its own (an inline table's key)
is located at its nearest enclosing key.
"""

from __future__ import annotations

import re

__all__ = ["toml_lines"]

_KEY_PART = r'(?:[A-Za-z0-9_-]+|"[^"\\]*"|\'[^\']*\')'
_KEY = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=(.*)$")
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]\]?")
_PART = re.compile(_KEY_PART)


def _parts(key: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in _PART.findall(key))


def _opens_block(value: str) -> str | None:
    """The closing mark when ``value`` starts a multi-line string or array left open."""
    value = value.strip()
    for quote in ('"""', "'''"):
        if value.startswith(quote) and value.count(quote) == 1:
            return quote
    if value.startswith("[") and value.count("[") > value.count("]"):
        return "]"
    return None


def toml_lines(text: str) -> dict[tuple[str, ...], int]:
    """The 1-based line of each table and key of ``text``, by its path of keys."""
    lines: dict[tuple[str, ...], int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    closing: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if closing is not None:
            if closing in line:
                closing = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(2))
            if header.group(1) == "[[":
                index = arrays.get(table, -1) + 1
                arrays[table] = index
                lines.setdefault(table, number)
                table = (*table, str(index))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            path = (*table, *_parts(key.group(1)))
            for end in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:end], number)
            closing = _opens_block(key.group(2))
    return lines

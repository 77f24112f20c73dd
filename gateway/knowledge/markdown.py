"""Escaping for Markdown that may also be read as HTML.

Every value a template interpolates is escaped (``escape_markdown``) unless it already
is (``Escaped``): HTML's ``& < >`` become entities, Markdown's inline punctuation is
backslash-escaped, and characters that start a block at the beginning of a line (lists,
headings, rules, quotes, ordered lists) are escaped there.  ``escape_markdown`` keeps one
line; ``escape_paragraphs`` keeps paragraphs apart with a blank line and lines within a
paragraph as hard breaks.
"""

from __future__ import annotations

import re

__all__ = ["Escaped", "escape_markdown", "escape_paragraphs"]


class Escaped(str):
    """Text that is already safe to put into Markdown."""

    __slots__ = ()


_SPECIAL = "\\`*_{}[]()#|!~$"
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", **{c: "\\" + c for c in _SPECIAL}}
)
_LINE_START = re.compile(r"^(\d{0,9})([-+=.)])(?=\s|$|[-=]{2})")
_BLOCK_START = frozenset("-+=0123456789")


def _escape_line(line: str) -> str:
    line = line.strip().translate(_ESCAPES)
    if line[:1] in _BLOCK_START:
        line = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
    return line


def escape_markdown(value: object) -> Escaped:
    """``value`` as one line of inert Markdown text."""
    if isinstance(value, Escaped):
        return value
    text = "" if value is None else str(value)
    if "\n" not in text and "\r" not in text:
        return Escaped(_escape_line(text))
    return Escaped(" ".join(_escape_line(line) for line in text.splitlines() if line.strip()))


def escape_paragraphs(value: object) -> Escaped:
    """``value`` as inert Markdown paragraphs (blank lines separate them)."""
    if isinstance(value, Escaped):
        return value
    text = "" if value is None else str(value)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [_escape_line(line) for line in block.splitlines() if line.strip()]
        if lines:
            paragraphs.append("  \n".join(lines))
    return Escaped("\n\n".join(paragraphs))

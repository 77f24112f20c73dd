"""Atlassian Document Format (ADF) as plain text: what Jira Cloud's REST API v3 returns for
an issue's ``description`` and comment bodies.

A document is a tree of nodes ``{"type", "content": [...], "attrs": {...}, "text"}``
under a root ``{"type": "doc", "version": 1}``.  Text comes from ``text`` nodes and from
the ``attrs`` of inline nodes (a mention's ``text``, an emoji's ``text`` or
``shortName``, a card's ``url``, a status's ``text``); ``hardBreak`` and every block node
(paragraph, heading, list item, table row, code block, ...) end a line; list items are
written ``- `` or ``1. ``, table cells are joined with `` | ``.  Nodes nested deeper than
``MAX_DEPTH`` and values that are not nodes are left out: an odd document never fails.

``text_adf`` goes the other way for what the gateway writes (REST v3 takes comment bodies
only as documents): one paragraph per line of plain text, an empty line an empty paragraph.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DEPTH", "adf_text", "text_adf"]

MAX_DEPTH = 50
_INLINE_ATTRS = {
    "mention": ("text",),
    "emoji": ("text", "shortName"),
    "inlineCard": ("url",),
    "blockCard": ("url",),
    "embedCard": ("url",),
    "status": ("text",),
    "date": ("timestamp",),
}


def _attr(node: dict[str, Any], names: tuple[str, ...]) -> str:
    attrs = node.get("attrs")
    if not isinstance(attrs, dict):
        return ""
    for name in names:
        value = attrs.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return ""


def _children(node: dict[str, Any]) -> list[Any]:
    content = node.get("content")
    return content if isinstance(content, list) else []


def _render(node: Any, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH or not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "text":
        text = node.get("text")
        out.append(text if isinstance(text, str) else "")
        return
    if kind == "hardBreak":
        out.append("\n")
        return
    if kind in _INLINE_ATTRS:
        out.append(_attr(node, _INLINE_ATTRS[kind]))
        return
    children = _children(node)
    if kind in ("bulletList", "orderedList"):
        first = _attr(node, ("order",)) if kind == "orderedList" else ""
        number = int(first) if first.isdigit() else 1
        for child in children:
            out.append(f"{number}. " if kind == "orderedList" else "- ")
            number += 1
            _render(child, out, depth + 1)
    elif kind == "tableRow":
        cells = []
        for child in children:
            cell: list[str] = []
            _render(child, cell, depth + 1)
            cells.append(" ".join("".join(cell).split()))
        out.append(" | ".join(cells))
    else:
        for child in children:
            _render(child, out, depth + 1)
    if kind != "doc":
        out.append("\n")


def adf_text(document: Any) -> str:
    """The plain text of an ADF document (or node): one line per block, trimmed."""
    out: list[str] = []
    _render(document, out, 0)
    lines = (line.rstrip() for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line).strip()


def text_adf(text: str) -> dict[str, Any]:
    """Plain ``text`` as an ADF document: one paragraph per line, text kept as it is."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}

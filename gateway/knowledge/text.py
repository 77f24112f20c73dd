"""Untrusted text made safe to keep: valid Unicode, no control characters, bounded.

Everything collected for documentation passes through ``clean_text`` first: bytes are
decoded as UTF-8 with replacement characters, lone surrogates (from text that was not
UTF-8) are replaced, control and invisible formatting characters (zero-width,
bidirectional overrides) other than newline and tab are dropped, and the length is
capped.  Values that are not text are written as sorted JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_TEXT", "clean_text", "one_line", "value_text"]

MAX_TEXT = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")


def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as clean text of at most ``limit`` characters (an ellipsis marks a cut)."""
    if isinstance(value, str) and len(value) <= limit and value.isprintable():
        return value  # the common case: nothing to clean
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        text = value_text(value)
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def one_line(value: object, limit: int = 300) -> str:
    """``clean_text`` on one line, runs of white space made one space."""
    text = clean_text(value, limit)
    if text.isprintable() and "  " not in text:
        return text.strip()
    return _SPACE.sub(" ", text).strip()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def value_text(value: object) -> str:
    """A parameter or output value as text: strings as they are, the rest as sorted JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(_jsonable(value), sort_keys=True, ensure_ascii=False)
    except RecursionError:  # nested too deep, or a value that contains itself
        return "(unreadable value)"

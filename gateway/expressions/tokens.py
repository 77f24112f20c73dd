"""The tokens of a CEL text, for the checks the library does not make.

The library parses every text first, so this scanner only ever sees valid CEL: it splits
the text into string literals, numbers, names and punctuation, with their offsets, so that
the load checks (``checks.py``) look at names and calls outside string literals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Token", "string_end", "tokenize"]

Kind = Literal["string", "number", "name", "punct"]

_SPACE = re.compile(r"(?:\s+|//[^\n]*)+")
_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+[uU]?|(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[uU]?"
)
_STRING_PREFIX = re.compile(r"(?:[rR][bB]?|[bB][rR]?)?['\"]")
_PUNCT = re.compile(r"&&|\|\||==|!=|<=|>=|[-+*/%!<>?:.,()\[\]{}]")


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    offset: int


def string_end(text: str, index: int) -> int:
    """The index after the CEL string literal whose quote is at ``index`` (a prefix such as
    ``r`` or ``b`` comes before ``index``); ``len(text) + 1`` when it is not closed."""
    raw = "r" in text[max(0, index - 2) : index].lower()
    quote = text[index] * 3 if text.startswith(text[index] * 3, index) else text[index]
    position = index + len(quote)
    while position < len(text):
        if text[position] == "\\" and not raw:
            position += 2
        elif text.startswith(quote, position):
            return position + len(quote)
        else:
            position += 1
    return len(text) + 1


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, a valid CEL expression; comments and whitespace are skipped."""
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        if space := _SPACE.match(text, index):
            index = space.end()
            continue
        if prefix := _STRING_PREFIX.match(text, index):
            end = string_end(text, prefix.end() - 1)
            tokens.append(Token("string", text[index:end], index))
            index = end
            continue
        for kind, pattern in (("name", _NAME), ("number", _NUMBER), ("punct", _PUNCT)):
            found = pattern.match(text, index)
            if found:
                tokens.append(Token(kind, found.group(), index))  # type: ignore[arg-type]
                index = found.end()
                break
        else:  # pragma: no cover - the library has parsed the text already
            raise ValueError(f"unexpected character at offset {index}")
    return tokens

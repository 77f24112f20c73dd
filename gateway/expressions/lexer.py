"""Splits expression text into tokens.

The lexer reads from a start offset to the end of the text or, inside a template, to the
``}}`` that closes the expression.  Positions are offsets into the whole text, so errors
inside a template point at the right column of the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.expressions.errors import ExpressionSyntaxError
from gateway.expressions.limits import MAX_INT

__all__ = ["KEYWORDS", "Token", "TokenKind", "tokenize"]

KEYWORDS = frozenset({"and", "or", "not", "in", "if", "else", "true", "false", "null"})

_TWO_CHAR_OPERATORS = frozenset({"==", "!=", "<=", ">="})
_ONE_CHAR_OPERATORS = frozenset("<>+-*/%()[],.")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_HINTS = {
    "&&": ": use 'and'",
    "||": ": use 'or'",
    "!": ": use 'not'",
    "=": ": use '==' to compare",
}
_WHITESPACE = frozenset(" \t\r\n")
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | _DIGITS


class TokenKind(Enum):
    NAME = "name"
    KEYWORD = "keyword"
    NUMBER = "number"
    STRING = "string"
    OPERATOR = "operator"
    CLOSE = "close"  # the '}}' ending an expression inside a template
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text as written, its value and where it starts and ends."""

    kind: TokenKind
    text: str
    value: object
    start: int
    end: int

    def describe(self) -> str:
        """How the token is named in a message: ``'x'``, ``a string``, ``end of input``."""
        if self.kind is TokenKind.END:
            return "end of input"
        if self.kind is TokenKind.STRING:
            return "a string"
        shown = self.text if len(self.text) <= 24 else self.text[:24] + "..."
        return f"'{shown}'"


def tokenize(text: str, start: int = 0, in_template: bool = False) -> list[Token]:
    """Tokens from ``start``; the last one is ``END`` or, in a template, ``CLOSE``."""
    tokens: list[Token] = []
    length = len(text)
    i = start
    while True:
        while i < length and text[i] in _WHITESPACE:
            i += 1
        if i >= length:
            tokens.append(Token(TokenKind.END, "", None, i, i))
            return tokens
        char = text[i]
        pair = text[i : i + 2]
        if in_template and pair == "}}":
            tokens.append(Token(TokenKind.CLOSE, pair, None, i, i + 2))
            return tokens
        if char in _NAME_START:
            end = i + 1
            while end < length and text[end] in _NAME_CHARS:
                end += 1
            word = text[i:end]
            kind = TokenKind.KEYWORD if word in KEYWORDS else TokenKind.NAME
            tokens.append(Token(kind, word, word, i, end))
        elif char in _DIGITS:
            tokens.append(_number(text, i))
        elif char in "'\"":
            tokens.append(_string(text, i))
        elif pair in _TWO_CHAR_OPERATORS:
            tokens.append(Token(TokenKind.OPERATOR, pair, pair, i, i + 2))
        elif char in _ONE_CHAR_OPERATORS:
            tokens.append(Token(TokenKind.OPERATOR, char, char, i, i + 1))
        else:
            raise _unexpected(text, i)
        i = tokens[-1].end


def _unexpected(text: str, i: int) -> ExpressionSyntaxError:
    for written, hint in _HINTS.items():
        if text.startswith(written, i):
            return ExpressionSyntaxError(f"unexpected '{written}'", text, i, hint)
    return ExpressionSyntaxError(f"unexpected character {text[i]!r}", text, i)


def _digits_end(text: str, i: int) -> int:
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    return i


def _number(text: str, start: int) -> Token:
    end = _digits_end(text, start)
    is_float = False
    if text[end : end + 1] == "." and text[end + 1 : end + 2] in _DIGITS:
        end = _digits_end(text, end + 1)
        is_float = True
    if text[end : end + 1] in ("e", "E"):
        mark = end + 1
        if text[mark : mark + 1] in ("+", "-"):
            mark += 1
        if text[mark : mark + 1] in _DIGITS:
            end = _digits_end(text, mark)
            is_float = True
    written = text[start:end]
    if is_float:
        number = float(written)
        if number == float("inf"):
            raise ExpressionSyntaxError("number is too large", text, start)
        return Token(TokenKind.NUMBER, written, number, start, end)
    if len(written.lstrip("0")) > 19 or int(written) > MAX_INT:
        raise ExpressionSyntaxError("integer is out of range (64-bit signed)", text, start)
    return Token(TokenKind.NUMBER, written, int(written), start, end)


def _string(text: str, start: int) -> Token:
    quote = text[start]
    chunks: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return Token(TokenKind.STRING, text[start : i + 1], "".join(chunks), start, i + 1)
        if char == "\\" and i + 1 < len(text):
            follower = text[i + 1]
            escaped = _ESCAPES.get(follower)
            if escaped is None:
                shown = follower if follower.isprintable() else repr(follower)[1:-1]
                raise ExpressionSyntaxError(
                    f"unknown escape '\\{shown}'", text, i, r": use \\ \' \" \n or \t"
                )
            chunks.append(escaped)
            i += 2
        else:
            chunks.append(char)
            i += 1
    raise ExpressionSyntaxError("unterminated string", text, start)

"""JSON read from outside with integers bounded.

Python refuses to turn more than 4,300 digits into an integer (a ``ValueError`` from deep
inside ``json``, with no position).  Here an integer longer than ``MAX_INTEGER_DIGITS`` is
read as an ``OverlongInteger`` marker instead, and ``refuse_overlong_integers`` names the
field that holds one, so an event can be refused, kept and reported like any other bad
field.  Digits are counted before any conversion, whatever the interpreter's own limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.tickets.errors import TicketEventError

__all__ = [
    "MAX_INTEGER_DIGITS",
    "OverlongInteger",
    "dumps_kept",
    "parse_json",
    "refuse_overlong_integers",
]

MAX_INTEGER_DIGITS = 4300


@dataclass(frozen=True, slots=True)
class OverlongInteger:
    """An integer too long to read, standing where it was in the document."""

    digits: int

    def __str__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def _integer(text: str) -> int | OverlongInteger:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INTEGER_DIGITS:
        return OverlongInteger(digits)
    return int(text)


def parse_json(text: str) -> Any:
    """``json.loads`` with every overlong integer as an ``OverlongInteger``; raises
    ``ValueError`` (``json.JSONDecodeError``) or ``RecursionError`` as ``json`` does."""
    return json.loads(text, parse_int=_integer)


def _first_overlong(value: Any) -> tuple[str, OverlongInteger] | None:
    pending: list[tuple[tuple[str, ...], Any]] = [((), value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, OverlongInteger):
            return ".".join(path), item
        if isinstance(item, dict):
            children = list(item.items())
        elif isinstance(item, list):
            children = [(str(index), child) for index, child in enumerate(item)]
        else:
            continue
        pending.extend(((*path, str(key)), child) for key, child in reversed(children))
    return None


def refuse_overlong_integers(value: Any, prefix: str = "") -> None:
    """Raise ``TicketEventError`` naming the first field of ``value`` holding an overlong
    integer (``prefix`` is put before its path; the whole body is ``body``)."""
    found = _first_overlong(value)
    if found is not None:
        path, integer = found
        where = f"{prefix}{path}".rstrip(".") or "body"
        raise TicketEventError(
            f"{where}: an integer of {integer.digits} digits; at most {MAX_INTEGER_DIGITS} are read"
        )


def dumps_kept(value: Any) -> bytes:
    """JSON of a record to keep as a dead letter; an overlong integer is written as text."""
    return json.dumps(value, default=str).encode()

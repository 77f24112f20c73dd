"""``KEY=VALUE`` options (``--param``/``-p``, ``--context``): one reading and one error
for every command, a usage error (exit 2) naming the option and the pair."""

from __future__ import annotations

import json
import re
from typing import Any

import click

__all__ = ["KeyValue"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class KeyValue(click.ParamType[tuple[str, Any], Any]):
    """A ``KEY=VALUE`` pair, KEY a name; with ``json_values``, a VALUE that is JSON
    (``true``, ``42``, ``"x"``, ``[..]``) keeps its type, anything else is text."""

    name = "KEY=VALUE"

    def __init__(self, *, json_values: bool = False) -> None:
        self.json_values = json_values

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, Any]:
        key, sep, raw = str(value).partition("=")
        if not sep or not _KEY.fullmatch(key):
            self.fail(
                f"expected KEY=VALUE, found {value!r} (KEY: letters, digits, _; no digit first)",
                param,
                ctx,
            )
        if not self.json_values:
            return key, raw
        try:
            return key, json.loads(raw)
        except ValueError:
            return key, raw

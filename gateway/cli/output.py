"""How every command prints: one ``--json`` option and one :func:`emit`.

A command that prints data a machine may read takes :data:`json_option` and prints with
``emit(value, as_json, human=...)``: with ``--json`` the value as one JSON document on
standard output (two-space indent, UTF-8, newline-terminated; keys in the value's own
order: a model's field order, a mapping's insertion order; sets sorted), else
``human(value)``.  Values may be pydantic models, dataclasses, objects with an
``as_json()`` method, mappings, sequences and JSON scalars, nested in any way.

With ``--json`` a :class:`~gateway.errors.GatewayError` is a JSON document too
(:func:`error_document`: kind, exit code, type, message), printed on standard output when
the command printed no document yet; the ``error:`` line on standard error and the exit
code stay as without ``--json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import click
from pydantic import BaseModel, JsonValue
from pydantic_core import PydanticSerializationError, to_jsonable_python

from gateway.enforcement.errors import PolicyDeniedError
from gateway.errors import GatewayError, SourceError

__all__ = [
    "JSON_HELP",
    "JsonOption",
    "emit",
    "error_document",
    "json_option",
    "render_json",
    "report_error",
    "to_json",
]

T = TypeVar("T")

JSON_HELP = "Print the result as one JSON document (errors too)."
_WANTS_JSON = "gateway.cli.output.json"  # ctx.meta keys, shared by every nested context
_EMITTED = "gateway.cli.output.emitted"


@runtime_checkable
class HasJson(Protocol):
    """A domain object that knows its JSON form."""

    def as_json(self) -> Any: ...


class JsonOption(click.Option):
    """The one ``--json`` flag of every command; a test fails on any other."""


def _remember(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_WANTS_JSON] = True
    return value


json_option = click.option(
    "--json", "as_json", cls=JsonOption, is_flag=True, help=JSON_HELP, callback=_remember
)
"""The ``--json`` flag, passed to the command as ``as_json``."""


def to_json(value: object) -> JsonValue:
    """``value`` as plain JSON data (dicts, lists, str, int, float, bool, None)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, BaseModel):
        return to_json(value.model_dump(mode="json"))
    if isinstance(value, HasJson):
        return to_json(value.as_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        items = [to_json(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    try:  # datetimes, enums, paths, UUIDs, ...: as pydantic writes them
        return to_json(to_jsonable_python(value))
    except PydanticSerializationError as exc:
        raise TypeError(f"cannot print a {type(value).__name__} as JSON") from exc


def render_json(value: object) -> str:
    """The one JSON text of ``value`` that commands print (without the final newline)."""
    return json.dumps(to_json(value), indent=2, ensure_ascii=False)


def emit(value: T, as_json: bool, *, human: Callable[[T], object]) -> None:
    """Print ``value``: one JSON document with ``--json``, else ``human(value)``."""
    if not as_json:
        human(value)
        return
    click.echo(render_json(value))
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_EMITTED] = True


def error_document(error: GatewayError) -> dict[str, JsonValue]:
    """What ``--json`` prints for ``error``: ``{"error": {...}}``."""
    code = error.exit_code
    body: dict[str, JsonValue] = {
        "kind": code.name.lower(),
        "exit_code": int(code),
        "type": type(error).__name__,
        "message": error.summary if isinstance(error, SourceError) else str(error),
    }
    if isinstance(error, SourceError):
        body["problems"] = [
            {"file": p.file, "line": p.line, "message": p.message} for p in error.problems
        ]
    if isinstance(error, PolicyDeniedError):
        body["reasons"] = list(error.reasons)
        body["decision_id"] = error.decision_id
    return {"error": body}


def report_error(ctx: click.Context, error: GatewayError) -> None:
    """Show ``error`` (``error:`` on standard error; with ``--json``, its document on
    standard output unless the command printed one already) and exit with its code."""
    click.echo(f"error: {error.diagnostics()}", err=True)
    if ctx.meta.get(_WANTS_JSON) and not ctx.meta.get(_EMITTED):
        click.echo(render_json(error_document(error)))
    ctx.exit(int(error.exit_code))

"""The engines measured by ``benchmarks.cel_candidates`` on the shipped definitions: the
gateway's wrapper (``gateway.expressions``, what ships), and the bare libraries it was chosen
among, ``common-expression-language`` (import ``cel``) and ``cel-python`` (import ``celpy``),
each with the scope converted on every call or once per scope.

For the bare libraries a template is a ``{{ }}`` splitter (``split_template``) with a CEL
expression inside each pair of braces, and text parts written by the gateway's text rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cel
import celpy

from gateway.expressions import Scope
from gateway.expressions.expression import _parse_expression
from gateway.expressions.template import _parse_template
from gateway.expressions.text import to_text
from gateway.expressions.tokens import string_end

# -- templates for the bare libraries: a {{ }} splitter that leaves CEL inside -------------


class TemplateSyntaxError(ValueError):
    """A ``{{`` without its ``}}``, or a string literal left open inside one."""


def split_template(text: str) -> list[str | tuple[str, int]]:
    """Text parts and ``(expression, offset)`` parts of a template."""
    parts: list[str | tuple[str, int]] = []
    position = 0
    while (opening := text.find("{{", position)) >= 0:
        if opening > position:
            parts.append(text[position:opening])
        closing = _expression_end(text, opening + 2)
        parts.append((text[opening + 2 : closing], opening + 2))
        position = closing + 2
    if position < len(text):
        parts.append(text[position:])
    return parts


def _expression_end(text: str, index: int) -> int:
    start, depth = index, 0
    while index < len(text):
        char = text[index]
        if char in "'\"":
            index = string_end(text, index)
            continue
        if char == "}" and depth == 0 and text.startswith("}}", index):
            return index
        depth += {"{": 1, "}": -1}.get(char, 0)
        index += 1
    raise TemplateSyntaxError(f"'{{{{' at offset {start - 2} is not closed")


# -- the engines ------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A celpy (or ``cel``) value as plain Python; celtypes subclass the Python types and a
    celpy ``BoolType`` is an ``int``, so bools are tested first."""
    if isinstance(value, celpy.CELEvalError):
        raise value
    if value is None:
        return None
    if isinstance(value, bool | celpy.celtypes.BoolType):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


_CELPY = celpy.Environment()  # note: sets sys.setrecursionlimit(2500) for the process


def _celpy_scope(scope: Mapping[str, Any]) -> dict[str, Any]:
    return {name: celpy.json_to_cel(value) for name, value in scope.items()}


@dataclass(frozen=True)
class Engine:
    """One way to compile a text, prepare a scope (once per scope) and evaluate."""

    name: str
    compile: Callable[[str], Any]
    prepare: Callable[[Mapping[str, Any]], Any]
    run: Callable[[Any, Any], Any]


LIBRARIES = {
    engine.name: engine
    for engine in (
        Engine("cel (Rust)", cel.compile, dict, lambda program, scope: program.execute(scope)),
        Engine(
            "cel (Rust), Context per scope",
            cel.compile,
            lambda scope: cel.Context(variables=dict(scope)),
            lambda program, context: program.execute(context),
        ),
        Engine(
            "celpy",
            lambda text: _CELPY.program(_CELPY.compile(text)),
            dict,
            lambda program, scope: plain(program.evaluate(_celpy_scope(scope))),
        ),
        Engine(
            "celpy, scope converted once",
            lambda text: _CELPY.program(_CELPY.compile(text)),
            _celpy_scope,
            lambda program, scope: plain(program.evaluate(scope)),
        ),
    )
}


@dataclass(frozen=True)
class CelTemplate:
    single: bool
    parts: tuple[Any, ...]  # str text, or a compiled program


def compile_library(engine: Engine, kind: str, text: str) -> Any:
    """A compiled condition or value, or a ``CelTemplate`` of compiled parts."""
    if kind != "template":
        return engine.compile(text)
    parts = tuple(
        part if isinstance(part, str) else engine.compile(part[0].strip())
        for part in split_template(text)
    )
    programs = [part for part in parts if not isinstance(part, str)]
    texts = [part for part in parts if isinstance(part, str)]
    return CelTemplate(len(programs) == 1 and all(not t.strip() for t in texts), parts)


def run_library(engine: Engine, kind: str, compiled: Any, prepared: Any) -> Any:
    """Evaluate on a scope made by ``engine.prepare``."""
    if not isinstance(compiled, CelTemplate):
        value = engine.run(compiled, prepared)
        if kind == "condition" and not isinstance(value, bool):
            raise TypeError(f"condition must be a bool, found {type(value).__name__}")
        return value
    if compiled.single:
        return engine.run(next(p for p in compiled.parts if not isinstance(p, str)), prepared)
    return "".join(
        part if isinstance(part, str) else to_text(engine.run(part, prepared))
        for part in compiled.parts
    )


def compile_gateway(kind: str, text: str) -> Any:
    """The gateway's compile and load checks, without its cache."""
    if kind == "template":
        return _parse_template.__wrapped__(text)
    return _parse_expression.__wrapped__(text)


def run_gateway(kind: str, compiled: Any, scope: Mapping[str, Any]) -> Any:
    if kind == "template":
        return compiled.render(scope)
    if kind == "condition":
        return compiled.evaluate_bool(scope)
    return compiled.evaluate(scope)


GATEWAY = "gateway"
GATEWAY_SCOPE = "gateway, Scope per scope"
"""The wrapper with a plain mapping (converted at each call, only the roots read) and with a
``Scope`` (converted once, shared)."""

PREPARE = {GATEWAY: dict, GATEWAY_SCOPE: Scope}

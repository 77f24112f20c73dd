"""The one place that calls the CEL library: compile, convert a scope, evaluate, and turn the
library's exceptions into the gateway's errors.

Messages are built here from the exception's class, the expression's text and the paths it
reads; the library's own message is never passed on, since it may quote a value (an
overflow names its operands, a failed function its Python error).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gateway.expressions.checks import split_reference
from gateway.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    UndefinedNameError,
)
from gateway.expressions.text import to_text

if TYPE_CHECKING:
    import cel  # imported on first use, see compile_cel

__all__ = ["Scope", "compile_cel", "execute"]

_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)")
_EXPECTING = re.compile(r" expecting \{?[^}]*\}?$")
_HINTS = {"and": "&&", "or": "||", "not": "!", "if": "c ? a : b"}
_UNSUPPORTED = re.compile(r"Unsupported operation: (\w+) (\S{1,3}) (\w+)\.")
_FUNCTION = re.compile(r"Function '(\w+)' error")


def compile_cel(text: str, source: str, offset: int) -> cel.Program:
    """Compile ``text``, which starts at ``offset`` in ``source`` (a template or the text
    itself); a syntax error gives its position in ``source``.  The library is imported
    here, on first use: its package also loads its own command line (typer, rich,
    prompt_toolkit), a cost that commands which read no definition should not pay."""
    import cel

    try:
        return cel.compile(text)
    except Exception as exc:  # the library raises ValueError with its own position
        raise _syntax_error(str(exc), text, source, offset) from None


def _syntax_error(message: str, text: str, source: str, offset: int) -> ExpressionSyntaxError:
    found = _POSITION.search(message)
    if found is None:
        return ExpressionSyntaxError("invalid expression", source, offset)
    line, column, problem = int(found[1]), int(found[2]), found[3]
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    problem = _EXPECTING.sub("", problem).replace("'<EOF>'", "end of input")
    problem = re.sub(r"^(?:mismatched|extraneous) input ", "unexpected ", problem)
    word = re.fullmatch(r"unexpected '(\w+)'", problem)
    if word is not None and word[1] in _HINTS:
        problem += f": write {_HINTS[word[1]]}"
    return ExpressionSyntaxError(problem, source, offset + min(start + column - 1, len(text)))


def _text_function(value: Any) -> str:
    return to_text(value)


class Scope(Mapping[str, Any]):
    """A scope whose conversion to CEL is made once, then shared by every expression and
    template evaluated in it (a plain mapping is converted at each evaluation).

    Only the roots an expression reads are converted, when it first reads them.  The
    values must stay as they are while the scope is in use.
    """

    __slots__ = ("_context", "_data", "_loaded", "_lock")

    def __init__(self, data: Mapping[str, Any]) -> None:
        import cel

        self._data = dict(data)
        self._context = cel.Context(functions={"text": _text_function})
        self._loaded: set[str] = set()
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def run(self, program: cel.Program, roots: frozenset[str], source: str) -> Any:
        with self._lock:
            for root in roots - self._loaded:
                if root in self._data:
                    try:
                        self._context.add_variable(root, self._data[root])
                    except Exception:  # a value CEL cannot hold, such as a SecretStr
                        raise _opaque(source, root, self._data[root]) from None
                    self._loaded.add(root)
            return program.execute(self._context)


def _opaque(source: str, root: str, value: Any) -> ExpressionEvaluationError:
    return ExpressionEvaluationError(
        f"`{source}`: {root} holds a value that is not plain data ({_odd_type(value)})"
    )


def _odd_type(value: Any) -> str:
    """The class of the first value CEL cannot hold inside ``value``."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend([*item.keys(), *item.values()])
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif not isinstance(item, str | int | float | bytes | type(None)):
            return type(item).__name__
    return "a key CEL cannot hold"


def execute(
    program: cel.Program,
    source: str,
    roots: frozenset[str],
    references: frozenset[str],
    scope: Mapping[str, Any],
) -> Any:
    """The value of ``program`` in ``scope``; every failure is an ``ExpressionError``."""
    shared = scope if isinstance(scope, Scope) else Scope(scope)
    try:
        return shared.run(program, roots, source)
    except ExpressionError:
        raise
    except Exception as exc:
        raise _evaluation_error(exc, source, references, scope) from None


def _evaluation_error(
    exc: Exception, source: str, references: frozenset[str], scope: Mapping[str, Any]
) -> ExpressionEvaluationError:
    message = str(exc)
    lookup = isinstance(exc, LookupError) or message.startswith(
        ("Undefined variable", "No such overload")
    )
    if lookup:
        missing = _first_missing(references, scope)
        if missing is not None:
            return UndefinedNameError(missing)
    if isinstance(exc, ZeroDivisionError):
        problem = "division by zero"
    elif isinstance(exc, OverflowError):
        problem = "integer result is out of range (64-bit)"
    elif found := _UNSUPPORTED.match(message):
        problem = f"no operation {found[1]} {found[2]} {found[3]}: CEL does not convert types"
    elif found := _FUNCTION.match(message):
        problem = f"{found[1]}() failed on its argument"
    elif isinstance(exc, LookupError):
        problem = "a key or index is not there"
    else:
        problem = "no operation or function for these types: CEL does not convert types"
    return ExpressionEvaluationError(f"`{source}`: {problem}")


def _first_missing(references: frozenset[str], scope: Mapping[str, Any]) -> str | None:
    """The first path (in sorted order) that cannot be read from ``scope``."""
    for reference in sorted(references):
        value: Any = scope
        for key in split_reference(reference):
            if isinstance(value, Mapping) and isinstance(key, str) and key in value:
                value = value[key]
            elif isinstance(value, list | tuple) and isinstance(key, int) and key < len(value):
                value = value[int(key)]
            else:
                return reference
    return None

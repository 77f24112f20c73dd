"""Errors of CEL conditions and templates (part of the tree in ``gateway/errors.py``)::

    GatewayError
    └── ExpressionError               an expression or template is invalid or failed
        ├── ExpressionSyntaxError     the text does not compile or is refused at load;
        │                             carries line and column
        └── ExpressionEvaluationError evaluation failed (wrong types, a limit, a bad value)
            └── UndefinedNameError    a name or path is missing from the scope

Messages name types, paths, positions and the expression, never the values evaluated.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = [
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "UndefinedNameError",
]

_CARET_WINDOW = 76


class ExpressionError(GatewayError):
    """An expression or template is invalid or could not be evaluated."""

    exit_code = ExitCode.INVALID_INPUT


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression or template.

    ``position`` is the 0-based offset in ``source``; ``line`` and ``column`` are 1-based.
    The message reads ``<problem> at column <n><detail>``, e.g.
    ``expected ')' at column 14, found end of input``; the position reads
    ``line <l>, column <n>`` when the source spans several lines.
    """

    def __init__(self, problem: str, source: str, position: int, detail: str = "") -> None:
        self.problem = problem
        self.source = source
        self.position = position
        self.line = source.count("\n", 0, position) + 1
        self.column = position - (source.rfind("\n", 0, position) + 1) + 1
        where = f"column {self.column}"
        if "\n" in source:
            where = f"line {self.line}, {where}"
        super().__init__(f"{problem} at {where}{detail}")

    def describe(self, origin: str = "") -> str:
        """The message, prefixed by ``origin`` if given, and the source line with a caret."""
        head = f"{origin}: {self}" if origin else str(self)
        start_of_line = self.source.rfind("\n", 0, self.position) + 1
        end_of_line = self.source.find("\n", self.position)
        if end_of_line < 0:
            end_of_line = len(self.source)
        text = self.source[start_of_line:end_of_line]
        offset = self.column - 1
        first = max(0, offset - _CARET_WINDOW // 2)
        shown = text[first : first + _CARET_WINDOW]
        lead = "..." if first else ""
        tail = "..." if first + _CARET_WINDOW < len(text) else ""
        caret = " " * (len(lead) + offset - first) + "^"
        return f"{head}\n  {lead}{shown}{tail}\n  {caret}"

    def diagnostics(self) -> str:
        return self.describe()


class ExpressionEvaluationError(ExpressionError):
    """Evaluation failed: mismatched types, a limit reached, or a value that cannot be used."""


class UndefinedNameError(ExpressionEvaluationError):
    """A name or path is missing from the scope (or crosses a null).

    ``path`` is the whole path as written (``steps.reset.output.ok``); test it first with
    ``has()`` when it may be missing.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} is not defined")

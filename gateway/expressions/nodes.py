"""The syntax tree of an expression; each node evaluates itself against a scope.

Nodes are immutable, so a parsed expression can be cached and shared.  Chains (``a.b.c``,
``a + b + c``, ``a and b and c``, ``x if c else y if d else z``) are single nodes with a
list of parts, so the depth of the tree only grows with nesting the parser has bounded.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.expressions.errors import ExpressionEvaluationError, UndefinedNameError
from gateway.expressions.functions import search
from gateway.expressions.operators import arithmetic, compare, negate, require_bool
from gateway.expressions.values import type_name

Scope = Mapping[str, Any]
_MISSING = object()


class Node(ABC):
    """One node of the syntax tree."""

    __slots__ = ()

    @abstractmethod
    def evaluate(self, scope: Scope) -> Any:
        """The node's value in ``scope``."""

    @abstractmethod
    def collect_references(self, into: set[str]) -> None:
        """Add the dotted paths this node reads from the scope to ``into``."""


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any

    def evaluate(self, scope: Scope) -> Any:
        return self.value

    def collect_references(self, into: set[str]) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str

    def evaluate(self, scope: Scope) -> Any:
        value = scope.get(self.name, _MISSING)
        if value is _MISSING:
            raise UndefinedNameError(self.name)
        return value

    def collect_references(self, into: set[str]) -> None:
        into.add(self.name)


@dataclass(frozen=True, slots=True)
class PathStep:
    """``.name``, ``["key"]``, ``[0]`` (``key`` set) or ``[expression]`` (``index`` set)."""

    key: str | int | None
    index: Node | None
    text: str


@dataclass(frozen=True, slots=True)
class Path(Node):
    """A value followed by keys and indices: ``steps.reset.output["ok"]``, ``items[i]``."""

    base: Node
    base_text: str
    steps: tuple[PathStep, ...]

    @property
    def text(self) -> str:
        return self._prefix(len(self.steps))

    def _prefix(self, count: int) -> str:
        return self.base_text + "".join(step.text for step in self.steps[:count])

    def evaluate(self, scope: Scope) -> Any:
        if isinstance(self.base, Name):
            value = scope.get(self.base.name, _MISSING)
            if value is _MISSING:
                raise UndefinedNameError(self.text)
        else:
            value = self.base.evaluate(scope)
        for position, step in enumerate(self.steps):
            key = step.key if step.index is None else self._dynamic_key(step.index, scope)
            value = self._read(value, key, position)
        return value

    @staticmethod
    def _dynamic_key(index: Node, scope: Scope) -> str | int:
        key = index.evaluate(scope)
        if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
            return key
        raise ExpressionEvaluationError(
            f"a subscript needs a string or an int, found {type_name(key)}"
        )

    def _read(self, value: Any, key: str | int | None, position: int) -> Any:
        if value is None:
            raise UndefinedNameError(self.text)
        if isinstance(value, dict):
            if not isinstance(key, str):
                raise ExpressionEvaluationError(
                    f"{self._prefix(position)} is a dict: use a string key, found int"
                )
            found = dict.get(value, key, _MISSING)
            if found is _MISSING:
                raise UndefinedNameError(self.text)
            return found
        if isinstance(value, list):
            if not isinstance(key, int):
                raise ExpressionEvaluationError(
                    f"{self._prefix(position)} is a list: use an int index, found string"
                )
            if -len(value) <= key < len(value):
                return value[key]
            raise UndefinedNameError(self.text)
        raise ExpressionEvaluationError(
            f"cannot read {self.steps[position].text} of {self._prefix(position)}:"
            f" found {type_name(value)}, not a dict or list"
        )

    def collect_references(self, into: set[str]) -> None:
        static = isinstance(self.base, Name)
        root = self.base_text
        if not static:
            self.base.collect_references(into)
        for step in self.steps:
            if step.index is not None:
                static = False
                step.index.collect_references(into)
            elif static:
                root += step.text
        if isinstance(self.base, Name):
            into.add(root)


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Node, ...]

    def evaluate(self, scope: Scope) -> Any:
        return [item.evaluate(scope) for item in self.items]

    def collect_references(self, into: set[str]) -> None:
        for item in self.items:
            item.collect_references(into)


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def evaluate(self, scope: Scope) -> Any:
        return not require_bool(self.operand.evaluate(scope), "'not'")

    def collect_references(self, into: set[str]) -> None:
        self.operand.collect_references(into)


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: Node

    def evaluate(self, scope: Scope) -> Any:
        return negate(self.operand.evaluate(scope))

    def collect_references(self, into: set[str]) -> None:
        self.operand.collect_references(into)


@dataclass(frozen=True, slots=True)
class Logical(Node):
    """``a and b and ...`` or ``a or b or ...``: bools only, evaluated left to right."""

    operator: str
    operands: tuple[Node, ...]

    def evaluate(self, scope: Scope) -> Any:
        decisive = self.operator == "or"
        for operand in self.operands:
            if require_bool(operand.evaluate(scope), f"'{self.operator}'") is decisive:
                return decisive
        return not decisive

    def collect_references(self, into: set[str]) -> None:
        for operand in self.operands:
            operand.collect_references(into)


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    operator: str
    left: Node
    right: Node

    def evaluate(self, scope: Scope) -> Any:
        return compare(self.operator, self.left.evaluate(scope), self.right.evaluate(scope))

    def collect_references(self, into: set[str]) -> None:
        self.left.collect_references(into)
        self.right.collect_references(into)


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    """``first <op> operand <op> operand ...``, folded from the left."""

    first: Node
    rest: tuple[tuple[str, Node], ...]

    def evaluate(self, scope: Scope) -> Any:
        value = self.first.evaluate(scope)
        for symbol, operand in self.rest:
            value = arithmetic(symbol, value, operand.evaluate(scope))
        return value

    def collect_references(self, into: set[str]) -> None:
        self.first.collect_references(into)
        for _, operand in self.rest:
            operand.collect_references(into)


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """``value if condition else ...``: the first branch whose condition is true wins."""

    branches: tuple[tuple[Node, Node], ...]
    otherwise: Node

    def evaluate(self, scope: Scope) -> Any:
        for value, condition in self.branches:
            if require_bool(condition.evaluate(scope), "the condition after 'if'"):
                return value.evaluate(scope)
        return self.otherwise.evaluate(scope)

    def collect_references(self, into: set[str]) -> None:
        for value, condition in self.branches:
            value.collect_references(into)
            condition.collect_references(into)
        self.otherwise.collect_references(into)


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    arguments: tuple[Node, ...]
    function: Callable[..., Any]

    def evaluate(self, scope: Scope) -> Any:
        return self.function(*[argument.evaluate(scope) for argument in self.arguments])

    def collect_references(self, into: set[str]) -> None:
        for argument in self.arguments:
            argument.collect_references(into)


@dataclass(frozen=True, slots=True)
class Default(Node):
    """``default(value, fallback)``: the fallback when the value is missing or null."""

    value: Node
    fallback: Node

    def evaluate(self, scope: Scope) -> Any:
        try:
            value = self.value.evaluate(scope)
        except UndefinedNameError:
            value = None
        return self.fallback.evaluate(scope) if value is None else value

    def collect_references(self, into: set[str]) -> None:
        self.value.collect_references(into)
        self.fallback.collect_references(into)


@dataclass(frozen=True, slots=True)
class Defined(Node):
    """``defined(path)``: whether the path can be read (a null value is defined)."""

    path: Node

    def evaluate(self, scope: Scope) -> Any:
        try:
            self.path.evaluate(scope)
        except UndefinedNameError:
            return False
        return True

    def collect_references(self, into: set[str]) -> None:
        self.path.collect_references(into)


@dataclass(frozen=True, slots=True)
class Matches(Node):
    """``matches(text, 'pattern')`` with the pattern compiled when parsed."""

    text: Node
    pattern: re.Pattern[str]

    def evaluate(self, scope: Scope) -> Any:
        return search(self.text.evaluate(scope), self.pattern)

    def collect_references(self, into: set[str]) -> None:
        self.text.collect_references(into)

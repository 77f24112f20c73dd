"""Reading the package's own source: where a shape of code is written out by hand."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import gateway

PACKAGE = Path(gateway.__file__).resolve().parent


def places(found: Callable[[ast.AST], bool], *, root: Path = PACKAGE) -> list[str]:
    """``file:line`` of every node of the package (below ``root``) for which ``found`` holds."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        module = ast.parse(path.read_text("utf-8"), filename=str(path))
        name = path.relative_to(root.parent).as_posix()
        hits += [f"{name}:{getattr(node, 'lineno', 0)}" for node in ast.walk(module) if found(node)]
    return hits


def written_as(node: ast.AST | None, text: str) -> bool:
    """Whether ``node`` is an expression that reads exactly ``text``."""
    return isinstance(node, ast.expr) and ast.unparse(node) == text

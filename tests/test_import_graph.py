"""The shape of ``gateway/``: one composition root at the top, no cycle, nothing running up.

Read from the code's own imports (every ``import``, including those inside functions and
under ``TYPE_CHECKING``, since each is a dependency a reader must follow).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gateway"
# The entry points: they may use the root; nothing else may.
ENTRIES = {"gateway", "gateway.__main__", "gateway.cli", "gateway.app"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = _module_name(path)
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target in _imports(path) if target in modules and target != name}
    return graph


def _owner(module: str) -> str:
    """The module's package directly under ``gateway`` (``gateway.tickets.jira`` ->
    ``gateway.tickets``); top-level modules stand for themselves."""
    return ".".join(module.split(".")[:2])


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_module_imports_the_composition_root_but_the_entry_points() -> None:
    graph = _graph()
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if _owner(target) == "gateway.app" and _owner(module) not in ENTRIES
    )
    assert offenders == []


def test_no_two_files_import_each_other_through_any_path() -> None:
    graph = {m: {t for t in ts if not _is_package_face(t)} for m, ts in _graph().items()}
    assert _cycle(graph) is None


def test_no_two_packages_import_each_other_through_any_path() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        owner = _owner(module)
        packages.setdefault(owner, set()).update(_owner(t) for t in targets if _owner(t) != owner)
    assert _cycle(packages) is None


def _is_package_face(module: str) -> bool:
    """A package's ``__init__`` only hands names on; an arrow to it is an arrow to the
    module that defines the name, which the import also names."""
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()

"""The configuration models live in light modules: from ``gateway.config``, following every
module it names (not the packages around them), no client library is imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENT_LIBRARIES = {"httpx", "ldap3", "smtplib", "jinja2", "yaml", "tenacity", "sqlite3"}


def _file(module: str) -> Path | None:
    base = ROOT / module.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_imports(path: Path) -> set[str]:
    """What the module imports when it loads: top-level statements, not ``TYPE_CHECKING``."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _closure(start: str) -> dict[str, set[str]]:
    """Each module reached from ``start`` and the outside libraries it imports."""
    seen: dict[str, set[str]] = {}
    todo = [start]
    while todo:
        module = todo.pop()
        path = _file(module)
        if module in seen or path is None:
            continue
        imports = _module_imports(path)
        seen[module] = {name.split(".")[0] for name in imports if not name.startswith("gateway")}
        todo.extend(name for name in imports if name.startswith("gateway.") and _file(name))
    return seen


def test_the_configuration_models_import_no_client_library() -> None:
    modules = _closure("gateway.config")

    heavy = {module: sorted(libs & CLIENT_LIBRARIES) for module, libs in modules.items()}
    assert {module: libs for module, libs in heavy.items() if libs} == {}
    assert {"gateway.notify.settings", "gateway.identity.ldap_settings"} <= set(modules)

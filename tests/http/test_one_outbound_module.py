"""Every connector reaches the network through ``gateway.http``: no connector opens its
own client, reads ``Retry-After`` or loops over retries itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
CONNECTOR_PACKAGES = ("identity", "tickets", "notify", "knowledge", "devices")
# connectors living in a package whose other modules reach hosts on purpose (diagnostics)
CONNECTOR_MODULES = (GATEWAY / "troubleshooting" / "prometheus.py",)
RAW_CALLS = frozenset({"Client", "AsyncClient", "request", "get", "post", "put", "patch"})


def _modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (GATEWAY / package).rglob("*.py"))


def _problems(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "httpx"
            and node.func.attr in RAW_CALLS
        ):
            found.append(f"line {node.lineno}: httpx.{node.func.attr}(...)")
        if isinstance(node, ast.Constant) and str(node.value).lower() == "retry-after":
            found.append(f"line {node.lineno}: reads Retry-After itself")
        if isinstance(node, ast.While) and "import httpx" in source:
            names = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if names & {"sleep", "_sleep"}:
                found.append(f"line {node.lineno}: a retry loop of its own")
    return found


@pytest.mark.parametrize(
    "path",
    [*_modules(*CONNECTOR_PACKAGES), *CONNECTOR_MODULES],
    ids=lambda path: str(path.relative_to(GATEWAY)),
)
def test_connectors_use_the_one_outbound_http_module(path: Path) -> None:
    assert _problems(path) == []


def test_only_the_outbound_http_module_uses_the_retry_library() -> None:
    users = [
        str(path.relative_to(GATEWAY))
        for path in _modules(".")
        if any(
            (isinstance(node, ast.Import) and any(a.name == "tenacity" for a in node.names))
            or (isinstance(node, ast.ImportFrom) and node.module == "tenacity")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]
    assert users == ["http/retrying.py"]

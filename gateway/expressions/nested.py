"""Templates inside nested definitions: render every string of a dict/list structure, or
check that every name the templates read is one the definition provides.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from gateway.expressions.engine import Scope
from gateway.expressions.errors import ExpressionError
from gateway.expressions.limits import MAX_RENDER_DEPTH
from gateway.expressions.template import parse_template

__all__ = ["check_template_names", "render_value"]


def _too_deep() -> ExpressionError:
    return ExpressionError(f"value is nested more than {MAX_RENDER_DEPTH} levels deep")


def render_value(obj: Any, scope: Mapping[str, Any]) -> Any:
    """A new structure with every string of ``obj`` rendered as a template.

    Dicts (their values, not their keys) and lists are walked; other values are returned
    as they are.  Every template reads one conversion of ``scope``.
    """
    return _render(obj, scope if isinstance(scope, Scope) else Scope(scope), 0)


def _render(obj: Any, scope: Mapping[str, Any], depth: int) -> Any:
    if isinstance(obj, str):
        return parse_template(obj).render(scope)
    if not isinstance(obj, dict | list):
        return obj
    if depth >= MAX_RENDER_DEPTH:
        raise _too_deep()
    if isinstance(obj, dict):
        return {key: _render(value, scope, depth + 1) for key, value in obj.items()}
    return [_render(item, scope, depth + 1) for item in obj]


def _strings(obj: Any) -> Iterator[str]:
    pending: list[tuple[Any, int]] = [(obj, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict | list):
            if depth >= MAX_RENDER_DEPTH:
                raise _too_deep()
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)


def _within(path: str, name: str) -> bool:
    """Whether ``path`` is ``name`` or lies under it (``steps.reset.ok`` under ``steps``)."""
    return path == name or (path.startswith(name) and path[len(name)] in ".[")


def check_template_names(obj: Any, known: Iterable[str]) -> tuple[str, ...]:
    """The references of the templates in ``obj`` that no name in ``known`` provides.

    A reference is provided by a known name it lies under (``steps.reset.output.ok`` by
    ``steps.reset``) or that lies under it (``steps`` by ``steps.reset``).  Returns the
    unknown references sorted, empty when all are known; a template that does not parse
    raises ``ExpressionSyntaxError``.
    """
    names = tuple(known)
    references: set[str] = set()
    for text in _strings(obj):
        references.update(parse_template(text).references)
    unknown = (
        reference
        for reference in references
        if not any(_within(reference, name) or _within(name, reference) for name in names)
    )
    return tuple(sorted(unknown))

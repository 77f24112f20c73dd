"""The methods a path serves, told the same way by ``OPTIONS`` and by ``405``.

Each route serves one method, so the router alone would name only the first route of a
path in a 405's ``Allow`` (``POST`` for ``/v1/executions`` while ``GET`` is served too).
Here ``Allow`` lists every method of every route whose path matches, plus ``OPTIONS``.

``OPTIONS`` on any served path answers ``204`` with that ``Allow`` and no body, without
credentials: it tells no more than a 405 tells anyone.  A path no route serves is a 404
whatever the method.  ``HEAD`` is not served.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, compile_path
from starlette.types import Scope

from gateway.api.problems import ApiProblem

__all__ = ["OPTIONS_PATH", "allowed_methods", "router"]

OPTIONS_PATH = "/{path:path}"
router = APIRouter()


def allowed_methods(routes: Iterable[BaseRoute], path: str) -> list[str]:
    """The methods served at ``path`` in a stable order, ``OPTIONS`` last; empty when no
    route serves it."""
    methods: set[str] = set()
    for route in iter_route_contexts(list(routes)):  # included routers' routes too
        if route.path in (None, OPTIONS_PATH) or not route.methods:
            continue
        if _pattern(route.path).match(path):
            methods.update(route.methods)
    if not methods:
        return []
    return [*sorted(methods - {"OPTIONS"}), "OPTIONS"]


@cache
def _pattern(template: str) -> re.Pattern[str]:
    regex, _, _ = compile_path(template)
    return regex


def not_found(scope: Scope) -> ApiProblem:
    """The 404 of a path no route serves; only the ``OPTIONS`` route matched it, so
    ``scope`` forgets that route (metrics count the request as ``unmatched``)."""
    scope.pop("route", None)
    return ApiProblem(404, "not-found", "Not found", "Not Found")


@router.options(OPTIONS_PATH, include_in_schema=False, status_code=204)
def options(request: Request) -> Response:
    """``Allow`` for any served path; 404 for others."""
    allowed = allowed_methods(request.app.router.routes, request.scope["path"])
    if not allowed:
        raise not_found(request.scope)
    return Response(status_code=204, headers={"Allow": ", ".join(allowed)})

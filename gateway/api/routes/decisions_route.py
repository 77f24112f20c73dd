"""A route that answers its common request without FastAPI's per-request machinery.

``quick_route(quick)`` is an ``APIRoute`` class (same path, body model, responses, OpenAPI
operation and exception handlers as any other route) whose handler first offers each
request to ``quick``: a coroutine that either answers a well-formed request itself, or
returns ``None`` before doing anything observable (no credential checked, nothing
counted or written).  A declined request goes through FastAPI's own handler, so every
problem FastAPI reports (malformed JSON, an invalid body, a content type it does not
read as JSON) reads exactly as before.

FastAPI solves a route's dependencies on every request (signature walk, dependency
cache, scopes, one worker-thread hop per synchronous dependency); a decision route that
does the same steps itself, in one hop, costs a fraction of that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["Quick", "quick_route"]

Quick = Callable[[Request], Awaitable[Response | None]]


def quick_route(quick: Quick) -> type[APIRoute]:
    """An ``APIRoute`` class whose requests ``quick`` answers, or declines with ``None``
    to FastAPI's handler."""

    class QuickRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            general = super().get_route_handler()

            async def handler(request: Request) -> Response:
                answer = await quick(request)
                return answer if answer is not None else await general(request)

            return handler

    return QuickRoute

"""Calling the app in-process over httpx (ASGI) from synchronous tests, keeping every
response so a test can check what callers were shown."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp


class ApiClient:
    """A synchronous client for an ASGI app; the app runs on an event loop in a thread."""

    def __init__(self, app: ASGIApp, *, raise_app_exceptions: bool = True) -> None:
        self._portal_context: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self.portal = self._portal_context.__enter__()
        transport = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
        self.responses: list[httpx.Response] = []

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        call = functools.partial(self._client.request, method, url, **options)
        response = self.portal.call(call)
        self.responses.append(response)
        return response

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def close(self) -> None:
        self.portal.call(self._client.aclose)
        self._portal_context.__exit__(None, None, None)

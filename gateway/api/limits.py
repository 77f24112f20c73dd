"""Request limits: body size (checked while the body streams in) and time to answer.

``BodyLimitMiddleware`` refuses a body announced larger than the limit before reading a
byte of it, and stops a streamed body (no ``Content-Length``) as soon as it passes the
limit: the route reading it gets ``BodyTooLargeError``, answered as a 413 problem.

``TimeoutMiddleware`` answers 504 when the app has not started its response within the
limit.  The work itself cannot be interrupted (a decision in a worker thread runs to its
end, and is audited as usual); its late response is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.problems import ApiProblem, problem_response

__all__ = ["BodyLimitMiddleware", "BodyTooLargeError", "TimeoutMiddleware"]

log = logging.getLogger(__name__)


class BodyTooLargeError(HTTPException):
    """The request body passed the limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413,
        "content-too-large",
        "Content too large",
        f"the request body is larger than {limit} bytes",
    )


class BodyLimitMiddleware:
    """Refuses request bodies larger than ``max_bytes`` with a 413 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = Headers(scope=scope).get("content-length", "")
        if announced.isdigit() and int(announced) > self.max_bytes:
            response = problem_response(_too_large(self.max_bytes), scope["path"])
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        await self.app(scope, limited, send)


class TimeoutMiddleware:
    """Answers 504 when the app has not begun to answer within ``seconds``."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._abandoned: set[asyncio.Future[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        timed_out = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if timed_out:
                return  # the client has its 504 already
            started = started or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.seconds)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done:
            await task  # its result, or its error
            return
        timed_out = True
        self._abandoned.add(task)
        task.add_done_callback(self._forget)
        log.warning("%s %s: no answer within %ss", scope["method"], scope["path"], self.seconds)
        if not started:
            problem = ApiProblem(
                504, "timeout", "Request timed out", f"no answer within {self.seconds} seconds"
            )
            await problem_response(problem, scope["path"])(scope, receive, send)

    def _forget(self, task: asyncio.Future[None]) -> None:
        self._abandoned.discard(task)
        with contextlib.suppress(asyncio.CancelledError):
            task.exception()  # retrieved: it ended after its request was answered

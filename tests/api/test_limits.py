"""Limits and robustness: body size, time to answer, unknown routes and failures all end in
problem details."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Body
from starlette.types import Message, Receive, Scope, Send

from gateway.api import DEFAULT_ROUTERS
from gateway.api.limits import BodyLimitMiddleware, TimeoutMiddleware
from gateway.api.metrics import ApiMetrics, MetricsMiddleware
from gateway.errors import ConfigError
from tests.api.conftest import Api, MakeApi

released = threading.Event()
extra = APIRouter()


@extra.get("/test/slow")
def slow() -> dict[str, str]:
    released.wait()
    return {"late": "answer"}


@extra.get("/test/slow-failure")
def slow_failure() -> dict[str, str]:
    released.wait()
    raise RuntimeError("failed after its request was answered")


@extra.get("/test/broken")
def broken() -> dict[str, str]:
    raise RuntimeError("secret internals")


@extra.get("/test/misconfigured")
def misconfigured() -> dict[str, str]:
    raise ConfigError("something only operators should read")


@extra.post("/test/numbers")
def numbers(body: Annotated[list[int], Body()]) -> int:
    return sum(body)


@pytest.fixture
def slow_api(make_api: MakeApi) -> Iterator[Api]:
    released.clear()
    api = make_api("[api]\nrequest_timeout_seconds = 0.05\n", routers=[*DEFAULT_ROUTERS, extra])
    yield api
    released.set()


def test_a_body_announced_too_large_is_refused_before_it_is_read(make_api: MakeApi) -> None:
    api = make_api("[api]\nmax_body_bytes = 2048\n")

    response = api.client.post(
        "/v1/decisions",
        content=b"x" * 4096,
        headers={**api.as_service(), "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["type"] == "urn:it-support-gateway:problem:content-too-large"
    assert response.json()["detail"] == "the request body is larger than 2048 bytes"


def test_a_streamed_body_is_stopped_once_it_passes_the_limit(make_api: MakeApi) -> None:
    api = make_api("[api]\nmax_body_bytes = 2048\n")
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(100):
            sent.append(index)
            yield b" " * 1000

    response = api.client.post(
        "/v1/decisions",
        content=chunks(),
        headers={**api.as_service(), "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["type"] == "urn:it-support-gateway:problem:content-too-large"
    assert len(sent) < 10, "the body was read to its end"


def test_a_body_within_the_limit_passes(make_api: MakeApi) -> None:
    api = make_api("[api]\nmax_body_bytes = 2048\n")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"actor": "elena", "action": "kb.publish", '
        yield b'"resource": "article:x"}'

    response = api.client.post(
        "/v1/decisions",
        content=chunks(),
        headers={**api.as_service(), "Content-Type": "application/json"},
    )

    assert response.status_code == 200


def test_a_request_not_answered_in_time_gets_504_and_its_late_answer_is_dropped(
    slow_api: Api,
) -> None:
    response = slow_api.client.get("/test/slow", headers=slow_api.as_service())
    released.set()

    assert response.status_code == 504
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:timeout"
    assert problem["detail"] == "no answer within 0.05 seconds"
    metrics = slow_api.client.get("/metrics", headers=slow_api.as_service()).text
    assert 'route="/test/slow",status="504"' in metrics


def test_work_failing_after_its_timeout_leaves_nothing_unretrieved(slow_api: Api) -> None:
    response = slow_api.client.get("/test/slow-failure", headers=slow_api.as_service())
    released.set()
    slow_api.client.get("/healthz")  # the loop runs on; the abandoned work has ended

    assert response.status_code == 504


def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    missing = api.client.get("/v2/nothing")
    wrong_method = api.client.request("DELETE", "/healthz")

    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:it-support-gateway:problem:not-found"
    assert missing.json()["instance"] == "/v2/nothing"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "urn:it-support-gateway:problem:method-not-allowed"
    assert wrong_method.headers["allow"] == "GET, OPTIONS"


def test_an_unexpected_failure_is_a_500_problem_that_tells_nothing(make_api: MakeApi) -> None:
    api = make_api(routers=[*DEFAULT_ROUTERS, extra], raise_app_exceptions=False)

    broken_answer = api.client.get("/test/broken", headers=api.as_service())
    misconfigured_answer = api.client.get("/test/misconfigured", headers=api.as_service())

    for response in (broken_answer, misconfigured_answer):
        assert response.status_code == 500
        assert response.json()["type"] == "urn:it-support-gateway:problem:internal-error"
        assert response.json()["detail"] == "the gateway could not complete the request"
    assert "secret internals" not in broken_answer.text
    assert "operators" not in misconfigured_answer.text


def test_items_of_a_list_are_named_by_position(make_api: MakeApi) -> None:
    api = make_api(routers=[*DEFAULT_ROUTERS, extra])

    response = api.client.post("/test/numbers", json=[1, "two", 3])

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "[1]"


def test_a_path_parameter_is_named(api: Api) -> None:
    response = api.client.get("/v1/approvals/" + "x" * 65, headers=api.as_person("priya"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "approval_id"


# -- the middleware on its own, at the ASGI level ------------------------------------------


class Recorder:
    """An ASGI ``send`` that keeps what it is sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)


async def nothing_to_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


HTTP_SCOPE: dict[str, Any] = {"type": "http", "method": "GET", "path": "/x", "headers": []}


def test_a_response_begun_before_the_timeout_is_left_as_it_is() -> None:
    async def run() -> list[Message]:
        resume = asyncio.Event()

        async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            await resume.wait()
            await send({"type": "http.response.body", "body": b"rest", "more_body": False})

        recorder = Recorder()
        await TimeoutMiddleware(streaming, 0.01)(dict(HTTP_SCOPE), nothing_to_receive, recorder)
        resume.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return recorder.messages

    messages = asyncio.run(run())

    assert [message.get("body") for message in messages] == [None, b"part"]


def test_a_cancelled_request_cancels_its_work() -> None:
    async def run() -> bool:
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def waiting(scope: Scope, receive: Receive, send: Send) -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        call = asyncio.ensure_future(
            TimeoutMiddleware(waiting, 60)(dict(HTTP_SCOPE), nothing_to_receive, Recorder())
        )
        await started.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0)
        return cancelled.is_set()

    assert asyncio.run(run())


@pytest.mark.parametrize(
    "middleware",
    [
        lambda app: TimeoutMiddleware(app, 1.0),
        lambda app: BodyLimitMiddleware(app, 1024),
        lambda app: MetricsMiddleware(app, ApiMetrics()),
    ],
    ids=["the timeout", "the body limit", "the metrics"],
)
def test_the_middleware_passes_lifespan_events_through(middleware: Any) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    asyncio.run(middleware(app)({"type": "lifespan"}, nothing_to_receive, Recorder()))

    assert seen == ["lifespan"]


def test_the_app_runs_its_lifespan(api: Api) -> None:
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    recorder = Recorder()

    async def receive() -> Message:
        return next(events)

    asyncio.run(api.app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, recorder))

    assert [m["type"] for m in recorder.messages] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def test_the_body_limit_passes_other_messages_through() -> None:
    received: list[Message] = []

    async def disconnected() -> Message:
        return {"type": "http.disconnect"}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())

    asyncio.run(BodyLimitMiddleware(app, 1024)(dict(HTTP_SCOPE), disconnected, Recorder()))

    assert received == [{"type": "http.disconnect"}]

"""Decisions run in threads of their own: many at once each get their own answer, audited
before it is sent; a caller that stops waiting does not stop its decision; errors come
back to the route that awaited them."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from typing import Any

import httpx
import pytest

from gateway.api.routes.decisions_threads import (
    DATABASE_THREADS,
    FILE_THREADS,
    in_decision_thread,
)
from tests.api.conftest import Api, MakeApi
from tests.postgres import PostgresServer, storage_toml

ASKED = [
    ("elena", "password.reset", "account:tom"),
    ("elena", "software.install", "software:torrent-client"),
    ("omar", "access.grant", "account:tom"),
    ("tom", "password.reset", "account:tom"),
    ("sam", "password.reset", "account:omar"),
]


def test_more_decisions_at_once_than_threads_each_get_their_own_answer_audited_first(
    api: Api,
) -> None:
    headers = api.as_service()
    count = FILE_THREADS + 8
    audited_when_answered: list[bool] = []

    async def ask(client: httpx.AsyncClient, index: int) -> dict[str, Any]:
        actor, action, resource = ASKED[index % len(ASKED)]
        body = {"actor": actor, "action": action, "resource": resource}
        body["context"] = {"ticket": f"INC-{index}"}
        response = await client.post("/v1/decisions", json=body, headers=headers)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        written = {record.decision_id for record in api.audited("decision")}
        audited_when_answered.append(answer["decision_id"] in written)
        return {**answer, "index": index, "actor": actor}

    async def burst() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await asyncio.gather(*(ask(client, index) for index in range(count)))

    answers = asyncio.run(burst())

    assert all(audited_when_answered)
    records = {record.decision_id: record for record in api.audited("decision")}
    assert len(records) == count
    for answer in answers:
        record = records[answer["decision_id"]]
        assert record.actor == answer["actor"]
        assert record.payload["context"]["ticket"] == f"INC-{answer['index']}"
        assert record.payload["decision"] == answer["decision"]


def test_a_caller_that_stops_waiting_leaves_its_work_to_finish_and_the_threads_serving() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    problems: list[dict[str, Any]] = []

    def work() -> str:
        started.set()
        assert release.wait(10)
        finished.set()
        return "too late"

    async def scenario() -> str:
        asyncio.get_running_loop().set_exception_handler(
            lambda _, context: problems.append(context)
        )
        waiting = asyncio.ensure_future(in_decision_thread(work, threads=FILE_THREADS))
        await asyncio.to_thread(started.wait, 10)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        await asyncio.to_thread(finished.wait, 10)
        return await in_decision_thread(lambda: "next", threads=FILE_THREADS)  # still serving

    assert asyncio.run(scenario()) == "next"
    assert finished.is_set()
    assert problems == []


def test_an_error_is_raised_to_the_awaiting_route_and_a_closed_loop_is_not_waited_for() -> None:
    release = threading.Event()
    abandoned: list[asyncio.Future[bool]] = []

    def fail() -> None:
        raise LookupError("no such actor")

    async def abandon() -> None:
        waiting = in_decision_thread(release.wait, 10, threads=FILE_THREADS)
        abandoned.append(asyncio.ensure_future(waiting))
        # its loop ends first

    async def raised() -> str:
        with pytest.raises(LookupError, match="no such actor"):
            await in_decision_thread(fail, threads=FILE_THREADS)
        return await in_decision_thread(lambda: "still serving", threads=FILE_THREADS)

    asyncio.run(abandon())
    release.set()  # the abandoned call returns into a closed loop
    assert abandoned[0].cancelled()
    assert asyncio.run(raised()) == "still serving"


def test_a_forked_worker_process_runs_decisions_in_threads_of_its_own() -> None:
    assert asyncio.run(in_decision_thread(os.getpid, threads=FILE_THREADS)) == os.getpid()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            mine = asyncio.run(in_decision_thread(os.getpid, threads=FILE_THREADS))
            code = 0 if mine == os.getpid() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_callers_context_variables_are_seen_in_the_decision_thread() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")

    async def scenario() -> str:
        request_id.set("req-7")
        return await in_decision_thread(request_id.get, threads=FILE_THREADS)

    assert asyncio.run(scenario()) == "req-7"


def _threads_seen(api: Api) -> set[str]:
    seen: set[str] = set()
    original = api.gateway.authorize

    def authorize(*args: Any, **kwargs: Any) -> Any:
        seen.add(threading.current_thread().name)
        return original(*args, **kwargs)

    api.gateway.authorize = authorize  # type: ignore[method-assign]
    headers = api.as_service()

    async def burst() -> None:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            body = {"actor": "elena", "action": "password.reset", "resource": "account:tom"}
            answers = await asyncio.gather(
                *(client.post("/v1/decisions", json=body, headers=headers) for _ in range(64))
            )
        assert {answer.status_code for answer in answers} == {200}

    asyncio.run(burst())
    return seen


def test_decisions_on_the_audit_file_run_in_the_file_log_threads(api: Api) -> None:
    seen = _threads_seen(api)

    assert seen
    assert seen <= {f"decision-{number}" for number in range(FILE_THREADS)}


@pytest.mark.postgresql
def test_decisions_on_postgresql_run_in_more_threads_than_on_the_audit_file(
    make_api: MakeApi,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_DATABASE_URL", postgres_server.dsn)
    api = make_api(storage_toml(prefix, "GATEWAY_TEST_DATABASE_URL"))

    assert api.app.state.decision_threads == DATABASE_THREADS > FILE_THREADS
    assert _threads_seen(api) <= {f"decision-{number}" for number in range(DATABASE_THREADS)}

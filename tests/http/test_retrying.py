"""One outbound call: what is tried again, how long it waits, and the error it ends in."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from gateway.errors import TargetUnavailableError
from gateway.http import (
    Failure,
    RetryingClient,
    RetryPolicy,
    WaitHint,
    map_failure,
    open_client,
    redact,
    retry_after,
)

NOW = datetime(2026, 5, 1, 9, 0, 0, tzinfo=UTC)
TOKEN = "tok-3f9a-very-secret"

Answer = httpx.Response | Exception


class Desk:
    """A fake server answering each request with the next queued answer (the last repeats)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Unavailable(Exception):
    def __init__(self, message: str, failure: Failure) -> None:
        super().__init__(message)
        self.failure = failure


def _unavailable(failure: Failure) -> Exception:
    return map_failure(failure, lambda text: Unavailable(text, failure))


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def made() -> Iterator[list[RetryingClient]]:
    clients: list[RetryingClient] = []
    yield clients
    for client in clients:
        client.close()


Make = Callable[..., RetryingClient]


@pytest.fixture
def make(waits: list[float], made: list[RetryingClient]) -> Make:
    def build(
        desk: Desk,
        policy: RetryPolicy | None = None,
        *,
        unavailable: Callable[[Failure], Exception] = _unavailable,
        hint: WaitHint = retry_after,
    ) -> RetryingClient:
        client = open_client(
            base_url="https://desk.example/api/",
            timeout=5,
            transport=httpx.MockTransport(desk),
        )
        made.append(
            RetryingClient(
                client,
                name="desk",
                policy=policy or RetryPolicy(),
                unavailable=unavailable,
                sleep=waits.append,
                clock=lambda: NOW,
                hint=hint,
                secrets=(TOKEN,),
            )
        )
        return made[-1]

    return build


def _failure(caught: pytest.ExceptionInfo[Unavailable]) -> Failure:
    return caught.value.failure


def test_a_success_is_answered_at_once(make: Make, waits: list[float]) -> None:
    desk = Desk(httpx.Response(200, json={"ok": True}))
    assert make(desk).request("GET", "/items", params={"q": "a b"}).json() == {"ok": True}
    assert waits == []
    assert str(desk.requests[0].url) == "https://desk.example/api/items?q=a+b"


@pytest.mark.parametrize("status", [400, 401, 404, 409])
def test_a_refusal_is_answered_for_the_connector_to_judge(
    make: Make, waits: list[float], status: int
) -> None:
    desk = Desk(httpx.Response(status))
    assert make(desk).request("POST", "/items", json={}).status_code == status
    assert (waits, len(desk.requests)) == ([], 1)


def test_rate_limits_wait_what_retry_after_asks(make: Make, waits: list[float]) -> None:
    desk = Desk(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": "Fri, 01 May 2026 09:00:03 GMT"}),
        httpx.Response(503, headers={"Retry-After": "120"}),
        httpx.Response(200),
    )
    assert make(desk).request("GET", "/items").status_code == 200
    assert waits == [7.0, 3.0, 30.0]  # seconds, an HTTP-date, capped


def test_server_errors_back_off_exponentially(make: Make, waits: list[float]) -> None:
    desk = Desk(httpx.Response(500), httpx.Response(502), httpx.Response(429), httpx.Response(204))
    assert make(desk).request("DELETE", "/items/1").status_code == 204
    assert waits == [0.5, 1.0, 2.0]


def test_lasting_errors_give_up_with_the_connectors_error(make: Make, waits: list[float]) -> None:
    desk = Desk(httpx.Response(503, headers={"Retry-After": "40"}))
    with pytest.raises(Unavailable) as caught:
        make(desk, RetryPolicy(max_retries=2)).request("GET", "/items")
    assert str(caught.value) == "desk GET /items: HTTP 503; gave up after 3 attempts"
    failure = _failure(caught)
    assert (failure.status, failure.attempts, failure.retry_after) == (503, 3, 40.0)
    assert waits == [30.0, 30.0]
    assert len(desk.requests) == 3


def test_a_policy_without_retries_never_waits(make: Make, waits: list[float]) -> None:
    desk = Desk(httpx.Response(429))
    with pytest.raises(Unavailable) as caught:
        make(desk, RetryPolicy(max_retries=0)).request("GET", "/x")
    assert str(caught.value) == "desk GET /x: rate limited (HTTP 429); gave up after 1 attempts"
    assert waits == []


def test_connection_failures_are_retried_when_the_policy_says_so(
    make: Make, waits: list[float]
) -> None:
    desk = Desk(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200))
    assert make(desk).request("POST", "/items", json={"a": 1}).status_code == 200
    assert waits == [0.5, 1.0]
    assert [request.content for request in desk.requests] == [b'{"a":1}'] * 3


def test_lasting_connection_failures_give_up(make: Make, waits: list[float]) -> None:
    desk = Desk(httpx.ConnectError("refused"))
    with pytest.raises(Unavailable) as caught:
        make(desk).request("GET", "/items")
    assert str(caught.value) == (
        "desk GET /items: cannot be reached (ConnectError); gave up after 4 attempts"
    )
    assert (_failure(caught).error_name, _failure(caught).timed_out) == ("ConnectError", False)
    assert waits == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("error", "timed_out"),
    [(httpx.ConnectTimeout("slow"), True), (httpx.RemoteProtocolError("cut"), False)],
    ids=["a timeout", "a broken connection"],
)
def test_connection_failures_fail_at_once_when_the_policy_says_so(
    make: Make, waits: list[float], error: Exception, timed_out: bool
) -> None:
    desk = Desk(error)
    with pytest.raises(Unavailable) as caught:
        make(desk, RetryPolicy(retry_transport_errors=False)).request("PUT", "/items/1")
    failure = _failure(caught)
    assert (failure.attempts, failure.timed_out, failure.status) == (1, timed_out, None)
    assert (failure.method, failure.url, failure.detail) == ("PUT", "/items/1", str(error))
    assert waits == []


def test_a_request_that_cannot_be_made_is_not_retried(make: Make, waits: list[float]) -> None:
    desk = Desk(httpx.Response(302, headers={"Location": "/elsewhere"}))
    answer = make(desk).request("GET", "/items")  # redirects are never followed
    assert answer.status_code == 302
    broken = Desk(httpx.DecodingError("garbled"))
    with pytest.raises(Unavailable, match=r"cannot be reached \(DecodingError\); gave up after 1"):
        make(broken).request("GET", "/items")
    assert waits == []


def test_no_secret_reaches_the_error_or_the_failure_repr(make: Make) -> None:
    desk = Desk(httpx.ConnectError(f"refused for {TOKEN} and pw-123"))
    with pytest.raises(Unavailable) as caught:
        make(desk, RetryPolicy(max_retries=0)).request(
            "POST", "/reset", where=f"desk reset with {TOKEN}", secrets=("pw-123",)
        )
    failure = _failure(caught)
    assert str(caught.value) == (
        "desk reset with [redacted]: cannot be reached (ConnectError); gave up after 1 attempts"
    )
    assert failure.detail == "refused for [redacted] and [redacted]"
    assert repr(failure) == (
        "Failure('desk reset with [redacted]', POST /reset, ConnectError, attempts=1, "
        "retry_after=None)"
    )


def test_an_empty_secret_redacts_nothing() -> None:
    assert redact("token abc", ["", "abc"]) == "token [redacted]"


def test_a_connector_can_read_its_own_rate_limit_header(make: Make, waits: list[float]) -> None:
    def reset(response: httpx.Response, now: datetime) -> float | None:
        return float(response.headers["X-Reset"]) - now.timestamp()

    desk = Desk(
        httpx.Response(429, headers={"X-Reset": str(NOW.timestamp() + 9)}), httpx.Response(200)
    )
    assert make(desk, hint=reset).request("GET", "/").status_code == 200
    assert waits == [9.0]


def test_a_connector_maps_a_failure_to_its_domain_error(make: Make) -> None:
    def unavailable(failure: Failure) -> Exception:
        return map_failure(failure, lambda text: TargetUnavailableError("desk", text))

    client = make(Desk(httpx.Response(500)), RetryPolicy(max_retries=0), unavailable=unavailable)
    with pytest.raises(TargetUnavailableError) as caught:
        client.request("GET", "/a")
    assert (
        str(caught.value) == "desk is unavailable: desk GET /a: HTTP 500; gave up after 1 attempts"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_retries_are_logged_without_secrets(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.http")
    desk = Desk(httpx.Response(503), httpx.ConnectError("refused"), httpx.Response(200))
    make(desk).request("GET", f"/items/{TOKEN}/x", secrets=("x",))
    assert [record.getMessage() for record in caplog.records] == [
        "desk GET /items/[redacted]/[redacted] -> HTTP 503",
        "desk GET /items/[redacted]/[redacted]: HTTP 503, retrying in 0.5s",
        "desk GET /items/[redacted]/[redacted]: cannot be reached (ConnectError), retrying in 1.0s",
        "desk GET /items/[redacted]/[redacted] -> HTTP 200",
    ]


def test_the_client_shows_its_name_and_policy_only(make: Make) -> None:
    client = make(Desk(httpx.Response(200)))
    assert repr(client) == (
        "RetryingClient(name='desk', policy=RetryPolicy(max_retries=3, backoff_seconds=0.5, "
        "max_wait_seconds=30.0, retry_transport_errors=True))"
    )

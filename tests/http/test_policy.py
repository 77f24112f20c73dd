"""How long an outbound call waits before it is tried again."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from gateway.http import RetryPolicy, is_retryable, retry_after

NOW = datetime(2026, 5, 1, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempt", "asked", "wait"),
    [
        pytest.param(0, None, 0.5, id="the first retry waits the backoff"),
        pytest.param(3, None, 4.0, id="each retry doubles the wait"),
        pytest.param(10, None, 30.0, id="a backoff is capped"),
        pytest.param(0, 12.0, 12.0, id="what the server asks is honoured"),
        pytest.param(0, 120.0, 30.0, id="what the server asks is capped too"),
        pytest.param(0, -5.0, 0.0, id="a negative wait waits nothing"),
    ],
)
def test_waits(attempt: int, asked: float | None, wait: float) -> None:
    assert RetryPolicy().wait(attempt, asked) == wait


def _answer(value: str | None) -> httpx.Response:
    return httpx.Response(429, headers={} if value is None else {"Retry-After": value})


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("12", 12.0, id="delay-seconds are read"),
        pytest.param(" 1.5 ", 1.5, id="a fraction and spaces are read"),
        pytest.param("-5", 0.0, id="a negative delay waits nothing"),
        pytest.param("Fri, 01 May 2026 09:00:42 GMT", 42.0, id="an HTTP-date is counted from now"),
        pytest.param("Fri, 01 May 2026 09:00:42 -0000", 42.0, id="a date without a zone is GMT"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="a date in the past waits nothing"),
        pytest.param("soon", None, id="an unreadable value says nothing"),
        pytest.param("inf", None, id="an endless delay says nothing"),
        pytest.param("", None, id="an empty value says nothing"),
        pytest.param(None, None, id="no header says nothing"),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str | None, seconds: float | None) -> None:
    assert retry_after(_answer(value), NOW) == seconds


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(200, False), (404, False), (429, True), (499, False), (500, True), (503, True)],
)
def test_only_rate_limits_and_server_errors_are_retryable(status: int, retryable: bool) -> None:
    assert is_retryable(status) is retryable

"""Backoff arithmetic and keeping secret URLs out of httpx's log lines."""

from __future__ import annotations

import logging

import pytest

from gateway.notify import RetryPolicy
from gateway.notify.retry import _FILTER, hide_url_in_logs


@pytest.mark.parametrize(
    ("attempt", "retry_after", "wait"),
    [
        pytest.param(0, None, 0.5, id="the first retry waits the backoff"),
        pytest.param(3, None, 4.0, id="each retry doubles the wait"),
        pytest.param(10, None, 30.0, id="a wait is capped"),
        pytest.param(0, "12", 12.0, id="retry-after seconds are honoured"),
        pytest.param(0, "-5", 0.0, id="a negative retry-after waits nothing"),
        pytest.param(2, "Wed, 21 Oct 2015 07:28:00 GMT", 2.0, id="a retry-after date backs off"),
    ],
)
def test_waits(attempt: int, retry_after: str | None, wait: float) -> None:
    assert RetryPolicy().wait(attempt, retry_after) == wait


def test_log_records_keep_their_args_unless_they_hold_a_secret_url() -> None:
    shown = hide_url_in_logs("https://hooks.example.com/services/T/B/abcdef-secret")
    assert shown == "https://hooks.example.com/[redacted]"
    logger = logging.getLogger("httpx")
    record = logger.makeRecord("httpx", logging.INFO, __file__, 1, "%(a)s", (), None)
    record.args = {"a": "https://hooks.example.com/services/T/B/abcdef-secret"}
    assert _FILTER.filter(record) is True  # a mapping is left alone
    record = logger.makeRecord(
        "httpx", logging.INFO, __file__, 1, "%s %s %d",
        ("POST", "https://hooks.example.com/services/T/B/abcdef-secret", 200), None,
    )  # fmt: skip
    _FILTER.filter(record)
    assert record.getMessage() == "POST https://hooks.example.com/[redacted] 200"

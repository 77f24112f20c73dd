"""Secret URLs stay out of httpx's log lines."""

from __future__ import annotations

import logging

from gateway.http import hide_url_in_logs
from gateway.http.secrets import _FILTER


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

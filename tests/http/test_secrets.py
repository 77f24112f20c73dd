"""Credentials come from the environment and stay out of httpx's log lines."""

from __future__ import annotations

import logging

import pytest

from gateway.errors import ConfigError
from gateway.http import hide_url_in_logs, secret_from_env
from gateway.http.secrets import _FILTER


def test_a_secret_is_read_from_the_variable_its_table_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KB_TOKEN", "s3cret")
    table = {"base_url": "https://kb.example", "token_env": "KB_TOKEN"}
    assert secret_from_env("knowledge.kb", table, "token") == {
        "base_url": "https://kb.example",
        "token": "s3cret",
    }


def test_an_optional_secret_that_is_not_named_is_left_out() -> None:
    assert secret_from_env("s", {"a": 1}, "token") == {"a": 1}


@pytest.mark.parametrize(
    ("table", "required", "message"),
    [
        pytest.param({}, True, "s.token_env: name the environment variable holding it",
                     id="a required secret must be named"),
        pytest.param({"token_env": ""}, False, "s.token_env: name the environment variable",
                     id="an empty name is refused"),
        pytest.param({"token_env": "NOT_SET_ANYWHERE"}, False,
                     "s.token_env: environment variable NOT_SET_ANYWHERE is not set",
                     id="an unset variable is named"),
    ],
)  # fmt: skip
def test_a_missing_secret_is_a_configuration_error(
    table: dict[str, str], required: bool, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        secret_from_env("s", table, "token", required=required)


def test_an_empty_variable_is_not_set_and_its_value_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMPTY_TOKEN", "")
    with pytest.raises(ConfigError) as caught:
        secret_from_env("s", {"token_env": "EMPTY_TOKEN"}, "token")
    assert str(caught.value) == "s.token_env: environment variable EMPTY_TOKEN is not set"


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

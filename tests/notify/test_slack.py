"""Slack: incoming webhooks and chat.postMessage against a local server speaking their shapes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from gateway.notify import (
    Notification,
    NotificationError,
    NotificationKind,
    RetryPolicy,
    SlackBotSettings,
    SlackNotifier,
    SlackWebhookSettings,
)
from gateway.notify.slack import slack_blocks
from tests.integration.webhook_servers import SECRET, TOKEN, WebhookServer, running_server

NOTE = Notification(
    kind=NotificationKind.APPROVAL_REQUESTED,
    title="Please approve: reset password for bob",
    text="alice asks to reset bob's password.",
    recipients=("C0001",),
    link="https://gateway.example/approvals/42",
    fields={"ticket": "INC0012", "password": "hunter2"},
)


@pytest.fixture
def server() -> Iterator[WebhookServer]:
    yield from running_server()


@pytest.fixture(autouse=True)
def opened() -> Iterator[list[SlackNotifier]]:
    """Every notifier made by ``webhook``/``bot`` in a test, closed after it."""
    OPENED.clear()
    yield OPENED
    for notifier in OPENED:
        notifier.close()


OPENED: list[SlackNotifier] = []


def webhook(server: WebhookServer, waits: list[float], url: str | None = None) -> SlackNotifier:
    settings = SlackWebhookSettings(webhook_url=url or server.slack_webhook_url)
    OPENED.append(SlackNotifier(settings, sleep=waits.append))
    return OPENED[-1]


def bot(server: WebhookServer, waits: list[float], **overrides: object) -> SlackNotifier:
    data: dict[str, object] = {"token": TOKEN, "api_url": f"{server.base_url}/api"}
    data.update(overrides)
    OPENED.append(SlackNotifier(SlackBotSettings.model_validate(data), sleep=waits.append))
    return OPENED[-1]


def test_a_webhook_post_carries_text_and_blocks(server: WebhookServer) -> None:
    waits: list[float] = []
    with webhook(server, waits) as notifier:
        notifier.send(NOTE)
    [request] = server.requests
    assert request.body["text"].startswith("Please approve: reset password for bob\n")
    assert request.body["blocks"] == slack_blocks(NOTE)
    assert request.body["blocks"][2]["fields"][1] == {
        "type": "plain_text",
        "text": "password: [redacted]",
    }
    assert request.body["blocks"][3]["elements"][0]["url"] == NOTE.link
    assert "hunter2" not in str(request.body)
    assert waits == []


def test_blocks_fit_slack_limits_and_skip_empty_parts() -> None:
    note = Notification(kind=NotificationKind.EXPIRED, title="t" * 200, text="x" * 5000)
    header, section = slack_blocks(note)
    assert len(header["text"]["text"]) == 150
    assert header["text"]["text"].endswith("…")
    assert len(section["text"]["text"]) == 3000


@pytest.mark.parametrize(
    ("status", "body", "message", "retryable"),
    [
        pytest.param(400, b"invalid_payload", "HTTP 400 invalid_payload", False, id="bad payload"),
        pytest.param(
            410,
            b"channel_is_archived",
            "HTTP 410 channel_is_archived",
            False,
            id="an archived channel is final",
        ),
        pytest.param(200, b"", "HTTP 200 (empty body)", True, id="an empty 200 is not ok"),
    ],
)
def test_webhook_errors_are_clear(
    server: WebhookServer, status: int, body: bytes, message: str, retryable: bool
) -> None:
    server.answer_raw(1, status, body, "text/html")
    with pytest.raises(NotificationError) as caught:
        webhook(server, []).send(NOTE)
    assert str(caught.value) == f"Slack webhook at 127.0.0.1: {message}"
    assert caught.value.retryable is retryable


def test_a_wrong_webhook_secret_never_shows_the_url(server: WebhookServer) -> None:
    url = server.slack_webhook_url + "-revoked"
    server.answer_raw(1, 404, f"no_service for {url}".encode(), "text/html")
    notifier = webhook(server, [], url)
    with pytest.raises(NotificationError) as caught:
        notifier.send(NOTE)
    assert str(caught.value) == "Slack webhook at 127.0.0.1: HTTP 404 no_service for [redacted]"
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(notifier)
    assert SECRET not in repr(SlackWebhookSettings(webhook_url=url))


def test_429_honours_retry_after_and_5xx_backs_off(server: WebhookServer) -> None:
    server.rate_limit(1, retry_after="7")
    server.fail(2, status=503)
    waits: list[float] = []
    webhook(server, waits).send(NOTE)
    assert waits == [7.0, 1.0, 2.0]  # Retry-After, then 0.5 * 2**1, 0.5 * 2**2
    assert len(server.requests) == 4


def test_a_rate_limit_until_an_http_date_is_waited_out_within_the_cap(
    server: WebhookServer,
) -> None:
    server.rate_limit(1, retry_after="Fri, 01 Jan 2100 00:00:00 GMT")
    waits: list[float] = []
    webhook(server, waits).send(NOTE)
    assert waits == [30.0]  # the date asks for decades; max_wait_seconds caps it
    assert len(server.requests) == 2


def test_retries_give_up_after_the_policy_allows(server: WebhookServer) -> None:
    server.fail(3, status=500)
    waits: list[float] = []
    settings = SlackWebhookSettings(webhook_url=server.slack_webhook_url)
    notifier = SlackNotifier(settings, retry=RetryPolicy(max_retries=2), sleep=waits.append)
    OPENED.append(notifier)
    with pytest.raises(NotificationError) as caught:
        notifier.send(NOTE)
    assert str(caught.value) == "Slack webhook at 127.0.0.1: HTTP 500; gave up after 3 attempts"
    assert waits == [0.5, 1.0]


def test_a_server_that_is_down_is_retried_then_reported(server: WebhookServer) -> None:
    waits: list[float] = []
    notifier = webhook(server, waits)
    server.stop()
    with pytest.raises(NotificationError) as caught:
        notifier.send(NOTE)
    assert str(caught.value) == (
        "Slack webhook at 127.0.0.1: cannot be reached (ConnectError); gave up after 4 attempts"
    )
    assert waits == [0.5, 1.0, 2.0]


def test_the_webhook_url_is_kept_out_of_httpx_logs(
    server: WebhookServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        webhook(server, []).send(NOTE)
    assert "HTTP Request" in caplog.text
    assert "http://127.0.0.1/[redacted]" in caplog.text
    assert SECRET not in caplog.text


def test_chat_post_message_sends_a_bearer_token_to_the_configured_channel(
    server: WebhookServer,
) -> None:
    with bot(server, [], channel="C0001") as notifier:
        notifier.send(NOTE.model_copy(update={"recipients": ("U0001",)}))
    [request] = server.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.body["channel"] == "C0001"
    assert request.body["blocks"] == slack_blocks(NOTE)
    assert TOKEN not in repr(notifier)


def test_without_a_channel_each_recipient_gets_the_message(server: WebhookServer) -> None:
    server.channels.add("U0002")
    note = NOTE.model_copy(update={"recipients": ("C0001", "U0002")})
    bot(server, []).send(note)
    assert [request.body["channel"] for request in server.requests] == ["C0001", "U0002"]


def test_no_channel_and_no_recipients_is_refused(server: WebhookServer) -> None:
    with pytest.raises(NotificationError) as caught:
        bot(server, []).send(NOTE.model_copy(update={"recipients": ()}))
    assert str(caught.value) == (
        "Slack chat.postMessage at 127.0.0.1: no channel configured and no recipients"
    )
    assert caught.value.retryable is False
    assert server.requests == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"channel": "C9999"},
            "channel_not_found (channel C9999)",
            id="an unknown channel is named",
        ),
        pytest.param(
            {"token": "xoxb-wrong-token"},
            "invalid_auth (channel C0001)",
            id="a wrong token is invalid_auth",
        ),
    ],
)
def test_slack_api_errors_are_clear(
    server: WebhookServer, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(NotificationError) as caught:
        bot(server, [], **overrides).send(NOTE)
    assert str(caught.value) == f"Slack chat.postMessage at 127.0.0.1: {message}"
    assert caught.value.retryable is False
    assert "xoxb" not in str(caught.value)


def test_an_echoed_token_is_redacted_and_a_missing_error_code_named(
    server: WebhookServer,
) -> None:
    server.answer_raw(
        1, 200, f'{{"ok": false, "error": "bad {TOKEN}"}}'.encode(), "application/json"
    )
    server.answer_raw(1, 200, b'{"ok": false}', "application/json")
    server.answer_raw(1, 200, b'{"ok": false, "error": "ratelimited"}', "application/json")
    notifier = bot(server, [], channel="C0001")
    messages = []
    for _ in range(3):
        with pytest.raises(NotificationError) as caught:
            notifier.send(NOTE)
        messages.append((str(caught.value).split(": ", 1)[1], caught.value.retryable))
    assert messages == [
        ("bad [redacted] (channel C0001)", False),
        ("no error code (channel C0001)", False),
        ("ratelimited (channel C0001)", True),
    ]


@pytest.mark.parametrize(
    ("status", "body", "content_type", "found"),
    [
        pytest.param(200, b"<html>", "text/html", "HTTP 200 text/html", id="html is not json"),
        pytest.param(
            200,
            b"[1]",
            "application/json",
            "HTTP 200 application/json",
            id="a json list is not an answer",
        ),
        pytest.param(
            403,
            b'{"ok": false}',
            "application/json",
            "HTTP 403 application/json",
            id="a json error with a 4xx status",
        ),
        pytest.param(404, b"", "", "HTTP 404 no content type", id="no content type at all"),
    ],
)
def test_unexpected_api_answers_are_reported(
    server: WebhookServer, status: int, body: bytes, content_type: str, found: str
) -> None:
    server.answer_raw(1, status, body, content_type)
    with pytest.raises(NotificationError) as caught:
        bot(server, [], channel="C0001").send(NOTE)
    assert str(caught.value) == (
        f"Slack chat.postMessage at 127.0.0.1: expected HTTP 200 with a JSON object, found {found}"
    )


def test_api_rate_limits_are_waited_out(server: WebhookServer) -> None:
    server.rate_limit(1, retry_after=None)
    server.rate_limit(1, retry_after="soon")
    server.rate_limit(1, retry_after="120")
    waits: list[float] = []
    bot(server, waits, channel="C0001").send(NOTE)
    assert waits == [0.5, 1.0, 30.0]  # backoff, backoff (unparsable), capped Retry-After

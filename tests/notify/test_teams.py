"""Teams: Workflows and legacy connector webhooks against a local server speaking their shapes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.notify import (
    Notification,
    NotificationError,
    NotificationKind,
    RetryPolicy,
    TeamsNotifier,
    TeamsSettings,
)
from gateway.notify.teams import adaptive_card, message_card
from tests.integration.webhook_servers import SECRET, WebhookServer, running_server

NOTE = Notification(
    kind=NotificationKind.ESCALATED,
    title="Escalated: approval for bob waits 2h",
    text="Nobody approved the password reset for bob; escalating to the on-call lead.",
    link="https://gateway.example/approvals/42",
    fields={"ticket": "INC0012", "session_token": "abc"},
)
BARE = Notification(kind=NotificationKind.EXPIRED, title="Expired", text="Request 42 expired.")


@pytest.fixture
def server() -> Iterator[WebhookServer]:
    yield from running_server()


@pytest.fixture
def notifiers() -> Iterator[list[TeamsNotifier]]:
    made: list[TeamsNotifier] = []
    yield made
    for notifier in made:
        notifier.close()


def teams(
    made: list[TeamsNotifier], url: str, waits: list[float], **extra: object
) -> TeamsNotifier:
    settings = TeamsSettings.model_validate({"webhook_url": url, **extra})
    made.append(TeamsNotifier(settings, sleep=waits.append, retry=RetryPolicy(max_retries=1)))
    return made[-1]


def test_a_workflow_webhook_takes_an_adaptive_card_and_answers_202(
    server: WebhookServer, notifiers: list[TeamsNotifier]
) -> None:
    teams(notifiers, server.teams_workflow_url, []).send(NOTE)
    [request] = server.requests
    assert request.body == adaptive_card(NOTE)
    [attachment] = request.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard"
    assert content["body"][2]["facts"][1] == {"title": "session_token", "value": "[redacted]"}
    assert content["actions"][0] == {"type": "Action.OpenUrl", "title": "Open", "url": NOTE.link}


def test_a_legacy_connector_takes_a_message_card_and_answers_1(
    server: WebhookServer, notifiers: list[TeamsNotifier]
) -> None:
    with TeamsNotifier(TeamsSettings(webhook_url=server.teams_legacy_url, card="message")) as n:
        n.send(NOTE)
    [request] = server.requests
    assert request.body == message_card(NOTE)
    assert request.body["@type"] == "MessageCard"
    assert request.body["sections"][0]["facts"][0] == {"name": "ticket", "value": "INC0012"}
    assert request.body["potentialAction"][0]["targets"][0]["uri"] == NOTE.link


def test_a_legacy_connector_also_takes_an_adaptive_card(
    server: WebhookServer, notifiers: list[TeamsNotifier]
) -> None:
    teams(notifiers, server.teams_legacy_url, []).send(BARE)
    assert "actions" not in server.requests[0].body["attachments"][0]["content"]


def test_cards_without_fields_or_link_have_no_empty_parts() -> None:
    assert set(message_card(BARE)) == {"@type", "@context", "summary", "title", "text"}
    assert len(adaptive_card(BARE)["attachments"][0]["content"]["body"]) == 2


@pytest.mark.parametrize(
    ("status", "body", "shown", "retryable"),
    [
        pytest.param(
            400,
            b"Summary or Text is required.",
            "HTTP 400 Summary or Text is required.",
            False,
            id="a rejected card is final",
        ),
        pytest.param(
            200,
            b"Webhook message delivery failed with error: Microsoft Teams endpoint "
            b"returned HTTP error 429",
            "HTTP 200 Webhook message delivery failed with "
            "error: Microsoft Teams endpoint returned HTTP error 429",
            True,
            id="a throttled legacy connector answers 200 with an error text",
        ),
        pytest.param(200, b"", "HTTP 200 (empty body)", False, id="an empty 200 is not 1"),
    ],
)
def test_teams_errors_are_clear(
    server: WebhookServer,
    notifiers: list[TeamsNotifier],
    status: int,
    body: bytes,
    shown: str,
    retryable: bool,
) -> None:
    server.answer_raw(1, status, body, "text/plain")
    with pytest.raises(NotificationError) as caught:
        teams(notifiers, server.teams_legacy_url, []).send(NOTE)
    assert str(caught.value) == f"Teams webhook at 127.0.0.1: {shown}"
    assert caught.value.retryable is retryable


def test_the_webhook_url_never_shows(server: WebhookServer, notifiers: list[TeamsNotifier]) -> None:
    url = server.teams_workflow_url
    server.answer_raw(1, 404, f"no workflow at {url}".encode(), "text/plain")
    notifier = teams(notifiers, url, [])
    with pytest.raises(NotificationError) as caught:
        notifier.send(NOTE)
    assert str(caught.value) == "Teams webhook at 127.0.0.1: HTTP 404 no workflow at [redacted]"
    assert SECRET not in repr(notifier)
    assert SECRET not in repr(notifier._settings)


def test_teams_retries_429_and_5xx(server: WebhookServer, notifiers: list[TeamsNotifier]) -> None:
    server.rate_limit(1, retry_after="3")
    server.fail(2, status=502)
    waits: list[float] = []
    notifier = teams(notifiers, server.teams_workflow_url, waits)
    with pytest.raises(NotificationError, match=r"HTTP 502; gave up after 2 attempts"):
        notifier.send(NOTE)
    notifier.send(NOTE)
    assert waits == [3.0, 0.5]

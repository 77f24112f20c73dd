"""Notifications to Slack, by incoming webhook or by ``chat.postMessage`` with a bot token.

Incoming webhook: ``POST <webhook_url>`` with ``{"text", "blocks"}``; Slack answers HTTP 200
with the body ``ok``, or a 4xx with a short error code as the body (``invalid_payload``,
``no_service``, ``channel_is_archived``, ...).  The webhook URL is a secret.

``chat.postMessage``: ``POST <api_url>/chat.postMessage`` with ``Authorization: Bearer
<token>`` and ``{"channel", "text", "blocks"}``; Slack answers HTTP 200 with ``{"ok": true,
...}`` or ``{"ok": false, "error": "channel_not_found"}``.  The message goes to ``channel``
when set, otherwise to each of the notification's recipients (channel or user ids).

Both retry connection failures, 5xx and 429 (honouring ``Retry-After``), see
``gateway.http``.  Blocks: a header (the title), a section (the text), a section of
fields and a button for the link; ``text`` is the plain fallback shown in notifications.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from gateway.http import RetryingClient, RetryPolicy, hide_url_in_logs, map_failure, open_client
from gateway.notify.errors import NotificationError
from gateway.notify.model import Notification, NotificationKind
from gateway.notify.settings import SlackBotSettings, SlackWebhookSettings

__all__ = [
    "APPROVE_ACTION",
    "REJECT_ACTION",
    "SlackBotSettings",
    "SlackNotifier",
    "SlackWebhookSettings",
    "approval_buttons",
    "slack_blocks",
]

APPROVE_ACTION = "approval.approve"
REJECT_ACTION = "approval.reject"
_ASKING = frozenset({NotificationKind.APPROVAL_REQUESTED, NotificationKind.ESCALATED})

_PERMANENT_WEBHOOK = frozenset({400, 403, 404, 410})


def _plain(text: str, limit: int) -> dict[str, Any]:
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": cut}


def approval_buttons(approval_id: str, digest: str) -> dict[str, Any]:
    """Approve / Reject buttons whose value binds the vote to the request and its digest
    (``<approval id> <digest>``); the gateway's Slack interactivity endpoint takes them."""
    value = f"{approval_id} {digest}"
    return {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            {"type": "button", "action_id": APPROVE_ACTION, "style": "primary",
             "text": _plain("Approve", 75), "value": value},
            {"type": "button", "action_id": REJECT_ACTION, "style": "danger",
             "text": _plain("Reject", 75), "value": value},
        ],
    }  # fmt: skip


def slack_blocks(notification: Notification) -> list[dict[str, Any]]:
    """Block Kit blocks for ``notification``, within Slack's length limits; a request for
    an approval (its ``request`` and ``digest`` fields) carries Approve / Reject buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(notification.title, 150)},
        {"type": "section", "text": _plain(notification.text, 3000)},
    ]
    if notification.fields:
        pairs = list(notification.fields.items())[:10]
        fields = [_plain(f"{name}: {value}", 2000) for name, value in pairs]
        blocks.append({"type": "section", "fields": fields})
    if notification.link:
        button = {"type": "button", "text": _plain("Open", 75), "url": notification.link}
        blocks.append({"type": "actions", "elements": [button]})
    request, digest = notification.fields.get("request"), notification.fields.get("digest")
    if notification.kind in _ASKING and request and digest:
        blocks.append(approval_buttons(request, digest))
    return blocks


class SlackNotifier:
    """A ``Notifier`` for Slack over one pooled ``httpx.Client``.

    ``transport`` replaces the network (tests); ``sleep`` performs every retry wait.
    """

    def __init__(
        self,
        settings: SlackWebhookSettings | SlackBotSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        if isinstance(settings, SlackWebhookSettings):
            secret = settings.secret("webhook_url").get_secret_value()
            hide_url_in_logs(secret)
            self._where = f"Slack webhook at {httpx.URL(secret).host}"
            token = None
        else:
            secret = settings.secret("token").get_secret_value()
            self._where = f"Slack chat.postMessage at {httpx.URL(settings.api_url).host}"
            token = settings.secret("token")
        client = open_client(timeout=settings.timeout_seconds, token=token, transport=transport)
        self._http = RetryingClient(
            client,
            name="slack",
            policy=retry or RetryPolicy(),
            unavailable=lambda failure: map_failure(failure, NotificationError),
            sleep=sleep,
            secrets=(secret,),
        )

    def __repr__(self) -> str:
        return f"SlackNotifier({self._where!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackNotifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, notification: Notification) -> None:
        body: dict[str, Any] = {"text": _fallback(notification)}
        body["blocks"] = slack_blocks(notification)
        if isinstance(self._settings, SlackWebhookSettings):
            self._webhook(body, self._settings.secret("webhook_url").get_secret_value())
            return
        channels = (self._settings.channel,) if self._settings.channel else notification.recipients
        if not channels:
            raise NotificationError(
                f"{self._where}: no channel configured and no recipients", retryable=False
            )
        for channel in channels:
            self._post_message({"channel": channel, **body}, self._settings)

    def _webhook(self, body: dict[str, Any], url: str) -> None:
        response = self._http.request("POST", url, json=body, where=self._where)
        answer = response.text.strip()
        if response.status_code == 200 and answer == "ok":
            return
        code = _short(answer.replace(url, "[redacted]"))
        raise NotificationError(
            f"{self._where}: HTTP {response.status_code} {code}",
            retryable=response.status_code not in _PERMANENT_WEBHOOK,
        )

    def _post_message(self, body: dict[str, Any], settings: SlackBotSettings) -> None:
        token = settings.secret("token").get_secret_value()
        url = f"{settings.api_url.rstrip('/')}/chat.postMessage"
        response = self._http.request("POST", url, json=body, where=self._where)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or response.status_code != 200:
            kind = response.headers.get("Content-Type", "no content type")
            raise NotificationError(
                f"{self._where}: expected HTTP 200 with a JSON object, "
                f"found HTTP {response.status_code} {kind}"
            )
        if answer.get("ok") is True:
            return
        error = _short(str(answer.get("error", "no error code")).replace(token, "[redacted]"))
        raise NotificationError(
            f"{self._where}: {error} (channel {body['channel']})",
            retryable=error in {"ratelimited", "rate_limited", "internal_error", "fatal_error"},
        )


def _fallback(notification: Notification) -> str:
    return f"{notification.title}\n{notification.text}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text[:120] if text else "(empty body)"

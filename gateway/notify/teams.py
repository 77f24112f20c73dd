"""Notifications to a Microsoft Teams channel by incoming webhook.

Two kinds of webhook, both a secret URL:

- a Workflows webhook ("Post to a channel when a webhook request is received") takes an
  Adaptive Card in a message: ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", ...}}]}``
  and answers HTTP 202 Accepted;
- a legacy Office 365 connector takes that too, or a ``MessageCard`` (``card="message"``),
  and answers HTTP 200 with the body ``1``; anything else in a 200 body is its error text.

Connection failures, 5xx and 429 are retried (see ``gateway.http``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from gateway.http import RetryingClient, RetryPolicy, hide_url_in_logs, map_failure, open_client
from gateway.notify.errors import NotificationError
from gateway.notify.model import Notification, NotificationKind
from gateway.notify.settings import TeamsSettings

__all__ = ["TeamsNotifier", "TeamsSettings", "adaptive_card", "approval_card", "message_card"]

_ASKING = frozenset({NotificationKind.APPROVAL_REQUESTED, NotificationKind.ESCALATED})


def _execute(approval_id: str, digest: str) -> list[dict[str, Any]]:
    """Approve / Reject as ``Action.Execute`` (a bot receives them as ``adaptiveCard/action``
    invokes), bound to the request and its digest."""
    data = {"approval_id": approval_id, "digest": digest}
    return [
        {"type": "Action.Execute", "title": "Approve", "verb": "approve", "data": data,
         "style": "positive"},
        {"type": "Action.Execute", "title": "Reject", "verb": "reject", "data": data,
         "style": "destructive"},
    ]  # fmt: skip


def approval_card(
    approval_id: str, digest: str, title: str, text: str, *, pending: bool
) -> dict[str, Any]:
    """The card of an approval request; its actions while it is pending."""
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": text, "wrap": True},
        ],
    }
    if pending:
        card["actions"] = _execute(approval_id, digest)
    return card


def adaptive_card(notification: Notification) -> dict[str, Any]:
    """A message holding one Adaptive Card (schema 1.4)."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": notification.title, "weight": "Bolder",
         "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": notification.text, "wrap": True},
    ]  # fmt: skip
    if notification.fields:
        facts = [{"title": name, "value": value} for name, value in notification.fields.items()]
        body.append({"type": "FactSet", "facts": facts})
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    actions: list[dict[str, Any]] = []
    if notification.link:
        actions.append({"type": "Action.OpenUrl", "title": "Open", "url": notification.link})
    request, digest = notification.fields.get("request"), notification.fields.get("digest")
    if notification.kind in _ASKING and request and digest:
        actions.extend(_execute(request, digest))
    if actions:
        content["actions"] = actions
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": content,
    }
    return {"type": "message", "attachments": [attachment]}


def message_card(notification: Notification) -> dict[str, Any]:
    """A legacy connector ``MessageCard``."""
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": notification.title,
        "title": notification.title,
        "text": notification.text,
    }
    if notification.fields:
        facts = [{"name": name, "value": value} for name, value in notification.fields.items()]
        card["sections"] = [{"facts": facts}]
    if notification.link:
        target = {"os": "default", "uri": notification.link}
        card["potentialAction"] = [{"@type": "OpenUri", "name": "Open", "targets": [target]}]
    return card


class TeamsNotifier:
    """A ``Notifier`` for one Teams webhook over a pooled ``httpx.Client``."""

    def __init__(
        self,
        settings: TeamsSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        url = settings.secret("webhook_url").get_secret_value()
        hide_url_in_logs(url)
        self._where = f"Teams webhook at {httpx.URL(url).host}"
        self._http = RetryingClient(
            open_client(timeout=settings.timeout_seconds, transport=transport),
            name="teams",
            policy=retry or RetryPolicy(),
            unavailable=lambda failure: map_failure(failure, NotificationError),
            sleep=sleep,
            secrets=(url,),
        )

    def __repr__(self) -> str:
        return f"TeamsNotifier({self._where!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TeamsNotifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, notification: Notification) -> None:
        url = self._settings.secret("webhook_url").get_secret_value()
        shape = adaptive_card if self._settings.card == "adaptive" else message_card
        response = self._http.request("POST", url, json=shape(notification), where=self._where)
        answer = response.text.strip()
        if response.status_code == 202 or (response.status_code == 200 and answer == "1"):
            return
        shown = " ".join(answer.replace(url, "[redacted]").split())[:120] or "(empty body)"
        raise NotificationError(
            f"{self._where}: HTTP {response.status_code} {shown}",
            retryable=response.status_code == 200 and "429" in answer,
        )

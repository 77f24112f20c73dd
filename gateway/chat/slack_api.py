"""The few Slack Web API calls the chat entry makes, through ``gateway.http``.

- ``users.info`` (``GET <api>/users.info?user=U...``, form arguments only; scopes
  ``users:read`` and ``users:read.email``): ``{"ok": true, "user": {"id", "deleted",
  "is_bot", "is_email_confirmed", "profile": {"email", ...}}}``;
- ``chat.update`` (JSON ``{"channel", "ts", "text", "blocks"}``) and ``views.open``
  (JSON ``{"trigger_id", "view"}``): ``{"ok": true, ...}`` or ``{"ok": false, "error"}``;
- a message's ``response_url``: POST JSON ``{"replace_original": true, "text",
  "blocks"}``, without the token (the URL itself is the credential and is never logged),
  only to ``hooks.slack.com`` or the host of ``api_url``.

Every call carries the bot token as ``Authorization: Bearer``; a refusal or an unusable
answer becomes ``SlackApiError`` whose message holds neither token nor URL secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from gateway.errors import GatewayError
from gateway.http import RetryingClient, RetryPolicy, map_failure, open_client

__all__ = ["SlackApiError", "SlackUser", "SlackWebApi"]


class SlackApiError(GatewayError):
    """A Slack Web API call failed or was refused."""


class SlackUser:
    """What ``users.info`` says of a user: the e-mail only when Slack confirmed it."""

    def __init__(self, user_id: str, email: str | None) -> None:
        self.id = user_id
        self.email = email


class SlackWebApi:
    def __init__(
        self,
        api_url: str,
        token: SecretStr | None,
        *,
        timeout: float,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = api_url.rstrip("/")
        self._has_token = token is not None
        secrets = (token.get_secret_value(),) if token is not None else ()
        self._http = RetryingClient(
            open_client(timeout=timeout, token=token, transport=transport),
            name="slack-api",
            policy=retry or RetryPolicy(max_retries=1),
            unavailable=lambda failure: map_failure(failure, SlackApiError),
            sleep=sleep,
            secrets=secrets,
        )
        self._secrets = secrets
        # response URLs get no token: the URL is the credential; only Slack's hosts
        self._hooks = RetryingClient(
            open_client(timeout=timeout, transport=transport),
            name="slack-response-url",
            policy=retry or RetryPolicy(max_retries=1),
            unavailable=lambda failure: map_failure(failure, SlackApiError),
            sleep=sleep,
        )
        self._hook_hosts = frozenset({"hooks.slack.com", httpx.URL(self._api).host})

    def close(self) -> None:
        self._http.close()
        self._hooks.close()

    def _answer(self, method: str, response: httpx.Response) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict):
            raise SlackApiError(f"Slack {method}: HTTP {response.status_code}, not a JSON object")
        if answer.get("ok") is not True:
            error = str(answer.get("error", "no error code"))[:80]
            for secret in self._secrets:
                error = error.replace(secret, "[redacted]")
            raise SlackApiError(f"Slack {method}: {error}")
        return answer

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self._has_token:
            raise SlackApiError(f"Slack {method}: no bot token is configured (token_env)")
        url = f"{self._api}/{method}"
        response = self._http.request("POST", url, json=body, where=f"Slack {method}")
        return self._answer(method, response)

    def user(self, user_id: str) -> SlackUser:
        """``users.info``; the e-mail is kept only when confirmed and not a bot's."""
        if not self._has_token:
            raise SlackApiError("Slack users.info: no bot token is configured (token_env)")
        response = self._http.request(
            "GET", f"{self._api}/users.info", params={"user": user_id}, where="Slack users.info"
        )
        found = self._answer("users.info", response).get("user")
        if not isinstance(found, dict):
            raise SlackApiError("Slack users.info: the answer has no user")
        profile = found.get("profile")
        email = profile.get("email") if isinstance(profile, dict) else None
        usable = (
            found.get("deleted") is not True
            and found.get("is_bot") is not True
            and found.get("is_email_confirmed") is not False
        )
        return SlackUser(user_id, email if usable and isinstance(email, str) else None)

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self._call("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": blocks})

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self._call("views.open", {"trigger_id": trigger_id, "view": view})

    def respond(self, response_url: str, body: dict[str, Any]) -> None:
        """Post to a ``response_url`` on a Slack host (Slack answers HTTP 200)."""
        if httpx.URL(response_url).host not in self._hook_hosts:
            raise SlackApiError("Slack response_url: not a Slack host")
        response = self._hooks.request(
            "POST", response_url, json=body, where="Slack response_url", secrets=(response_url,)
        )
        if response.status_code != 200:
            raise SlackApiError(f"Slack response_url: HTTP {response.status_code}")

"""Requests as Slack sends them to the gateway, signed with the app's signing secret.

Documents followed (api.slack.com, read through the search tool):

- "Verifying requests from Slack" (api.slack.com/authentication/verifying-requests-from-
  slack): ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature: v0=<hex HMAC-SHA256 of
  "v0:<timestamp>:<raw body>">``;
- "Handling user interaction" and the ``block_actions`` / ``view_submission`` payload
  references (api.slack.com/reference/interaction-payloads): a form body with one field,
  ``payload``, holding JSON (``type``, ``user.id``, ``actions[].action_id/value``,
  ``response_url``, ``trigger_id``, ``container``, ``view.callback_id``,
  ``view.private_metadata``, ``view.state.values[block_id][action_id]``);
- "Implementing slash commands" (api.slack.com/interactivity/slash-commands): form fields
  ``token``, ``team_id``, ``channel_id``, ``user_id``, ``user_name``, ``command``, ``text``,
  ``response_url``, ``trigger_id``, ``api_app_id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from itertools import count
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example secret
_TRIGGERS = count(1)


def signed(body: bytes, *, secret: str = SIGNING_SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def trigger_id() -> str:
    return f"{next(_TRIGGERS)}.47445629121.803a0bc887a14d10d2c447fce8b6703c"


def block_actions(user: str, action_id: str, value: str, response_url: str) -> bytes:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": "1548261231.000200",
            "channel_id": "C0001",
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id(),
        "channel": {"id": "C0001", "name": "approvals"},
        "message": {"type": "message", "ts": "1548261231.000200", "text": "approval"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "approval",
                "value": value,
                "text": {"type": "plain_text", "text": "Approve"},
                "action_ts": "1548426417.840180",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission(
    user: str, callback_id: str, private_metadata: str, values: dict[str, Any], view_id: str
) -> bytes:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": trigger_id(),
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "hash": "156772938.1827394",
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def slash_command(user: str, text: str, response_url: str, command: str = "/it") -> bytes:
    return urlencode(
        {
            "token": "verification-token-unused",
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C0001",
            "channel_name": "it",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "response_url": response_url,
            "trigger_id": trigger_id(),
        }
    ).encode()


def plain(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def chosen(value: str) -> dict[str, Any]:
    return {
        "value": {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
        }
    }


def several(*values: str) -> dict[str, Any]:
    return {
        "value": {
            "type": "multi_static_select",
            "selected_options": [
                {"text": {"type": "plain_text", "text": v}, "value": v} for v in values
            ],
        }
    }

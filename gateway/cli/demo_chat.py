"""The chat scenario of ``gateway demo``: approvals and self-service where people are.

Priya approves a grant for Tom by pressing Approve in Slack, she rejects another from a
Teams card, and Tom installs 7zip from the ``/it`` slash command.  Slack and the Bot
Framework are played by local stand-ins (an ``httpx`` transport answering as their
documents say); every request the gateway takes is signed as they sign it, and goes
through the same checks, approval service, catalog and audit as in production.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import click
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from gateway.app import open_selfservice
from gateway.approvals.notices import approval_notice
from gateway.chat.people import PersonMap
from gateway.chat.service import tell_finished
from gateway.chat.settings import SlackChatSettings, TeamsChatSettings
from gateway.chat.slack import SlackChat
from gateway.chat.slack_api import SlackWebApi
from gateway.chat.teams import TeamsChat
from gateway.chat.teams_auth import BotFrameworkTokens
from gateway.chat.votes import ChatVotes
from gateway.config import GatewayConfig
from gateway.enforcement.point import EnforcementPoint
from gateway.notify.model import NotificationKind
from gateway.notify.slack import slack_blocks
from gateway.policy.decision import ApprovalObligation
from gateway.policy.request import AccessRequest
from gateway.runtime.executor import Executor

__all__ = ["run_chat_scenario"]

SLACK = "https://slack.demo.invalid"
KEYS = "https://login.botframework.demo.invalid/v1/.well-known/keys"
APP_ID = "demo-bot-app-id"
PRIYA_AAD = "6f1e4c52-8d3b-4a0e-9c57-2b1d0e9a7f31"  # her AAD object id, as Teams sends it
USERS = {"U0PRIYA": "priya", "U0TOM": "tom"}


def _say(text: str) -> None:
    click.echo(f"  > {text}")


class _SlackStandIn:
    """Answers ``views.open`` and response URLs as Slack does; keeps what it was sent."""

    def __init__(self) -> None:
        self.views: list[dict[str, Any]] = []
        self.said: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        if request.url.path == "/api/views.open":
            self.views.append(body["view"])
            return httpx.Response(200, json={"ok": True, "view": {"id": f"V{len(self.views)}"}})
        self.said.append(body)
        return httpx.Response(200, json={"ok": True})


def _signed(secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + mac.hexdigest()}


def _payload(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _grant(gateway: EnforcementPoint, system: str) -> Any:
    request = AccessRequest(
        actor="omar",
        action="access.grant",
        resource="account:tom",
        context={"system": system, "parameters": {"system": system}},
    )
    decision = gateway.authorize(request)
    asked = [o for o in decision.obligations if isinstance(o, ApprovalObligation)]
    approvals = gateway.approvals
    if approvals is None:  # pragma: no cover - the embedded configuration has approvals
        raise click.ClickException("approvals are disabled")
    return approvals.open(request, decision, asked, requester="omar")


def run_chat_scenario(config: GatewayConfig, gateway: EnforcementPoint, executor: Executor) -> None:
    """Print the scenario as it happens, against the local stand-ins."""
    click.echo("Chat: a Slack button, a Teams card and a slash command")
    approvals = gateway.approvals
    if approvals is None:  # pragma: no cover - the embedded configuration has approvals
        _say("approvals are disabled: nothing to press")
        return
    audit = gateway.audit.append if gateway.audit is not None else None
    votes = ChatVotes(approvals, gateway.stepup, audit, tell_finished(None, executor))
    secret = secrets.token_hex(16)
    stand_in = _SlackStandIn()
    settings = SlackChatSettings(
        signing_secret=SecretStr(secret), token=SecretStr("xoxb-demo"), api_url=f"{SLACK}/api",
        users=USERS, email_lookup=False,
    )  # fmt: skip
    api = SlackWebApi(
        settings.api_url, settings.token, timeout=5, transport=httpx.MockTransport(stand_in)
    )
    store = config.selfservice.database
    own = replace_database(config, store.with_name("chat-demo-selfservice.db"))
    catalog = open_selfservice(own, gateway, executor)
    slack = SlackChat(
        settings, api, PersonMap("Slack", gateway.directory, USERS, None), votes, catalog, audit
    )
    try:
        _slack_approval(gateway, slack, stand_in, secret)
        _teams_rejection(gateway, votes, audit)
        _slash_command(slack, stand_in, secret)
    finally:
        catalog.close()
        api.close()


def replace_database(config: GatewayConfig, path: Any) -> GatewayConfig:
    """``config`` with its own catalog run store (the demo's quota is its own)."""
    selfservice = config.selfservice.model_copy(update={"database": path})
    return config.model_copy(update={"selfservice": selfservice})


def _slack_approval(
    gateway: EnforcementPoint, slack: SlackChat, stand_in: _SlackStandIn, secret: str
) -> None:
    item = _grant(gateway, "payroll")
    blocks = slack_blocks(approval_notice(NotificationKind.APPROVAL_REQUESTED, item, ("priya",)))
    buttons = [e["text"]["text"] for e in blocks[-1]["elements"]]
    _say(f"Omar asks to grant Tom payroll access; Slack asks Priya: {' / '.join(buttons)}")
    value = blocks[-1]["elements"][0]["value"]
    body = _payload({
        "type": "block_actions", "user": {"id": "U0PRIYA"}, "trigger_id": "1.2.3",
        "response_url": f"{SLACK}/actions/T1/1/demo",
        "actions": [{"action_id": "approval.approve", "value": value}],
    })  # fmt: skip
    answer = slack.interaction(_signed(secret, body), body)
    answer.run_later()
    state = gateway.approvals.get(item.id).state if gateway.approvals else "unknown"
    _say(f"Priya presses Approve: HTTP {answer.status}; the request is {state}")
    _say(f"the Slack message now says: {stand_in.said[-1]['text']}")
    forged = slack.interaction(_signed("not-the-secret", body), body)
    _say(f"the same press with a forged signature: HTTP {forged.status}, nothing changes")


def _teams_rejection(gateway: EnforcementPoint, votes: ChatVotes, audit: Any) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": "demo"}
    keys = httpx.MockTransport(lambda request: httpx.Response(200, json={"keys": [jwk]}))
    settings = TeamsChatSettings(app_id=APP_ID, jwks_url=KEYS, users={PRIYA_AAD: "priya"})
    tokens = BotFrameworkTokens(settings, transport=keys)
    teams = TeamsChat(tokens, settings.users, votes, audit)
    try:
        item = _grant(gateway, "crm")
        _say("Omar asks to grant Tom CRM access; the Teams card offers Approve / Reject")
        now = int(time.time())
        claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": now + 300}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "demo"})
        activity = {
            "type": "invoke", "name": "adaptiveCard/action", "from": {"aadObjectId": PRIYA_AAD},
            "value": {"action": {"type": "Action.Execute", "verb": "reject",
                                 "data": {"approval_id": item.id, "digest": item.digest}}},
        }  # fmt: skip
        answer = teams.activity({"Authorization": f"Bearer {token}"}, json.dumps(activity).encode())
        card = answer.body["value"]["body"] if answer.body else []
        _say(f"Priya presses Reject in Teams: the card now says: {card[-1]['text']}")
    finally:
        tokens.close()


def _slash_command(slack: SlackChat, stand_in: _SlackStandIn, secret: str) -> None:
    fields = {"command": "/it", "text": "", "user_id": "U0TOM", "trigger_id": "4.5.6",
              "response_url": f"{SLACK}/commands/T1/2/demo"}  # fmt: skip
    body = urlencode(fields).encode()
    listed = slack.command(_signed(secret, body), body).body or {}
    _say(f"Tom types /it: {listed.get('text')}")
    body = urlencode({**fields, "text": "install-software", "trigger_id": "7.8.9"}).encode()
    slack.command(_signed(secret, body), body)
    modal = stand_in.views[-1]
    asked = ", ".join(block["block_id"] for block in modal["blocks"])
    _say(f"/it install-software opens a form asking for: {asked}")
    values = {
        "title": {"value": {"type": "static_select", "selected_option": {"value": "7zip"}}},
        "devices": {"value": {"type": "multi_static_select",
                              "selected_options": [{"value": "tom-laptop"}]}},
    }  # fmt: skip
    body = _payload({
        "type": "view_submission", "user": {"id": "U0TOM"},
        "view": {"id": "V-demo", "callback_id": "catalog.run",
                 "private_metadata": modal["private_metadata"], "state": {"values": values}},
    })  # fmt: skip
    answer = slack.interaction(_signed(secret, body), body).body or {}
    text = answer.get("view", {}).get("blocks", [{}])[0].get("text", {}).get("text", "")
    _say(f"Tom picks 7zip and tom-laptop and submits: {text}")
    catalog = slack.catalog
    if catalog is None:  # pragma: no cover - the scenario builds it with a catalog
        return
    (run,) = catalog.recent("tom", 1)
    for _ in range(200):  # the runtime's threads install it; wait at most 20 seconds
        if run.state.finished:
            break
        time.sleep(0.1)
        run = catalog.get(run.id)
    _say(f"the install goes on in the background and ends: {run.state}")

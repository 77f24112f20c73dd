"""The gateway's app with ``[chat.slack]`` pointed at the local Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.chat.service import open_chat
from tests.api.conftest import Api, build_api
from tests.chat.slack_requests import SIGNING_SECRET
from tests.chat.slack_server import TOKEN, SlackStandIn, SlackUserRecord, running_slack

# Slack user ids of the sample directory's people; tom and sam are mapped by e-mail
PRIYA, GRACE, OMAR, TOM, SAM, STRANGER = (
    "U0PRIYA",
    "U0GRACE",
    "U0OMAR",
    "U0TOM",
    "U0SAM",
    "U0NOBODY",
)


@dataclass
class ChatApi:
    api: Api
    slack: SlackStandIn


def chat_config(slack: SlackStandIn, extra: str = "") -> str:
    return f"""
[chat.slack]
signing_secret_env = "GATEWAY_TEST_SLACK_SIGNING_SECRET"
token_env = "GATEWAY_TEST_SLACK_TOKEN"
api_url = "{slack.api_url}"
users = {{ {PRIYA} = "priya", {GRACE} = "grace", {OMAR} = "omar" }}
{extra}
"""


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with running_slack() as stand_in:
        stand_in.users[TOM] = SlackUserRecord(TOM, "tom@example.com")
        stand_in.users[SAM] = SlackUserRecord(SAM, "Sam@Example.com")
        stand_in.users[STRANGER] = SlackUserRecord(STRANGER, "nobody@elsewhere.example")
        yield stand_in


def make_chat_api(folder: Path, slack: SlackStandIn, extra: str = "") -> Api:
    api = build_api(folder, chat_config(slack, extra))
    api.services.chat = open_chat(
        api.config.chat,
        api.gateway,
        selfservice=api.parts.selfservice,
        notifier=api.parts.notifier,
        runtime=api.parts.runtime,
    )
    return api


@pytest.fixture
def chat(tmp_path: Path, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatApi]:
    monkeypatch.setenv("GATEWAY_TEST_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("GATEWAY_TEST_SLACK_TOKEN", TOKEN)
    api = make_chat_api(tmp_path, slack)
    try:
        yield ChatApi(api, slack)
    finally:
        api.close()

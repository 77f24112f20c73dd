"""When policy wants a step-up before a vote, a Slack modal asks for the code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from gateway.approvals.model import ApprovalState
from tests.api.test_approvals import open_grant
from tests.chat.conftest import PRIYA, ChatApi, make_chat_api
from tests.chat.slack_requests import SIGNING_SECRET, block_actions, plain, signed, view_submission
from tests.chat.slack_server import TOKEN, SlackStandIn

INTERACTIONS = "/v1/chat/slack/interactions"


@pytest.fixture
def stepped(
    tmp_path: Path, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ChatApi]:
    monkeypatch.setenv("GATEWAY_TEST_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("GATEWAY_TEST_SLACK_TOKEN", TOKEN)
    api = make_chat_api(tmp_path, slack, "[approvals]\nrequire_step_up = true\n")
    try:
        yield ChatApi(api, slack)
    finally:
        api.close()


def _code_view(chat: ChatApi, code: str, view: dict[str, Any]) -> Any:
    body = view_submission(
        PRIYA, view["callback_id"], view["private_metadata"], {"code": plain(code)}, "V1"
    )
    return chat.api.client.post(INTERACTIONS, content=body, headers=signed(body))


def test_the_code_from_the_modal_lets_the_vote_count(stepped: ChatApi) -> None:
    chat = stepped
    assert chat.api.gateway.stepup is not None
    seed = chat.api.gateway.stepup.enrol("priya").seed.get_secret_value()
    item = open_grant(chat.api)
    body = block_actions(
        PRIYA, "approval.approve", f"{item.id} {item.digest}", chat.slack.response_url("p")
    )

    pressed = chat.api.client.post(INTERACTIONS, content=body, headers=signed(body))

    assert pressed.status_code == 200
    (modal,) = chat.slack.views
    assert modal["callback_id"] == "approval.step_up"
    assert chat.slack.responses == []  # nothing counted yet
    wrong = "000000" if pyotp.TOTP(seed).now() != "000000" else "111111"
    refused = _code_view(chat, wrong, modal)
    assert refused.json()["response_action"] == "errors"
    assert set(refused.json()["errors"]) == {"code"}
    assert chat.api.gateway.approvals is not None
    assert chat.api.gateway.approvals.get(item.id).state is ApprovalState.PENDING

    done = _code_view(chat, pyotp.TOTP(seed).now(), modal)

    assert done.json() == {"response_action": "clear"}
    assert chat.api.gateway.approvals.get(item.id).state is ApprovalState.APPROVED
    assert chat.slack.responses[-1][1]["text"] == "Approved by priya"
    verified = chat.api.audited("stepup.verified")
    assert verified
    assert seed not in chat.api.config.audit.log.read_text()

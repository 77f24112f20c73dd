"""What Slack may send that the gateway does not take: each refused, audited, nothing done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from gateway.approvals.model import ApprovalState
from gateway.chat.people import PersonMap
from gateway.chat.settings import SlackChatSettings
from gateway.chat.slack import SlackChat
from gateway.chat.slack_api import SlackWebApi
from gateway.policy.decision import ApprovalObligation
from tests.api.test_approvals import open_grant
from tests.chat.conftest import PRIYA, STRANGER, TOM, ChatApi, make_chat_api
from tests.chat.slack_requests import (
    SIGNING_SECRET,
    block_actions,
    chosen,
    plain,
    several,
    signed,
    slash_command,
    view_submission,
)
from tests.chat.slack_server import TOKEN, SlackStandIn

INTERACTIONS = "/v1/chat/slack/interactions"


def _post(chat: ChatApi, body: bytes, path: str = INTERACTIONS) -> Any:
    return chat.api.client.post(path, content=body, headers=signed(body))


def _payload(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


BAD = {
    "a body that is not UTF-8": b"payload=\xff\xfe",
    "a form without a payload": b"text=hello",
    "a payload that is not JSON": b"payload=%7Bnot-json",
    "a payload that is a list": _payload([1, 2]),
    "a payload without a user": _payload({"type": "block_actions"}),
    "an interaction type not handled": _payload({"type": "shortcut", "user": {"id": PRIYA}}),
    "block actions without actions": _payload({"type": "block_actions", "user": {"id": PRIYA}}),
    "an action not handled": _payload(
        {"type": "block_actions", "user": {"id": PRIYA},
         "actions": [{"action_id": "other", "value": "x"}]}
    ),
    "a view submission without a view": _payload(
        {"type": "view_submission", "user": {"id": PRIYA}}
    ),
    "a view not handled": _payload(
        {"type": "view_submission", "user": {"id": PRIYA}, "view": {"callback_id": "other"}}
    ),
    "a step-up modal that lost its request": _payload(
        {"type": "view_submission", "user": {"id": PRIYA},
         "view": {"callback_id": "approval.step_up", "private_metadata": "{}"}}
    ),
}  # fmt: skip


@pytest.mark.parametrize("body", BAD.values(), ids=list(BAD))
def test_a_malformed_interaction_is_refused_and_audited(chat: ChatApi, body: bytes) -> None:
    answer = _post(chat, body)

    assert answer.status_code == 400
    assert answer.json()["text"].startswith("Refused: ")
    (refused,) = chat.api.audited("chat.interaction_refused")
    assert refused.payload["reason"] == "bad_payload"
    assert chat.api.audited("chat.interaction_accepted") == []


def test_an_unmapped_person_submitting_a_form_is_told_in_the_answer(chat: ChatApi) -> None:
    body = view_submission(STRANGER, "catalog.run", "install-software", {}, "V9")

    answer = _post(chat, body)

    assert answer.status_code == 200
    assert "matches 0 active directory people" in answer.json()["text"]
    assert chat.slack.responses == []


def test_a_vote_short_of_the_quorum_keeps_the_buttons(chat: ChatApi) -> None:
    two = ApprovalObligation(name="two", approvers=("user:priya", "user:sam"), quorum=2,
                             policy="test")  # fmt: skip
    item = open_grant(chat.api, needed=(two,))
    body = block_actions(PRIYA, "approval.approve", f"{item.id} {item.digest}",
                         chat.slack.response_url("p"))  # fmt: skip

    _post(chat, body)

    ((_, said),) = chat.slack.responses
    assert said["text"] == "priya voted; still waiting for: two"
    assert said["blocks"][-1]["type"] == "actions"
    assert "1/2 approvals" in said["blocks"][0]["text"]["text"]


def test_a_form_for_an_item_one_may_not_see_is_not_run(chat: ChatApi) -> None:
    values = {"users": plain("tom"), "system": chosen("crm")}
    body = view_submission(TOM, "catalog.run", "grant-temporary-access", values, "V7")

    answer = _post(chat, body)

    assert answer.json()["response_action"] == "update"
    assert chat.api.audited("selfservice.run_admitted") == []


def test_a_run_refused_by_a_guardrail_says_why(chat: ChatApi) -> None:
    asked = [("7zip", "tom-laptop"), ("7zip", "tom-desktop"), ("visio", "tom-laptop"),
             ("visio", "tom-desktop")]  # fmt: skip
    for n, (title, device) in enumerate(asked):  # tom's quota: three installs a day
        values = {"title": chosen(title), "devices": several(device)}
        answer = _post(chat, view_submission(TOM, "catalog.run", "install-software", values,
                                             f"V{n}"))  # fmt: skip

    shown = answer.json()
    assert shown["view"]["title"]["text"] == "Refused"
    assert "quota" in shown["view"]["blocks"][0]["text"]["text"]


def test_the_catalog_button_opens_the_items_form(chat: ChatApi) -> None:
    body = block_actions(TOM, "catalog.open", "install-software", chat.slack.response_url("t"))

    assert _post(chat, body).status_code == 200
    assert chat.slack.views[0]["private_metadata"] == "install-software"


@pytest.fixture
def bare(tmp_path: Path, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatApi]:
    """A gateway without approvals nor catalog, and Slack configured."""
    monkeypatch.setenv("GATEWAY_TEST_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("GATEWAY_TEST_SLACK_TOKEN", TOKEN)
    api = make_chat_api(tmp_path, slack, "[approvals]\nenabled = false\n")
    assert api.services.chat is not None
    slack_chat = api.services.chat.slack
    assert slack_chat is not None
    slack_chat.catalog = None
    try:
        yield ChatApi(api, slack)
    finally:
        api.close()


def test_without_approvals_or_catalog_nothing_is_offered(bare: ChatApi) -> None:
    command = slash_command(TOM, "", bare.slack.response_url("t"))
    assert _post(bare, command, "/v1/chat/slack/commands").json()["text"] == "No catalog here."
    opened = block_actions(TOM, "catalog.open", "install-software", "http://x/")
    assert _post(bare, opened).json()["text"] == "No catalog here."
    vote = block_actions(PRIYA, "approval.approve", "a b", "http://x/")
    assert _post(bare, vote).status_code == 400
    submitted = view_submission(TOM, "catalog.run", "install-software", {}, "V1")
    assert _post(bare, submitted).status_code == 400
    step_up = view_submission(PRIYA, "approval.step_up", "{}", {}, "V2")
    assert _post(bare, step_up).status_code == 400


def test_a_slack_chat_needs_its_secret_read() -> None:
    settings = SlackChatSettings(signing_secret_env="UNSET_VARIABLE")
    api = SlackWebApi("https://slack.example/api", None, timeout=1)
    people = PersonMap("Slack", None, {}, None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="with_secrets"):
        SlackChat(settings, api, people, None, None, None)
    api.close()
    assert SlackChat(
        settings.model_copy(update={"signing_secret": SecretStr("s")}),
        api,
        people,
        None,
        None,
        None,
    )


def test_an_item_asking_a_secret_is_not_asked_in_chat(
    chat: ChatApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.chat.slack as module

    monkeypatch.setattr(module, "has_secrets", lambda schema: True)
    answer = _post(chat, slash_command(TOM, "install-software", chat.slack.response_url("t")),
                   "/v1/chat/slack/commands")  # fmt: skip

    assert "asks for a secret" in answer.json()["text"]
    assert chat.slack.views == []


def test_a_step_up_code_without_step_up_configured_is_not_counted(chat: ChatApi) -> None:
    item = open_grant(chat.api)
    assert chat.api.services.chat is not None
    assert chat.api.services.chat.slack is not None
    votes = chat.api.services.chat.slack._votes
    assert votes is not None
    votes._stepup = None
    meta = json.dumps({"approval_id": item.id, "digest": item.digest, "verdict": "approve",
                       "response_url": chat.slack.response_url("p")})  # fmt: skip

    answer = _post(chat, view_submission(PRIYA, "approval.step_up", meta,
                                         {"code": plain("123456")}, "V3"))  # fmt: skip

    assert "needs a fresh step-up" in answer.json()["errors"]["code"]
    assert chat.api.gateway.approvals is not None
    assert chat.api.gateway.approvals.get(item.id).state is ApprovalState.PENDING


def test_the_approval_state_is_untouched_by_refusals(chat: ChatApi) -> None:
    item = open_grant(chat.api)
    for body in BAD.values():
        _post(chat, body)
    assert chat.api.gateway.approvals is not None
    assert chat.api.gateway.approvals.get(item.id).state is ApprovalState.PENDING

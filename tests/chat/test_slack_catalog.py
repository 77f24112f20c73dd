"""The ``/it`` slash command: the catalog items a person may run, and a run from a modal
built from the item's form, through the same checks and audit as the catalog API."""

from __future__ import annotations

from typing import Any

from tests.chat.conftest import STRANGER, TOM, ChatApi
from tests.chat.slack_requests import chosen, several, signed, slash_command, view_submission

COMMANDS = "/v1/chat/slack/commands"
INTERACTIONS = "/v1/chat/slack/interactions"


def command(chat: ChatApi, user: str, text: str, name: str = "/it") -> Any:
    body = slash_command(user, text, chat.slack.response_url(user), name)
    return chat.api.client.post(COMMANDS, content=body, headers=signed(body))


def submit(chat: ChatApi, user: str, item: str, values: dict[str, Any], view: str) -> Any:
    body = view_submission(user, "catalog.run", item, values, view)
    return chat.api.client.post(INTERACTIONS, content=body, headers=signed(body))


def test_the_command_lists_what_the_person_may_run(chat: ChatApi) -> None:
    answer = command(chat, TOM, "")

    assert answer.status_code == 200
    shown = answer.json()
    assert shown["response_type"] == "ephemeral"
    buttons = [b["accessory"]["value"] for b in shown["blocks"]]
    assert "install-software" in buttons
    assert "grant-temporary-access" not in buttons  # tom may not see it
    assert chat.api.audited("chat.interaction_accepted")[0].actor == "tom"


def test_tom_installs_7zip_from_the_command(chat: ChatApi) -> None:
    opened = command(chat, TOM, "install-software")
    assert opened.status_code == 200
    (modal,) = chat.slack.views
    assert modal["callback_id"] == "catalog.run"
    devices = next(b for b in modal["blocks"] if b["block_id"] == "devices")
    assert devices["element"]["type"] == "multi_static_select"
    assert [o["value"] for o in devices["element"]["options"]] == ["tom-desktop", "tom-laptop"]

    values = {"title": chosen("7zip"), "devices": several("tom-laptop")}
    answer = submit(chat, TOM, "install-software", values, "V00000001")

    assert answer.status_code == 200
    shown = answer.json()
    assert shown["response_action"] == "update"
    assert "Install software on my device" in shown["view"]["blocks"][0]["text"]["text"]
    (run,) = chat.api.audited("selfservice.run_admitted")
    assert (run.actor, run.payload["targets"]) == ("tom", ["tom-laptop"])


def test_submitting_the_same_modal_twice_gives_the_same_run(chat: ChatApi) -> None:
    values = {"title": chosen("7zip"), "devices": several("tom-laptop")}

    first = submit(chat, TOM, "install-software", values, "V00000009")
    again = submit(chat, TOM, "install-software", values, "V00000009")

    assert first.json() == again.json()
    assert len(chat.api.audited("selfservice.run_admitted")) == 1


def test_a_submission_that_does_not_match_the_form_names_the_field(chat: ChatApi) -> None:
    values = {"title": chosen("7zip"), "devices": several("priya-laptop")}

    answer = submit(chat, TOM, "install-software", values, "V00000002")

    shown = answer.json()
    assert shown["response_action"] == "errors"
    assert set(shown["errors"]) == {"devices"}
    assert "'priya-laptop' is not one of" in shown["errors"]["devices"]
    (refused,) = chat.api.audited("chat.interaction_refused")
    assert refused.payload["reason"] == "invalid_parameters"
    assert chat.api.audited("selfservice.run_admitted") == []


def test_an_item_the_person_may_not_see_does_not_open(chat: ChatApi) -> None:
    answer = command(chat, TOM, "grant-temporary-access")

    assert "unknown catalog item" in answer.json()["text"]
    assert chat.slack.views == []


def test_an_unmapped_person_gets_no_catalog(chat: ChatApi) -> None:
    answer = command(chat, STRANGER, "")

    assert answer.status_code == 200
    assert answer.json()["text"].startswith("Refused: Slack user U0NOBODY")
    assert chat.api.audited("chat.interaction_refused")[0].payload["reason"] == "unmapped_user"


def test_another_command_is_refused(chat: ChatApi) -> None:
    answer = command(chat, TOM, "", name="/deploy")

    assert answer.status_code == 400
    assert chat.api.audited("chat.interaction_refused")[0].payload["reason"] == "bad_payload"

"""Approving and rejecting from Slack's buttons: signed, mapped, voted as over the API."""

from __future__ import annotations

from typing import Any

from gateway.approvals.model import ApprovalRequest, ApprovalState
from tests.api.test_approvals import open_grant
from tests.chat.conftest import GRACE, OMAR, PRIYA, STRANGER, ChatApi
from tests.chat.slack_requests import block_actions, signed

INTERACTIONS = "/v1/chat/slack/interactions"


def press(chat: ChatApi, user: str, action: str, item: ApprovalRequest, **sign: Any) -> Any:
    body = block_actions(user, action, f"{item.id} {item.digest}", chat.slack.response_url(user))
    return chat.api.client.post(INTERACTIONS, content=body, headers=signed(body, **sign))


def state(chat: ChatApi, item: ApprovalRequest) -> ApprovalState:
    assert chat.api.gateway.approvals is not None
    return chat.api.gateway.approvals.get(item.id).state


def test_the_managers_button_approves_and_the_message_shows_it(chat: ChatApi) -> None:
    item = open_grant(chat.api)

    answer = press(chat, PRIYA, "approval.approve", item)

    assert answer.status_code == 200
    assert state(chat, item) is ApprovalState.APPROVED
    ((_, update),) = chat.slack.responses
    assert update["replace_original"] is True
    assert update["text"] == "Approved by priya"
    assert all(block["type"] != "actions" for block in update["blocks"])  # no more buttons
    (accepted,) = chat.api.audited("chat.interaction_accepted")
    assert (accepted.actor, accepted.payload["platform"]) == ("priya", "slack")
    (approved,) = chat.api.audited("approval.approved")
    assert approved.seq > accepted.seq  # the interaction is recorded before the vote


def test_the_reject_button_rejects(chat: ChatApi) -> None:
    item = open_grant(chat.api)

    press(chat, PRIYA, "approval.reject", item)

    assert state(chat, item) is ApprovalState.REJECTED
    assert chat.slack.responses[0][1]["text"] == "Rejected by priya"


def test_a_forged_signature_is_refused_audited_and_changes_nothing(chat: ChatApi) -> None:
    item = open_grant(chat.api)

    answer = press(chat, PRIYA, "approval.approve", item, secret="not-the-signing-secret")

    assert answer.status_code == 401
    assert "signature does not match" in answer.json()["text"]
    assert state(chat, item) is ApprovalState.PENDING
    (refused,) = chat.api.audited("chat.interaction_refused")
    assert refused.payload["reason"] == "bad_signature"
    assert chat.api.audited("chat.interaction_accepted") == []


def test_an_expired_request_is_refused(chat: ChatApi) -> None:
    import time

    item = open_grant(chat.api)

    answer = press(chat, PRIYA, "approval.approve", item, at=time.time() - 301)

    assert answer.status_code == 401
    assert state(chat, item) is ApprovalState.PENDING
    assert chat.api.audited("chat.interaction_refused")[0].payload["reason"] == "expired"


def test_a_replayed_request_is_refused(chat: ChatApi) -> None:
    item = open_grant(chat.api)
    body = block_actions(GRACE, "approval.approve", f"{item.id} {item.digest}", "http://x/")
    headers = signed(body)

    first = chat.api.client.post(INTERACTIONS, content=body, headers=headers)
    again = chat.api.client.post(INTERACTIONS, content=body, headers=headers)

    assert (first.status_code, again.status_code) == (200, 401)
    assert "already taken" in again.json()["text"]
    reasons = [r.payload["reason"] for r in chat.api.audited("chat.interaction_refused")]
    assert reasons == ["replayed"]


def test_the_requester_is_told_alone_and_nothing_changes(chat: ChatApi) -> None:
    item = open_grant(chat.api)

    press(chat, OMAR, "approval.approve", item)

    assert state(chat, item) is ApprovalState.PENDING
    ((_, said),) = chat.slack.responses
    assert said["response_type"] == "ephemeral"
    assert said["replace_original"] is False
    assert "is the requester and cannot vote" in said["text"]
    (refused,) = chat.api.audited("approval.refused")
    assert refused.payload["reason"] == "self_approval"


def test_someone_not_eligible_is_told_alone(chat: ChatApi) -> None:
    item = open_grant(chat.api)

    press(chat, GRACE, "approval.approve", item)

    assert state(chat, item) is ApprovalState.PENDING
    assert "is not an approver" in chat.slack.responses[0][1]["text"]


def test_a_vote_on_a_changed_request_is_not_counted(chat: ChatApi) -> None:
    item = open_grant(chat.api)
    body = block_actions(PRIYA, "approval.approve", f"{item.id} sha256:{'0' * 64}", "http://x/")

    chat.api.client.post(INTERACTIONS, content=body, headers=signed(body))

    assert state(chat, item) is ApprovalState.PENDING
    assert chat.api.audited("approval.refused")[0].payload["reason"] == "digest_mismatch"


def test_a_stale_click_says_why_and_changes_nothing(chat: ChatApi) -> None:
    item = open_grant(chat.api)
    press(chat, PRIYA, "approval.approve", item)

    press(chat, PRIYA, "approval.reject", item)

    assert state(chat, item) is ApprovalState.APPROVED
    stale = chat.slack.responses[1][1]
    assert stale["replace_original"] is True
    assert "expected pending, found approved" in stale["text"]
    assert len(chat.api.audited("approval.approved")) == 1


def test_a_slack_user_with_no_directory_person_is_refused(chat: ChatApi) -> None:
    item = open_grant(chat.api)

    answer = press(chat, STRANGER, "approval.approve", item)

    assert answer.status_code == 200
    assert state(chat, item) is ApprovalState.PENDING
    ((_, said),) = chat.slack.responses
    assert said["response_type"] == "ephemeral"
    assert "matches 0 active directory people" in said["text"]
    (refused,) = chat.api.audited("chat.interaction_refused")
    assert refused.payload["reason"] == "unmapped_user"


def test_no_secret_reaches_the_audit_log(chat: ChatApi) -> None:
    from tests.chat.slack_requests import SIGNING_SECRET
    from tests.chat.slack_server import TOKEN

    item = open_grant(chat.api)
    press(chat, PRIYA, "approval.approve", item, secret="forged")
    press(chat, PRIYA, "approval.approve", item)

    text = chat.api.config.audit.log.read_text()
    assert SIGNING_SECRET not in text
    assert TOKEN not in text
    assert "xyzResponseSecret" not in text

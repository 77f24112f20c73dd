"""An approval request in Teams carries Approve / Reject as ``Action.Execute``."""

from __future__ import annotations

from gateway.approvals.notices import approval_notice
from gateway.notify.model import NotificationKind
from gateway.notify.teams import adaptive_card, approval_card
from tests.notify.test_slack_approval_buttons import ITEM


def test_a_request_for_approval_has_execute_actions_bound_to_the_digest() -> None:
    message = adaptive_card(approval_notice(NotificationKind.APPROVAL_REQUESTED, ITEM, ()))
    actions = message["attachments"][0]["content"]["actions"]
    assert [(a["type"], a["verb"]) for a in actions] == [
        ("Action.Execute", "approve"),
        ("Action.Execute", "reject"),
    ]
    assert actions[0]["data"] == {"approval_id": ITEM.id, "digest": ITEM.digest}


def test_an_outcome_card_has_no_actions() -> None:
    message = adaptive_card(approval_notice(NotificationKind.DENIED, ITEM, ()))
    assert "actions" not in message["attachments"][0]["content"]
    assert "actions" not in approval_card("a", "d", "t", "x", pending=False)

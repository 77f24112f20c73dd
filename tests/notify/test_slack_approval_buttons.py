"""An approval request in Slack carries Approve / Reject buttons bound to its digest."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.approvals.model import ApprovalRequest
from gateway.approvals.notices import approval_notice
from gateway.notify.model import NotificationKind
from gateway.notify.slack import APPROVE_ACTION, REJECT_ACTION, slack_blocks
from gateway.policy.decision import ApprovalObligation
from gateway.policy.request import AccessRequest

NOW = datetime(2024, 6, 5, 12, tzinfo=UTC)
ITEM = ApprovalRequest(
    id="0123abcd",
    request=AccessRequest(actor="omar", action="access.grant", resource="account:tom"),
    decision_id="d1",
    policy_digest="sha256:0",
    obligations=(ApprovalObligation(name="manager", approvers=("manager",), policy="p"),),
    digest="sha256:" + "ab" * 32,
    requester="omar",
    target="tom",
    manager="priya",
    created_at=NOW,
    expires_at=NOW,
)


def test_a_request_for_approval_has_buttons_with_the_id_and_digest() -> None:
    for kind in (NotificationKind.APPROVAL_REQUESTED, NotificationKind.ESCALATED):
        blocks = slack_blocks(approval_notice(kind, ITEM, ("priya",)))
        actions = blocks[-1]
        assert actions["block_id"] == "approval"
        ids = [(e["action_id"], e["value"]) for e in actions["elements"]]
        assert ids == [
            (APPROVE_ACTION, f"0123abcd {ITEM.digest}"),
            (REJECT_ACTION, f"0123abcd {ITEM.digest}"),
        ]


def test_an_outcome_has_no_buttons() -> None:
    blocks = slack_blocks(approval_notice(NotificationKind.APPROVED, ITEM, ("omar",)))
    assert all(b["type"] != "actions" for b in blocks)
    assert approval_notice(NotificationKind.APPROVED, ITEM, ()).fields["digest"] == ITEM.digest

"""What people are told about an approval request: who is asked, and the message."""

from __future__ import annotations

from gateway.approvals.model import ApprovalRequest
from gateway.notify.model import Notification, NotificationKind

__all__ = ["approval_notice", "approvers_to_ask"]


def approval_notice(
    kind: NotificationKind, item: ApprovalRequest, recipients: tuple[str, ...]
) -> Notification:
    request = item.request
    what = f"{request.actor} asks to {request.action} {request.resource}"
    texts: dict[str, str] = {
        "approval_requested": f"{what}. Approve with: gateway approvals approve {item.id} "
        f"--approver YOU --digest {item.digest}",
        "approved": f"Approved: {what}.",
        "denied": f"Rejected: {what}.",
        "expired": f"Expired without enough approvals: {what}.",
        "escalated": f"Escalated to you: {what}. Approve with: gateway approvals approve "
        f"{item.id} --approver YOU --digest {item.digest}",
    }
    return Notification(
        kind=kind,
        title=f"Approval {item.id[:8]}: {request.action} {request.resource}",
        text=texts[kind],
        recipients=recipients,
        fields={"request": item.id, "state": str(item.state), "requester": item.requester},
    )


def approvers_to_ask(item: ApprovalRequest) -> tuple[str, ...]:
    """Whom to ask: the obligations' approvers, with ``manager`` resolved."""
    names = [
        item.manager if spec == "manager" and item.manager else spec
        for obligation in item.obligations
        for spec in obligation.approvers
    ]
    return tuple(dict.fromkeys(names))

"""What people are told about an approval request: who is asked, and the message."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.approvals.model import ApprovalRequest
from gateway.notify.model import Notification, NotificationKind

__all__ = ["approval_notice", "approvers_to_ask", "recipients"]


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
        fields={
            "request": item.id,
            "state": str(item.state),
            "requester": item.requester,
            "digest": item.digest,  # what a vote from a chat button is bound to
        },
    )


def recipients(item: ApprovalRequest, specs: Sequence[str]) -> tuple[str, ...]:
    """Whom approver ``specs`` reach: ``manager`` as the manager recorded on ``item``
    (nobody when there is none), ``user:ID`` as ``ID``, groups and roles as they are (a
    notifier may route them to a channel); never a literal ``manager``."""
    names: list[str] = []
    for spec in specs:
        kind, _, name = spec.partition(":")
        if spec == "manager":
            names.extend([item.manager] if item.manager else [])
        elif kind == "user":
            names.append(name)
        else:
            names.append(spec)
    return tuple(dict.fromkeys(names))


def approvers_to_ask(item: ApprovalRequest) -> tuple[str, ...]:
    """Whom to ask: the obligations' approvers, and the escalation's for an obligation
    that escalated at once because nobody else could approve."""
    specs = [
        spec
        for index, obligation in enumerate(item.obligations)
        for spec in (
            *obligation.approvers,
            *(obligation.escalate_to if index in item.escalated else ()),
        )
    ]
    return recipients(item, specs)

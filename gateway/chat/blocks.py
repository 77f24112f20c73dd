"""Block Kit of an approval message once a vote changed it (or could not)."""

from __future__ import annotations

from typing import Any

from gateway.approvals.model import ApprovalRequest, Verdict
from gateway.notify.slack import approval_buttons

__all__ = ["decision_blocks"]


def decision_blocks(item: ApprovalRequest, text: str) -> list[dict[str, Any]]:
    """The request, who voted, and ``text``; the buttons stay while it is pending."""
    request = item.request
    votes = [
        f"{o.name}: {len(item.voters(i, Verdict.APPROVE))}/{o.quorum} approvals"
        for i, o in enumerate(item.obligations)
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*{request.actor}* asks to `{request.action}` `{request.resource}`\n"
                    f"{'; '.join(votes)} · state: *{item.state}*"
                ),
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2000]}]},
    ]
    if item.pending:
        blocks.append(approval_buttons(item.id, item.digest))
    return blocks

"""Microsoft Teams: an approval card's Approve / Reject (``Action.Execute``) after the
Bot Framework token.

"Universal Actions for Adaptive Cards" (learn.microsoft.com/microsoftteams/platform/task-
modules-and-cards/cards/universal-actions-for-adaptive-cards/work-with-universal-actions-
for-adaptive-cards): ``Action.Execute`` reaches the bot as an activity ``{"type":
"invoke", "name": "adaptiveCard/action", "from": {"id", "aadObjectId", "name"},
"serviceUrl", "value": {"action": {"type": "Action.Execute", "verb", "data"}}}``; the
bot answers HTTP 200 with an ``AdaptiveCardInvokeResponse``: ``{"statusCode": 200, "type":
"application/vnd.microsoft.card.adaptive", "value": <the refreshed card>}``.

The Teams user is mapped to a person by ``[chat.teams] users`` (AAD object id → person,
matched without regard to case; the activity's ``from`` carries no UPN or e-mail); anyone
else is refused.  The vote goes through the approval service like every vote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.approvals.errors import UnknownApprovalError
from gateway.approvals.model import ApprovalRequest, Verdict
from gateway.audit.sink import AuditSink, record_first
from gateway.chat.answer import ChatAnswer
from gateway.chat.errors import ChatRefusedError
from gateway.chat.teams_auth import BotFrameworkTokens
from gateway.chat.votes import ChatVotes, refused_event
from gateway.notify.teams import approval_card

__all__ = ["TeamsChat"]

PLATFORM = "teams"
CARD = "application/vnd.microsoft.card.adaptive"
_VERBS = {"approve": Verdict.APPROVE, "reject": Verdict.REJECT}


def _card(item: ApprovalRequest | None, text: str) -> dict[str, Any]:
    if item is None:
        body = [{"type": "TextBlock", "text": text, "wrap": True}]
        return {"type": "AdaptiveCard", "version": "1.4", "body": body}
    request = item.request
    title = f"{request.actor} asks to {request.action} {request.resource}"
    return approval_card(item.id, item.digest, title, text, pending=item.pending)


class TeamsChat:
    def __init__(
        self,
        tokens: BotFrameworkTokens,
        users: Mapping[str, str],
        votes: ChatVotes | None,
        audit: AuditSink | None,
    ) -> None:
        self.tokens = tokens
        self._users = {key.lower(): person for key, person in users.items()}
        self._votes = votes
        self._audit = audit

    def activity(self, headers: Mapping[str, str], body: bytes) -> ChatAnswer:
        try:
            try:
                activity = json.loads(body)
            except ValueError:
                activity = None
            if not isinstance(activity, dict):
                raise ChatRefusedError(
                    "bad_payload", "the activity is not a JSON object", status=400
                )
            service_url = activity.get("serviceUrl")
            self.tokens.verify(headers, service_url if isinstance(service_url, str) else None)
            return self._invoke(activity)
        except ChatRefusedError as exc:
            record_first(self._audit, refused_event(PLATFORM, exc.reason, str(exc)))
            if exc.reason != "unmapped_user":  # not from Teams, or not for this bot
                return ChatAnswer(status=exc.status, body={"error": str(exc)})
            return ChatAnswer(body=self._response(None, f"Refused: {exc}"))

    def _response(self, item: ApprovalRequest | None, text: str) -> dict[str, Any]:
        return {"statusCode": 200, "type": CARD, "value": _card(item, text)}

    def _invoke(self, activity: dict[str, Any]) -> ChatAnswer:
        if activity.get("type") != "invoke" or activity.get("name") != "adaptiveCard/action":
            return ChatAnswer()  # messages, conversation updates: nothing to do
        value = activity.get("value")
        action = value.get("action") if isinstance(value, dict) else None
        data = action.get("data") if isinstance(action, dict) else None
        verdict = _VERBS.get(str(action.get("verb"))) if isinstance(action, dict) else None
        if verdict is None or not isinstance(data, dict) or self._votes is None:
            raise ChatRefusedError("bad_payload", "not an approval action", status=400)
        approval_id, digest = str(data.get("approval_id", "")), str(data.get("digest", ""))
        sender = activity.get("from")
        aad = sender.get("aadObjectId") if isinstance(sender, dict) else None
        person = self._users.get(aad.lower()) if isinstance(aad, str) else None
        if person is None:
            raise ChatRefusedError(
                "unmapped_user",
                f"Teams user {str(aad)[:64]} is not mapped to a directory person",
                status=403,
            )
        outcome = self._votes.cast(PLATFORM, person, approval_id, digest, verdict)
        item = outcome.item
        if item is None:  # not counted: the card shows the request as it stands
            try:
                item = self._votes.approvals.get(approval_id)
            except UnknownApprovalError:
                item = None
        return ChatAnswer(body=self._response(item, outcome.text(person)))

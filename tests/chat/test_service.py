"""The chat entries as configured, and what follows a vote that finished a request."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from gateway.approvals.model import ApprovalRequest, ApprovalState
from gateway.chat.service import open_chat, tell_finished
from gateway.chat.settings import ChatSettings
from gateway.notify.model import Notification, NotificationKind
from gateway.policy.request import AccessRequest
from tests.api.conftest import build_api


class _Notifier:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


class _Runtime:
    def __init__(self, waiting: str | None) -> None:
        self.waiting = waiting
        self.woken: list[str] = []

    def execution_for_approval(self, approval_id: str) -> str | None:
        return self.waiting

    def wake(self, execution_id: str) -> None:
        self.woken.append(execution_id)


NOW = datetime(2024, 6, 5, 12, tzinfo=UTC)
ITEM = ApprovalRequest(
    id="a1", request=AccessRequest(actor="omar", action="access.grant", resource="account:tom"),
    decision_id="d1", policy_digest="sha256:0", obligations=(), digest="sha256:1",
    requester="omar", target="tom", manager="priya", created_at=NOW, expires_at=NOW,
)  # fmt: skip


def test_the_requester_is_told_and_the_waiting_execution_wakes() -> None:
    notifier, runtime = _Notifier(), _Runtime("e1")
    finished = tell_finished(notifier, runtime)  # type: ignore[arg-type]

    finished(replace(ITEM, state=ApprovalState.APPROVED), "priya")
    finished(replace(ITEM, state=ApprovalState.REJECTED), "priya")
    finished(replace(ITEM, state=ApprovalState.EXPIRED), "priya")

    kinds = [n.kind for n in notifier.sent]
    assert kinds == [NotificationKind.APPROVED, NotificationKind.DENIED]
    assert notifier.sent[0].recipients == ("omar",)
    assert runtime.woken == ["e1", "e1"]


def test_without_notifier_or_waiting_execution_nothing_else_happens() -> None:
    runtime = _Runtime(None)
    tell_finished(None, runtime)(replace(ITEM, state=ApprovalState.APPROVED), "priya")  # type: ignore[arg-type]
    tell_finished(None, None)(replace(ITEM, state=ApprovalState.APPROVED), "priya")
    assert runtime.woken == []


def test_no_platform_is_answered_unless_configured(tmp_path: Path) -> None:
    api = build_api(tmp_path)
    try:
        entries = open_chat(ChatSettings(), api.gateway)
        assert entries.slack is None
        entries.close()
        answer = api.client.post("/v1/chat/slack/commands", content=b"text=")
        assert answer.status_code == 404
        assert answer.json()["type"].endswith("chat-disabled")
    finally:
        api.close()

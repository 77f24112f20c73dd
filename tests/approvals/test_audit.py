"""Every transition and every refusal is in the signed audit log, written first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.approvals import (
    ApprovalService,
    ApprovalState,
    ApprovalStore,
    NotEligibleError,
    UnknownApprovalError,
)
from gateway.audit.log import read_lines
from gateway.audit.records import AuditEvent
from gateway.audit.verify import verify_records
from gateway.identity.static import StaticDirectory
from gateway.storage import Backend
from tests.approvals import DIRECTORY, Harness, access, decision, failing_sink, obligation


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


def test_every_transition_and_refusal_is_audited(h: Harness) -> None:
    item = h.open(
        obligation(
            "group:security-team",
            quorum=2,
            escalate_after_seconds=60,
            escalate_to=("user:ian",),
            expires_seconds=600,
        )
    )
    h.service.approve(item.id, "sue", digest=item.digest)
    with pytest.raises(NotEligibleError):
        h.service.approve(item.id, "carol", digest=item.digest)
    with pytest.raises(UnknownApprovalError):
        h.service.reject("nope", "sue", digest=item.digest)
    h.clock.advance(60)
    h.service.tick()
    h.service.approve(item.id, "ian", digest=item.digest)
    second = h.open()
    h.service.reject(second.id, "carol", digest=second.digest)
    third = h.open()
    h.service.cancel(third.id, "henry")
    fourth = h.open(obligation(expires_seconds=1))
    h.clock.advance(1)
    h.service.tick()
    records = h.records()
    assert [r.type for r in records] == [
        "approval.opened",
        "approval.voted",
        "approval.refused",
        "approval.refused",
        "approval.escalated",
        "approval.approved",
        "approval.opened",
        "approval.rejected",
        "approval.opened",
        "approval.cancelled",
        "approval.opened",
        "approval.expired",
    ]
    verify_records(read_lines(h.log.path), h.signer.public_key)  # signed and chained
    opened, voted, refused, unknown, escalated, approved = records[:6]
    assert (opened.actor, opened.action, opened.resource) == (
        "henry",
        "account.reset_password",
        "account:alice",
    )
    assert (opened.decision_id, opened.policy_digest) == ("dec-1", "sha256:" + "ab" * 32)
    assert opened.payload["approval_id"] == item.id
    assert opened.payload["digest"] == item.digest
    assert opened.payload["obligations"][0]["quorum"] == 2
    assert voted.payload["approvals"] == {"approval": ["sue"]}
    assert (refused.actor, refused.payload["reason"], refused.payload["attempt"]) == (
        "carol",
        "not_eligible",
        "approve",
    )
    assert (unknown.resource, unknown.payload["reason"], unknown.payload["attempt"]) == (
        None,
        "unknown_request",
        "reject",
    )
    assert escalated.payload["escalate_to"] == ["user:ian"]
    assert (approved.actor, approved.payload["state"]) == ("ian", "approved")
    assert records[-1].payload["approval_id"] == fourth.id


def test_no_change_when_the_audit_append_fails(h: Harness) -> None:
    calls: list[AuditEvent] = []
    broken = h.build(audit=failing_sink(calls))
    request = access()
    with pytest.raises(RuntimeError, match="audit down"):
        broken.open(request, decision(request), (obligation(),), requester="henry")
    assert h.service.list_pending("carol") == []
    item = h.open(obligation(expires_seconds=60))
    attempts: list[Callable[[], object]] = [
        lambda: broken.approve(item.id, "carol", digest=item.digest),
        lambda: broken.reject(item.id, "carol", digest=item.digest),
        lambda: broken.cancel(item.id, "henry"),
    ]
    for attempt in attempts:
        with pytest.raises(RuntimeError, match="audit down"):
            attempt()
        assert h.service.get(item.id) == item
    h.clock.advance(60)
    with pytest.raises(RuntimeError, match="audit down"):
        broken.tick()
    assert h.service.get(item.id).state is ApprovalState.PENDING
    assert [event.type for event in calls] == [
        "approval.opened",
        "approval.approved",
        "approval.rejected",
        "approval.cancelled",
        "approval.expired",
    ]


def test_a_refusal_that_cannot_be_audited_still_refuses(h: Harness) -> None:
    calls: list[AuditEvent] = []
    broken = h.build(audit=failing_sink(calls))
    with pytest.raises(RuntimeError, match="audit down"):
        broken.approve("nope", "carol", digest="sha256:" + "0" * 64)
    assert [event.type for event in calls] == ["approval.refused"]


def test_without_an_audit_sink_nothing_is_written(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path / "approvals.db")
    service = ApprovalService(
        store, StaticDirectory(DIRECTORY), authorise=lambda approver, item: None
    )
    try:
        request = access()
        item = service.open(request, decision(request), (obligation(),), requester="henry")
        assert service.approve(item.id, "carol", digest=item.digest).state is ApprovalState.APPROVED
    finally:
        store.close()

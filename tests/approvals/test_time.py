"""Expiry and escalation, driven by the test's clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.approvals import ApprovalState, NotEligibleError, RequestFinishedError
from gateway.approvals.store import Transaction
from gateway.policy.decision import ApprovalObligation
from gateway.storage import Backend
from tests.approvals import Harness, obligation


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


def escalating(**extra: Any) -> ApprovalObligation:
    return obligation(
        "group:security-team",
        expires_seconds=4 * 3600,
        escalate_after_seconds=3600,
        escalate_to=("group:it-admins",),
        **extra,
    )


def test_tick_expires_overdue_requests_once(h: Harness) -> None:
    item = h.open(obligation(expires_seconds=60))
    assert h.service.tick() == []
    h.clock.advance(60)
    (change,) = h.service.tick()
    assert (change.kind, change.request.id) == ("expired", item.id)
    assert change.request.state is ApprovalState.EXPIRED
    assert h.service.get(item.id).state is ApprovalState.EXPIRED
    assert h.service.tick() == []
    with pytest.raises(RequestFinishedError, match="expected pending, found expired"):
        h.service.approve(item.id, "carol", digest=item.digest)


def test_the_shortest_obligation_expiry_bounds_the_request(h: Harness) -> None:
    item = h.open(obligation(expires_seconds=600), obligation("user:ian", expires_seconds=60))
    assert item.expires_at == item.created_at.replace(minute=1)


def test_a_vote_after_the_deadline_expires_the_request_and_is_refused(h: Harness) -> None:
    item = h.open(obligation(expires_seconds=60))
    h.clock.advance(61)
    with pytest.raises(RequestFinishedError, match="found expired"):
        h.service.approve(item.id, "carol", digest=item.digest)
    assert h.service.get(item.id).state is ApprovalState.EXPIRED
    assert h.types() == ["approval.opened", "approval.expired", "approval.refused"]


def test_escalation_makes_escalate_to_eligible_and_fires_once(h: Harness) -> None:
    item = h.open(escalating())
    with pytest.raises(NotEligibleError):
        h.service.approve(item.id, "ian", digest=item.digest)
    h.clock.advance(3599)
    assert h.service.tick() == []
    assert h.service.list_pending("ian") == []
    h.clock.advance(1)
    (change,) = h.service.tick()
    assert (change.kind, change.obligation, change.notify) == ("escalated", 0, ("group:it-admins",))
    assert change.request.escalated == {0}
    assert h.service.tick() == []
    assert [i.id for i in h.service.list_pending("ian")] == [item.id]
    assert h.service.approve(item.id, "ian", digest=item.digest).state is ApprovalState.APPROVED


def test_escalation_is_eligible_on_time_even_before_tick(h: Harness) -> None:
    item = h.open(escalating())
    h.clock.advance(3600)
    assert h.service.approve(item.id, "ian", digest=item.digest).state is ApprovalState.APPROVED


def test_met_obligations_and_those_without_escalate_to_do_not_escalate(h: Harness) -> None:
    item = h.open(
        escalating(name="met"),
        obligation("user:ian", escalate_after_seconds=60, name="no target"),
        escalating(name="open", quorum=2),
    )
    assert item.escalate_at(1) is None
    h.service.approve(item.id, "sue", digest=item.digest)  # meets "met", half of "open"
    h.clock.advance(3600)
    (change,) = h.service.tick()
    assert (change.kind, change.obligation) == ("escalated", 2)


def test_tick_skips_requests_finished_while_it_ran(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = h.open(obligation(expires_seconds=60))
    stale = h.service.get(item.id)
    h.service.cancel(item.id, "henry")
    monkeypatch.setattr(Transaction, "pending", lambda self: [stale])
    h.clock.advance(120)
    assert h.service.tick() == []


def test_tick_takes_an_explicit_time(h: Harness) -> None:
    item = h.open(obligation(expires_seconds=60))
    (change,) = h.service.tick(item.created_at.replace(hour=10))
    assert change.kind == "expired"

"""Approval flows: quorum, approver kinds, repeats, rejections, cancelling, reading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.approvals import (
    ApprovalState,
    ConflictingVoteError,
    NoApproverError,
    NotEligibleError,
    RequestFinishedError,
    UnknownApprovalError,
    Verdict,
    approval_digest,
)
from gateway.policy.decision import Effect
from gateway.storage import Backend
from tests.approvals import Harness, access, decision, obligation


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


def test_quorum_of_one_manager_approves_and_satisfies_only_its_digest(h: Harness) -> None:
    item = h.open()
    assert (item.state, item.target, item.manager) == (ApprovalState.PENDING, "alice", "carol")
    assert not h.service.is_satisfied(item.id, item.digest)
    done = h.service.approve(item.id, "carol", digest=item.digest)
    assert done.state is ApprovalState.APPROVED
    assert (done.finished_by, done.finished_at) == ("carol", h.clock.now)
    assert h.service.is_satisfied(item.id, item.digest)
    assert not h.service.is_satisfied(item.id, approval_digest(access(extra="changed")))
    assert not h.service.is_satisfied("nope", item.digest)
    assert h.service.get(item.id) == done


def test_manager_of_the_requester_when_the_resource_is_not_an_account(h: Harness) -> None:
    request = access("software:visio", actor="alice")
    item = h.open(request=request)
    assert (item.target, item.manager) == (None, "carol")
    assert h.service.approve(item.id, "carol", digest=item.digest).state is ApprovalState.APPROVED


def test_no_manager_lookup_without_a_manager_approver(h: Harness) -> None:
    item = h.open(obligation("user:sue"), request=access("account:ghost"))
    assert (item.target, item.manager) == ("ghost", None)


def test_target_without_manager_cannot_get_a_manager_approval(h: Harness) -> None:
    with pytest.raises(NoApproverError, match="nomgr has no manager"):
        h.open(request=access("account:nomgr"))
    with h.store.transaction(write=False) as tx:
        assert tx.pending() == []
    assert h.types() == ["approval.refused"]


def test_quorum_of_two_needs_two_distinct_group_members(h: Harness) -> None:
    item = h.open(obligation("group:security-team", quorum=2))
    first = h.service.approve(item.id, "sue", digest=item.digest)
    assert first.state is ApprovalState.PENDING
    assert first.voters(0, Verdict.APPROVE) == {"sue"}
    again = h.service.approve(item.id, "sue", digest=item.digest)
    assert again == first  # a repeat is idempotent and does not double count
    done = h.service.approve(item.id, "sam", digest=item.digest)
    assert done.state is ApprovalState.APPROVED
    assert len(done.votes) == 2
    assert h.types() == ["approval.opened", "approval.voted", "approval.approved"]


def test_transitive_group_membership_makes_an_approver(h: Harness) -> None:
    item = h.open(obligation("group:it-staff"))
    assert h.service.approve(item.id, "sue", digest=item.digest).state is ApprovalState.APPROVED


def test_role_approver_through_the_casbin_role_hierarchy(h: Harness) -> None:
    item = h.open(obligation("role:technician"), request=access(actor="alice"), requester="alice")
    with pytest.raises(NotEligibleError):
        h.service.approve(item.id, "sue", digest=item.digest)
    done = h.service.approve(item.id, "hugo", digest=item.digest)  # helpdesk -> technician
    assert done.state is ApprovalState.APPROVED


def test_named_user_approver(h: Harness) -> None:
    item = h.open(obligation("user:ian"))
    assert h.service.approve(item.id, "ian", digest=item.digest).state is ApprovalState.APPROVED


def test_every_obligation_needs_its_own_quorum(h: Harness) -> None:
    item = h.open(
        obligation("manager", name="manager"),
        obligation("group:security-team", quorum=2, name="security"),
    )
    assert h.service.approve(item.id, "carol", digest=item.digest).state is ApprovalState.PENDING
    assert h.service.approve(item.id, "sue", digest=item.digest).state is ApprovalState.PENDING
    done = h.service.approve(item.id, "sara", digest=item.digest)
    assert done.state is ApprovalState.APPROVED


def test_one_person_counts_once_per_obligation_they_are_eligible_for(h: Harness) -> None:
    item = h.open(
        obligation("group:security-team", quorum=2, name="a"),
        obligation("user:sue", name="b"),
    )
    voted = h.service.approve(item.id, "sue", digest=item.digest)
    assert voted.state is ApprovalState.PENDING
    assert [(v.obligation, v.approver) for v in voted.votes] == [(0, "sue"), (1, "sue")]
    assert h.service.approve(item.id, "sue", digest=item.digest) == voted


def test_one_rejection_rejects_by_default(h: Harness) -> None:
    item = h.open(obligation("group:security-team", quorum=2))
    h.service.approve(item.id, "sue", digest=item.digest)
    done = h.service.reject(item.id, "sam", digest=item.digest)
    assert (done.state, done.finished_by) == (ApprovalState.REJECTED, "sam")
    assert not h.service.is_satisfied(item.id, item.digest)
    with pytest.raises(RequestFinishedError, match="expected pending, found rejected"):
        h.service.approve(item.id, "sara", digest=item.digest)


def test_without_reject_on_first_a_quorum_of_rejections_rejects(h: Harness) -> None:
    service = h.build(reject_on_first=False)
    item = h.open(obligation("group:security-team", quorum=2))
    assert service.reject(item.id, "sue", digest=item.digest).state is ApprovalState.PENDING
    assert service.approve(item.id, "sam", digest=item.digest).state is ApprovalState.PENDING
    assert service.reject(item.id, "sara", digest=item.digest).state is ApprovalState.REJECTED


def test_a_vote_is_final(h: Harness) -> None:
    item = h.open(obligation("group:security-team", quorum=2))
    h.service.approve(item.id, "sue", digest=item.digest)
    with pytest.raises(
        ConflictingVoteError, match="'sue' already voted: expected reject, found approve"
    ):
        h.service.reject(item.id, "sue", digest=item.digest)
    assert h.service.get(item.id).state is ApprovalState.PENDING


def test_the_requester_cancels(h: Harness) -> None:
    item = h.open()
    with pytest.raises(NotEligibleError, match="is not the requester and cannot cancel"):
        h.service.cancel(item.id, "carol")
    done = h.service.cancel(item.id, "henry")
    assert (done.state, done.finished_by) == (ApprovalState.CANCELLED, "henry")
    assert h.service.get(item.id).state is ApprovalState.CANCELLED
    with pytest.raises(RequestFinishedError, match="found cancelled"):
        h.service.cancel(item.id, "henry")
    with pytest.raises(RequestFinishedError):
        h.service.approve(item.id, "carol", digest=item.digest)


def test_unknown_request(h: Harness) -> None:
    with pytest.raises(UnknownApprovalError, match="approval nope: unknown request"):
        h.service.get("nope")
    with pytest.raises(UnknownApprovalError):
        h.service.approve("nope", "carol", digest="sha256:" + "0" * 64)


def test_list_pending_shows_what_an_approver_can_still_vote_on(h: Harness) -> None:
    security = h.open(obligation("group:security-team", quorum=2))
    managed = h.open()
    finished = h.open()
    h.service.approve(finished.id, "carol", digest=finished.digest)
    assert [i.id for i in h.service.list_pending("carol")] == [managed.id]
    assert [i.id for i in h.service.list_pending("sue")] == [security.id]
    h.service.approve(security.id, "sue", digest=security.digest)
    assert h.service.list_pending("sue") == []
    assert [i.id for i in h.service.list_pending("sam")] == [security.id]
    assert h.service.list_pending("henry") == []  # the requester
    assert h.service.list_pending("ghost") == []  # not in the directory
    h.clock.advance(86_400)
    assert h.service.list_pending("sam") == []  # overdue


def test_list_pending_leaves_out_the_target(h: Harness) -> None:
    h.open(obligation("group:staff"))
    assert h.service.list_pending("alice") == []
    assert len(h.service.list_pending("carol")) == 1


def test_opening_needs_an_allow_decision_for_the_request_and_obligations(h: Harness) -> None:
    request = access()
    with pytest.raises(RuntimeError, match="at least one"):
        h.service.open(request, decision(request), (), requester="henry")
    with pytest.raises(RuntimeError, match="allow decision"):
        h.service.open(request, decision(request, Effect.DENY), (obligation(),), requester="h")
    with pytest.raises(RuntimeError, match="allow decision"):
        h.service.open(access(x=1), decision(request), (obligation(),), requester="henry")

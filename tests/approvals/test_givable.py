"""An approval nobody can give is refused (or escalated) when it is opened, never left
waiting; people are told only when they are resolved people."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.approvals import ApprovalState, NoApproverError
from gateway.approvals.notices import approval_notice, approvers_to_ask, recipients
from gateway.notify.model import NotificationKind
from gateway.policy.decision import ApprovalObligation, Decision
from gateway.policy.request import AccessRequest
from gateway.storage import Backend
from tests.approvals import Harness, access, decision, obligation


def opening(request: AccessRequest) -> tuple[AccessRequest, Decision, list[ApprovalObligation]]:
    return request, decision(request), [obligation()]


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


@pytest.mark.parametrize(
    ("approvers", "quorum", "request_for"),
    [
        ("manager", 1, "account:nomgr"),
        ("user:dave", 1, "account:alice"),
        ("user:nobody-here", 1, "account:alice"),
        ("user:henry,user:alice", 1, "account:alice"),
        ("user:sue,user:sam", 3, "account:alice"),
    ],
    ids=[
        "the target has no manager",
        "the only approver is disabled",
        "the only approver is not in the directory",
        "the only approvers are the requester and the target",
        "fewer people than the quorum",
    ],
)
def test_an_approval_nobody_can_give_is_refused_and_audited(
    h: Harness, approvers: str, quorum: int, request_for: str
) -> None:
    with pytest.raises(NoApproverError) as caught:
        h.open(obligation(approvers, quorum=quorum), request=access(request_for))

    assert caught.value.reason == "no_approver"
    assert "nobody among them can approve" in str(caught.value)
    (refused,) = h.records()
    assert (refused.type, refused.actor, refused.resource) == (
        "approval.refused",
        "henry",
        request_for,
    )
    assert refused.payload["attempt"] == "open"
    assert refused.payload["message"] == str(caught.value)
    with h.store.transaction(write=False) as tx:
        assert tx.pending() == []


@pytest.mark.parametrize(
    "approvers",
    ["group:security-team", "role:technician", "user:sue,user:dave"],
    ids=["a group", "a role", "one active person among others"],
)
def test_an_approval_somebody_may_give_opens(h: Harness, approvers: str) -> None:
    item = h.open(obligation(approvers))

    assert item.state is ApprovalState.PENDING
    assert item.escalated == frozenset()


def test_nobody_to_ask_first_escalates_at_once_and_asks_the_escalation(h: Harness) -> None:
    needed = obligation("manager", escalate_after_seconds=3600, escalate_to=("user:sue",))

    item = h.open(needed, request=access("account:nomgr"))

    assert item.escalated == {0}
    assert h.service.get(item.id).escalated == {0}
    assert approvers_to_ask(item) == ("sue",)
    notice = approval_notice(NotificationKind.APPROVAL_REQUESTED, item, approvers_to_ask(item))
    assert notice.recipients == ("sue",)
    assert f"gateway approvals approve {item.id}" in notice.text
    opened, escalated = h.records()
    assert (opened.type, escalated.type) == ("approval.opened", "approval.escalated")
    assert escalated.payload["why"].endswith("nomgr has no manager")
    assert [pending.id for pending in h.service.list_pending("sue")] == [item.id]
    assert h.service.tick(h.clock.now + timedelta(hours=2)) == []  # fired already
    done = h.service.approve(item.id, "sue", digest=item.digest)
    assert done.state is ApprovalState.APPROVED


def test_an_escalation_nobody_can_give_either_is_refused(h: Harness) -> None:
    needed = obligation("manager", escalate_after_seconds=60, escalate_to=("user:dave",))

    with pytest.raises(NoApproverError, match="nomgr has no manager"):
        h.open(needed, request=access("account:nomgr"))


def test_notices_go_to_resolved_people_never_to_a_literal_manager(h: Harness) -> None:
    with_manager = h.open(obligation("manager,user:sue,group:helpdesk"))
    without = h.open(obligation("manager,user:sue"), request=access("account:nomgr"))

    assert approvers_to_ask(with_manager) == ("carol", "sue", "group:helpdesk")
    assert approvers_to_ask(without) == ("sue",)
    assert recipients(without, ("manager",)) == ()


def test_a_due_escalation_to_the_manager_notifies_the_manager_by_name(h: Harness) -> None:
    needed = obligation("user:sue", escalate_after_seconds=60, escalate_to=("manager",))
    item = h.open(needed)

    (change,) = h.service.tick(h.clock.now + timedelta(seconds=61))

    assert (change.kind, change.request.id, change.notify) == ("escalated", item.id, ("carol",))
    assert h.records()[-1].payload["escalate_to"] == ["manager"]


def test_an_approver_spec_of_no_known_kind_names_nobody(h: Harness) -> None:
    with pytest.raises(NoApproverError, match=r"needs 1 of \[team:ops\]"):
        h.open(obligation("team:ops"))


def test_without_an_audit_log_the_refusal_is_still_raised(h: Harness) -> None:
    service = h.build(audit=None)

    request, allow, needed = opening(access("account:nomgr"))

    with pytest.raises(NoApproverError):
        service.open(request, allow, needed, requester="henry")
    assert h.records() == []

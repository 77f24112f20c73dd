"""Refused votes: separation of duties, eligibility, digest binding, hooks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.approvals import (
    ApprovalRequest,
    ApprovalState,
    DigestMismatchError,
    NotAuthorisedError,
    NotEligibleError,
    RequestFinishedError,
    SelfApprovalError,
    StepUpRequiredError,
    approval_digest,
)
from gateway.storage import Backend
from tests.approvals import Harness, access, obligation


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


@pytest.mark.parametrize(
    ("approver", "requester", "message"),
    [
        pytest.param("henry", "henry", "'henry' is the requester", id="the requester"),
        pytest.param("henry", "bot", "'henry' is the requester", id="the actor for a bot"),
        pytest.param("alice", "henry", "'alice' is the target", id="the target account"),
    ],
)
def test_separation_of_duties(h: Harness, approver: str, requester: str, message: str) -> None:
    item = h.open(obligation("group:staff,group:helpdesk"), requester=requester)
    with pytest.raises(SelfApprovalError, match=message):
        h.service.approve(item.id, approver, digest=item.digest)
    assert h.service.get(item.id).votes == ()


@pytest.mark.parametrize(
    ("approver", "message"),
    [
        pytest.param("ghost", "'ghost' is not in the directory", id="unknown approver"),
        pytest.param("dave", "'dave' account is disabled", id="disabled approver"),
        pytest.param("ian", "'ian' is not an approver of this request", id="not listed"),
    ],
)
def test_ineligible_approvers_are_refused(h: Harness, approver: str, message: str) -> None:
    item = h.open(obligation("group:security-team"))
    with pytest.raises(NotEligibleError, match=message):
        h.service.approve(item.id, approver, digest=item.digest)


def test_a_changed_parameter_needs_a_new_approval(h: Harness) -> None:
    item = h.open(request=access(group="finance"))
    other = approval_digest(access(group="domain-admins"))
    with pytest.raises(DigestMismatchError) as caught:
        h.service.approve(item.id, "carol", digest=other)
    assert str(caught.value) == (
        f"approval {item.id}: request digest mismatch: expected {item.digest}, found {other}"
    )
    assert h.service.get(item.id).state is ApprovalState.PENDING


def test_someone_who_may_not_vote_is_not_told_the_digest(h: Harness) -> None:
    item = h.open(request=access(group="finance"))
    wrong = approval_digest(access(group="domain-admins"))

    with pytest.raises(NotEligibleError) as caught:
        h.service.approve(item.id, "ian", digest=wrong)

    assert item.digest not in str(caught.value)
    assert h.service.get(item.id).votes == ()


def test_the_digest_ignores_context_outside_parameters() -> None:
    plain = access()
    assert approval_digest(plain) == approval_digest(
        plain.model_copy(update={"context": {"channel": "ticket", "parameters": {}}})
    )
    assert approval_digest(plain) == approval_digest(plain.model_copy(update={"context": {}}))


def test_the_authorise_hook_can_refuse(h: Harness) -> None:
    seen: list[tuple[str, str]] = []

    def authorise(approver: str, item: ApprovalRequest) -> str | None:
        seen.append((approver, item.id))
        return "outside business hours" if approver == "sue" else None

    service = h.build(authorise=authorise)
    item = h.open(obligation("group:security-team"))
    with pytest.raises(NotAuthorisedError, match="'sue' not authorised: outside business hours"):
        service.approve(item.id, "sue", digest=item.digest)
    assert service.approve(item.id, "sam", digest=item.digest).state is ApprovalState.APPROVED
    assert seen == [("sue", item.id), ("sam", item.id)]


def test_the_step_up_hook_must_confirm_a_step_up_bound_to_the_request(h: Harness) -> None:
    stepped_up: set[tuple[str, str]] = set()
    service = h.build(step_up=lambda user, digest: (user, digest) in stepped_up)
    item = h.open(obligation("group:security-team"))
    with pytest.raises(StepUpRequiredError, match="'sue' needs a fresh step-up"):
        service.approve(item.id, "sue", digest=item.digest)
    stepped_up.add(("sue", item.digest))
    assert service.approve(item.id, "sue", digest=item.digest).state is ApprovalState.APPROVED


def test_a_request_finished_while_the_vote_was_checked_refuses_the_vote(h: Harness) -> None:
    def authorise(approver: str, item: ApprovalRequest) -> str | None:
        h.service.cancel(item.id, "henry")  # another caller wins the race
        return None

    service = h.build(authorise=authorise)
    item = h.open()
    with pytest.raises(RequestFinishedError, match="expected pending, found cancelled"):
        service.approve(item.id, "carol", digest=item.digest)
    assert h.service.get(item.id).votes == ()
    assert h.types()[-2:] == ["approval.cancelled", "approval.refused"]

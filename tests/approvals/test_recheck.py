"""Before the action: do the approvals given still meet what policy asks, with today's facts?"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.approvals import ApprovalRequest, engine_roles, no_roles
from gateway.approvals.recheck import shortfall
from gateway.identity.static import StaticDirectory, StaticDirectoryFile
from gateway.storage import Backend
from tests.approvals import DIRECTORY, Harness, access, engine, obligation


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


def today(change: Callable[[dict[str, Any]], object] = lambda users: None) -> StaticDirectory:
    """The directory as it is now: the tests' directory after ``change`` to its users."""
    model = DIRECTORY.model_dump()
    change(model["users"])
    return StaticDirectory(StaticDirectoryFile.model_validate(model))


def approved_by_manager(h: Harness) -> ApprovalRequest:
    item = h.open()  # henry resets alice's password; alice's manager carol approves
    return h.service.approve(item.id, "carol", digest=item.digest)


def approved_by_security(h: Harness) -> ApprovalRequest:
    item = h.open(obligation("group:security-team"))
    return h.service.approve(item.id, "sue", digest=item.digest)


def test_approvals_that_still_meet_every_obligation_suffice(h: Harness) -> None:
    item = approved_by_manager(h)

    assert shortfall(item, item.obligations, today(), no_roles) is None


def test_no_obligation_left_means_nothing_is_missing(h: Harness) -> None:
    assert shortfall(approved_by_manager(h), [], today(), no_roles) is None


def test_a_policy_that_now_asks_for_more_approvers_is_not_met(h: Harness) -> None:
    item = approved_by_security(h)

    why = shortfall(item, [obligation("group:security-team", quorum=2)], today(), no_roles)

    assert why == (
        "approval of test-policy needs 2 of [group:security-team]; "
        "approvals that still count: [sue]"
    )


def drop_group(users: dict[str, Any]) -> None:
    users["sue"]["groups"] = []


def disable(users: dict[str, Any]) -> None:
    users["sue"]["status"] = "disabled"


def remove(users: dict[str, Any]) -> None:
    del users["sue"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(drop_group, id="an approver who left the group no longer counts"),
        pytest.param(disable, id="an approver whose account is disabled no longer counts"),
        pytest.param(remove, id="an approver gone from the directory no longer counts"),
    ],
)
def test_an_approver_who_is_no_longer_eligible_does_not_count(
    h: Harness, change: Callable[[dict[str, Any]], None]
) -> None:
    item = approved_by_security(h)

    why = shortfall(item, item.obligations, today(change), no_roles)

    assert why == (
        "approval of test-policy needs 1 of [group:security-team]; approvals that still count: []"
    )


def new_manager(users: dict[str, Any]) -> None:
    users["alice"]["manager"] = "mia"


def target_gone(users: dict[str, Any]) -> None:
    del users["alice"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(new_manager, id="a manager who changed no longer counts as the manager"),
        pytest.param(target_gone, id="without the target in the directory there is no manager"),
    ],
)
def test_the_manager_is_whom_the_directory_names_today(
    h: Harness, change: Callable[[dict[str, Any]], None]
) -> None:
    item = approved_by_manager(h)

    why = shortfall(item, item.obligations, today(change), no_roles)

    assert why == "approval of test-policy needs 1 of [manager]; approvals that still count: []"


def test_the_manager_of_the_requester_when_the_resource_is_no_account(h: Harness) -> None:
    item = h.open(request=access("software:visio", actor="alice"))
    done = h.service.approve(item.id, "carol", digest=item.digest)

    assert shortfall(done, done.obligations, today(), no_roles) is None


def test_escalation_approvers_count_today_too(h: Harness) -> None:
    item = h.open(obligation("user:sue", escalate_after_seconds=60, escalate_to=("user:ian",)))
    h.clock.advance(60)
    done = h.service.approve(item.id, "ian", digest=item.digest)

    assert shortfall(done, done.obligations, today(), no_roles) is None


def test_role_holders_count_through_the_bundle_in_force(h: Harness) -> None:
    item = h.open(obligation("role:access-admin"))
    done = h.service.approve(item.id, "ian", digest=item.digest)  # it-admins -> access-admin

    assert shortfall(done, done.obligations, today(), engine_roles(engine)) is None
    assert shortfall(done, done.obligations, today(), no_roles) is not None


def test_a_party_to_the_request_never_counts(h: Harness) -> None:
    done = approved_by_manager(h)
    carol_asked = replace(done, requester="carol")  # as if the approver had been the requester

    why = shortfall(carol_asked, done.obligations, today(), no_roles)

    assert why == "approval of test-policy needs 1 of [manager]; approvals that still count: []"

"""Who may read an approval request: the ``approval.read`` decision, with the request's
requester and the reader's eligibility set by the gateway, recorded every time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.approvals import UnknownApprovalError
from gateway.approvals.reading import READ_ACTION, ApprovalReads
from gateway.errors import DirectoryUnavailableError
from gateway.identity.facts import IdentityFacts, ResourceFacts
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest
from gateway.storage import Backend
from tests.approvals import Harness, access, engine, obligation


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


def ask(reads: ApprovalReads, reader: str, approval_id: str) -> Decision:
    request = AccessRequest(actor=reader, action=READ_ACTION, resource=f"approval:{approval_id}")
    return reads.authorize(request)


def permits(decision: Decision) -> list[str | None]:
    return [r.policy for r in decision.reasons if r.effect in ("permit", "forbid")]


def open_for_alice(h: Harness, approvers: str = "user:mia") -> str:
    """Carol asks for something on Alice's account that ``approvers`` must approve."""
    request = access("account:alice", actor="carol")
    return h.open(obligation(approvers), request=request, requester="carol").id


@pytest.mark.parametrize(
    ("reader", "allowed", "policies"),
    [
        ("carol", True, ["approval-read-requester"]),
        ("mia", True, ["approval-read-approver"]),
        ("sue", True, ["approval-read-auditors"]),
        ("nomgr", False, []),
        ("alice", False, []),
        ("nobody-here", False, []),
    ],
    ids=[
        "the requester reads it",
        "the approver reads it",
        "the security team reads it as auditors",
        "someone the obligation does not name does not",
        "the target does not",
        "someone the directory does not know does not",
    ],
)
def test_a_read_is_decided_and_recorded(
    h: Harness, reader: str, allowed: bool, policies: list[str]
) -> None:
    recorded: list[Decision] = []
    reads = ApprovalReads(h.service, PolicyDecisionPoint(engine), record=recorded.append)
    approval_id = open_for_alice(h)

    decision = ask(reads, reader, approval_id)

    assert decision.allowed is allowed
    assert permits(decision) == policies
    assert recorded == [decision]


def test_a_disabled_auditor_is_refused_by_the_guardrail(h: Harness) -> None:
    reads = ApprovalReads(h.service, PolicyDecisionPoint(engine))
    approval_id = open_for_alice(h)

    assert permits(ask(reads, "dave", approval_id)) == ["inactive-actor"]


def test_an_unknown_request_is_not_decided(h: Harness) -> None:
    recorded: list[Decision] = []
    reads = ApprovalReads(h.service, PolicyDecisionPoint(engine), record=recorded.append)

    with pytest.raises(UnknownApprovalError):
        ask(reads, "henry", "no-such-request")
    assert recorded == []


class Unreachable:
    name = "down"

    def get_user(self, user_id: str) -> IdentityFacts:
        raise DirectoryUnavailableError("directory down: connection refused")

    def get_resource(self, resource_type: str, resource_id: str) -> ResourceFacts | None:
        return None

    def find_users(
        self, *, email: str | None = None, username: str | None = None
    ) -> list[IdentityFacts]:
        return []


def test_an_unreachable_directory_refuses_the_read(h: Harness) -> None:
    item = h.open()
    h.service.directory = Unreachable()
    reads = ApprovalReads(h.service, PolicyDecisionPoint(engine))

    decision = ask(reads, "carol", item.id)

    assert not decision.allowed
    assert decision.unavailable
    assert decision.reasons[0].message == "directory down: connection refused"


def test_an_inactive_person_has_nothing_to_vote_on(h: Harness) -> None:
    h.open(obligation("group:security-team"))

    assert [len(h.service.list_pending(who)) for who in ("sam", "dave")] == [1, 0]


def test_who_may_vote_leaves_out_the_parties_and_people_not_named(h: Harness) -> None:
    item = h.open(obligation("group:security-team,user:henry,user:alice"))
    people = {who: h.service.directory.get_user(who) for who in ("sue", "henry", "alice", "mia")}

    assert {who: h.service.may_vote(item, p) for who, p in people.items()} == {
        "sue": True,
        "henry": False,
        "alice": False,
        "mia": False,
    }

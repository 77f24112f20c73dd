"""A hundred presses at once on one approval count exactly the quorum."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from gateway.approvals.model import ApprovalState, Verdict
from gateway.policy.decision import ApprovalObligation
from tests.api.test_approvals import open_grant
from tests.chat.conftest import PRIYA, SAM, ChatApi
from tests.chat.slack_requests import block_actions, signed

ELENA = "U0ELENA"


def test_a_hundred_simultaneous_presses_count_exactly_the_quorum(chat: ChatApi) -> None:
    chat.slack.users[ELENA] = type(chat.slack.users[SAM])(ELENA, "elena@example.com")
    two = ApprovalObligation(
        name="two", approvers=("user:priya", "user:sam", "user:elena"), quorum=2, policy="test"
    )
    item = open_grant(chat.api, needed=(two,))
    slack = chat.api.services.chat.slack if chat.api.services.chat else None
    assert slack is not None
    people = [PRIYA, SAM, ELENA]
    bodies = [
        block_actions(people[n % 3], "approval.approve", f"{item.id} {item.digest}",
                      chat.slack.response_url(f"r{n}"))
        for n in range(100)
    ]  # fmt: skip

    def press(body: bytes) -> int:
        answer = slack.interaction(signed(body), body)
        answer.run_later()
        return answer.status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(press, bodies))

    assert statuses == [200] * 100
    assert chat.api.gateway.approvals is not None
    done = chat.api.gateway.approvals.get(item.id)
    assert done.state is ApprovalState.APPROVED
    assert len(done.voters(0, Verdict.APPROVE)) == 2
    assert len(done.votes) == 2
    assert len(chat.api.audited("approval.approved")) == 1
    assert len(chat.api.audited("chat.interaction_accepted")) == 100

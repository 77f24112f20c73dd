"""A step-up bound to a request is used up by the one execution it lets go on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit.records import AuditEvent
from gateway.errors import AuditWriteError
from gateway.policy.decision import StepUpObligation
from gateway.stepup import StepUpService
from gateway.storage import Backend
from tests.stepup import DIGEST_A, DIGEST_B, Harness, harness

ONCE = StepUpObligation(max_age_seconds=300, policy="password-reset-own-account")
WINDOW = StepUpObligation(max_age_seconds=300, reuse="window", policy="kb-publish")


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    subject = harness(tmp_path, storage_backend)
    yield subject
    subject.service.close()


def stepped_up(h: Harness, digest: str = DIGEST_A, offset: int = 0) -> None:
    """Alice (enrolled first when she is not yet) steps up, bound to ``digest``."""
    if not h.service.is_enrolled("alice"):
        h.seeds.append(h.enrol())
    h.service.verify("alice", h.code(h.seeds[-1], offset), bound_to=digest)


def claim(h: Harness, consumer: str | None, obligation: StepUpObligation = ONCE) -> bool:
    return h.service.claim(obligation, "alice", bound_to=DIGEST_A, consumer=consumer)


def test_a_bound_step_up_lets_one_execution_go_on_and_no_other(h: Harness) -> None:
    stepped_up(h)

    assert claim(h, "run-1/reset")
    assert claim(h, "run-1/reset"), "the same step asking again (a retry) still has it"
    assert not claim(h, "run-2/reset"), "another execution of the same request"
    (used,) = [event for event in h.events if event.type == "stepup.consumed"]
    assert used.actor == "alice"
    assert used.payload == {
        "bound_to": DIGEST_A,
        "consumed_by": "run-1/reset",
        "stepped_up_at": "2024-05-01T09:30:00.000000Z",
    }


def test_a_new_step_up_lets_the_next_execution_go_on(h: Harness) -> None:
    stepped_up(h)
    assert claim(h, "run-1/reset")

    stepped_up(h, offset=1)

    assert claim(h, "run-2/reset")
    assert not claim(h, "run-3/reset")


def test_a_step_up_bound_to_another_request_is_not_used(h: Harness) -> None:
    stepped_up(h, DIGEST_B)

    assert not claim(h, "run-1/reset")
    assert h.service.claim(ONCE, "alice", bound_to=DIGEST_B, consumer="run-1/reset")


def test_an_old_step_up_is_not_used_even_by_the_execution_that_used_it(h: Harness) -> None:
    stepped_up(h)
    assert claim(h, "run-1/reset")

    h.clock.advance(301)

    assert not claim(h, "run-1/reset")
    assert not claim(h, "run-2/reset")


def test_without_a_consumer_a_step_up_cannot_be_used(h: Harness) -> None:
    stepped_up(h)

    assert not claim(h, None)
    assert claim(h, "run-1/reset")


def test_a_policy_may_let_a_step_up_count_within_its_window(h: Harness) -> None:
    stepped_up(h)

    assert all(claim(h, f"run-{n}/publish", WINDOW) for n in range(3))
    assert claim(h, None, WINDOW)
    assert "stepup.consumed" not in h.types()
    h.clock.advance(301)
    assert not claim(h, "run-4/publish", WINDOW)


def test_a_use_that_cannot_be_audited_does_not_happen(h: Harness) -> None:
    stepped_up(h)

    def failing(_: AuditEvent) -> None:
        raise AuditWriteError("audit.jsonl: append failed: disk full")

    broken = StepUpService.open(h.settings, clock=h.clock, audit=failing, backend=h.backend)
    with pytest.raises(AuditWriteError):
        broken.claim(ONCE, "alice", bound_to=DIGEST_A, consumer="run-1/reset")
    broken.close()

    assert claim(h, "run-2/reset"), "the step-up was not used up"


def test_a_pruned_step_up_takes_its_use_with_it(tmp_path: Path) -> None:
    h = harness(tmp_path, history_seconds=60)
    stepped_up(h)
    assert claim(h, "run-1/reset")
    h.clock.advance(120)

    stepped_up(h)  # prunes the first one; its row id may be given again

    assert claim(h, "run-2/reset")
    h.service.close()


def test_two_executions_racing_for_one_step_up_get_it_once(tmp_path: Path) -> None:
    h = harness(tmp_path)
    stepped_up(h)
    services = [h.reopen() for _ in range(8)]
    barrier = threading.Barrier(len(services))
    winners: list[str] = []

    def attempt(n: int, service: StepUpService) -> None:
        barrier.wait()
        if service.claim(ONCE, "alice", bound_to=DIGEST_A, consumer=f"run-{n}/reset"):
            winners.append(f"run-{n}/reset")

    threads = [threading.Thread(target=attempt, args=item) for item in enumerate(services)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for service in [*services, h.service]:
        service.close()

    assert len(winners) == 1
    (used,) = [event for event in h.events if event.type == "stepup.consumed"]
    assert used.payload["consumed_by"] == winners[0]

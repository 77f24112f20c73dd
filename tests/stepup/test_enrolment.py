"""Enrolment and reset of a factor: who did it, audited before the seed is stored, and
step-ups made with a replaced seed revoked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit.records import AuditEvent
from gateway.errors import AuditWriteError, RequestError
from gateway.policy.decision import StepUpObligation
from gateway.stepup import EnrolmentChangedError, StepUpService
from gateway.storage import Backend
from tests.stepup import DIGEST_A, Harness, harness

ONCE = StepUpObligation(max_age_seconds=300, policy="password-reset-own-account")


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    subject = harness(tmp_path, storage_backend)
    yield subject
    subject.service.close()


def test_an_enrolment_names_who_enrolled_whom_and_the_decision(h: Harness) -> None:
    h.service.enrol("alice", by="hank", replacing=False, decision_id="d-1")

    (event,) = h.events
    assert (event.type, event.actor, event.resource) == ("stepup.enrolled", "hank", "account:alice")
    assert event.decision_id == "d-1"
    assert event.payload == {
        "user": "alice",
        "method": "totp",
        "replaced": False,
        "recovery_issued": 10,
        "recovery_invalidated": 0,
        "step_ups_revoked": 0,
    }


@pytest.mark.parametrize(
    ("enrolled_before", "replacing", "now"),
    [(False, True, "not enrolled"), (True, False, "enrolled")],
    ids=[
        "a reset of a factor someone removed meanwhile",
        "a first enrolment of someone who enrolled meanwhile",
    ],
)
def test_an_enrolment_that_changed_since_the_decision_changes_nothing(
    h: Harness, enrolled_before: bool, replacing: bool, now: str
) -> None:
    first = h.enrol() if enrolled_before else None
    before = list(h.events)

    with pytest.raises(EnrolmentChangedError) as caught:
        h.service.enrol("alice", by="hank", replacing=replacing)

    assert str(caught.value) == (
        f"user 'alice' is {now} now, unlike when it was decided; try again"
    )
    assert h.events == before
    assert h.service.is_enrolled("alice") is enrolled_before
    if first is not None:
        h.service.verify("alice", h.code(first))


def test_a_reset_revokes_every_step_up_made_with_the_old_seed(h: Harness) -> None:
    first = h.enrol()
    h.service.verify("alice", h.code(first), bound_to=DIGEST_A)
    assert h.service.claim(ONCE, "alice", bound_to=DIGEST_A, consumer="run-1/reset")
    h.service.verify("alice", h.code(first, 1))

    h.service.enrol("alice", by="hank", replacing=True)

    assert h.events[-1].type == "stepup.reset"
    assert h.events[-1].payload["step_ups_revoked"] == 2
    assert h.service.last_step_up("alice") is None
    assert h.service.context_for("alice") == {}
    assert not h.service.satisfies(ONCE, "alice")
    assert not h.service.claim(ONCE, "alice", bound_to=DIGEST_A, consumer="run-1/reset")


def test_a_reset_that_cannot_be_audited_leaves_the_old_seed_and_its_step_ups(
    h: Harness,
) -> None:
    first = h.enrol()
    h.service.verify("alice", h.code(first), bound_to=DIGEST_A)

    def failing(_: AuditEvent) -> None:
        raise AuditWriteError("audit.jsonl: append failed: disk full")

    broken = StepUpService.open(h.settings, clock=h.clock, audit=failing, backend=h.backend)
    with pytest.raises(AuditWriteError):
        broken.enrol("alice", by="hank", replacing=True)
    broken.close()

    assert h.service.claim(ONCE, "alice", bound_to=DIGEST_A, consumer="run-1/reset")
    h.service.verify("alice", h.code(first, 1))
    h.service.verify_recovery_code("alice", first.recovery_codes[0].get_secret_value())


def test_a_bad_enroller_id_is_refused(h: Harness) -> None:
    with pytest.raises(RequestError, match="user id must be 1 to 256 printable characters"):
        h.service.enrol("alice", by="")
    assert not h.service.is_enrolled("alice")

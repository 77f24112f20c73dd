"""Using recovery codes in place of a TOTP code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.stepup import (
    CodeRejectedError,
    MalformedCodeError,
    NotEnrolledError,
    StepUpLockedError,
    StepUpService,
    recovery,
)
from gateway.storage import Backend
from tests.stepup import DIGEST_A, START, Harness, elsewhere, harness


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    subject = harness(tmp_path, storage_backend)
    yield subject
    subject.service.close()


def test_each_recovery_code_works_once(h: Harness) -> None:
    enrolment = h.enrol()
    codes = [code.get_secret_value() for code in enrolment.recovery_codes]
    h.service.verify_recovery_code("alice", codes[3].upper(), bound_to=DIGEST_A)
    assert h.service.last_step_up("alice", bound_to=DIGEST_A) == START
    assert h.types()[-2:] == ["stepup.recovery_code_used", "stepup.verified"]
    assert h.events[-2].payload == {"remaining": 9, "bound_to": DIGEST_A}
    assert h.events[-1].payload == {"method": "recovery_code", "bound_to": DIGEST_A}
    with pytest.raises(CodeRejectedError, match="recovery code is wrong or already used"):
        h.service.verify_recovery_code("alice", codes[3])
    h.service.verify_recovery_code("alice", codes[4].replace("-", ""))
    assert h.events[-2].payload["remaining"] == 8


def test_a_wrong_recovery_code_is_counted(h: Harness) -> None:
    h.enrol()
    for _ in range(4):
        with pytest.raises(CodeRejectedError):
            h.service.verify_recovery_code("alice", recovery.new_code())
    with pytest.raises(StepUpLockedError):
        h.service.verify_recovery_code("alice", recovery.new_code())
    assert h.types()[-2:] == ["stepup.failed", "stepup.locked"]
    assert h.events[-1].payload["method"] == "recovery_code"


def test_a_malformed_recovery_code_is_refused_and_counted(h: Harness) -> None:
    h.enrol()
    with pytest.raises(MalformedCodeError, match="recovery code must be 16"):
        h.service.verify_recovery_code("alice", "not a code")
    assert h.events[-1].payload == {"method": "recovery_code", "reason": "malformed", "failures": 1}


def test_a_locked_user_is_refused_before_any_hashing(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = h.enrol()
    for _ in range(5):
        with pytest.raises(CodeRejectedError if _ < 4 else StepUpLockedError):
            h.service.verify("alice", h.wrong(enrolment))

    def never(*_: object) -> bool:
        raise AssertionError("hashed while locked")

    monkeypatch.setattr(recovery, "matches", never)
    with pytest.raises(StepUpLockedError):
        h.service.verify_recovery_code("alice", enrolment.recovery_codes[0].get_secret_value())


def test_a_user_without_enrolment_has_no_recovery_codes(h: Harness) -> None:
    with pytest.raises(NotEnrolledError):
        h.service.verify_recovery_code("bob", recovery.new_code())


def test_a_code_used_by_someone_else_meanwhile_is_refused(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = h.enrol()
    code = enrolment.recovery_codes[0].get_secret_value()
    attempt = StepUpService._attempt

    def use_first(service: StepUpService, *args: object) -> None:
        # Between the comparison and the claim, another process uses the same code.
        elsewhere(h, "UPDATE recovery_codes SET used_at = 'x' WHERE slot = 0")
        attempt(service, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(StepUpService, "_attempt", use_first)
    with pytest.raises(CodeRejectedError, match="wrong or already used"):
        h.service.verify_recovery_code("alice", code)

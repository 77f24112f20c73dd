"""Step-up events in a real signed audit log, and what happens when it cannot be written."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import AuditEvent
from gateway.audit.verify import verify_records
from gateway.errors import AuditWriteError
from gateway.stepup import CodeRejectedError, StepUpLockedError, StepUpService
from gateway.stepup.recovery import normalise_code
from tests.stepup import DIGEST_A, FakeClock, code_at, fast_settings, wrong_code


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def log(tmp_path: Path, signer: Signer) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "audit.jsonl", signer) as opened:
        yield opened


def test_step_up_events_are_audited_without_codes_or_seeds(
    tmp_path: Path, log: AuditLog, signer: Signer
) -> None:
    clock = FakeClock()
    service = StepUpService.open(fast_settings(tmp_path), clock=clock, audit=log.append)
    enrolment = service.enrol("alice")
    seed = enrolment.seed.get_secret_value()
    used = [code_at(seed, clock.now)]
    service.verify("alice", used[0], bound_to=DIGEST_A)
    recovery = enrolment.recovery_codes[0].get_secret_value()
    service.verify_recovery_code("alice", recovery)
    for _ in range(5):
        used.append(wrong_code(seed, clock.now))
        with pytest.raises((CodeRejectedError, StepUpLockedError)):
            service.verify("alice", used[-1])
    service.enrol("alice")
    service.close()

    lines = list(read_lines(log.path))
    records = [json.loads(line) for line in lines]
    assert [record["type"] for record in records] == [
        "stepup.enrolled",
        "stepup.verified",
        "stepup.recovery_code_used",
        "stepup.verified",
        *["stepup.failed"] * 5,
        "stepup.locked",
        "stepup.reset",
    ]
    assert {record["actor"] for record in records} == {"alice"}
    assert all(record["redacted"] == [] for record in records)
    assert records[1]["payload"] == {"method": "totp", "bound_to": DIGEST_A}
    assert records[-2]["payload"]["until"] == "2024-05-01T09:45:00.000000Z"
    assert records[-1]["payload"]["recovery_invalidated"] == 9
    assert verify_records(iter(lines), signer.public_key).records == len(lines)

    data = log.path.read_bytes()
    secrets = [seed, seed.lower(), base64.b32decode(seed).hex(), *used]
    for code in enrolment.recovery_codes:
        secrets += [code.get_secret_value(), normalise_code(code.get_secret_value())]
    for secret in secrets:
        assert secret.encode() not in data


def _failing(_: AuditEvent) -> None:
    raise AuditWriteError("audit.jsonl: append failed: disk full")


def test_an_enrolment_that_cannot_be_audited_does_not_happen(tmp_path: Path) -> None:
    service = StepUpService.open(fast_settings(tmp_path), clock=FakeClock(), audit=_failing)
    with pytest.raises(AuditWriteError):
        service.enrol("alice")
    assert not service.is_enrolled("alice")
    service.close()


def test_a_step_up_that_cannot_be_audited_does_not_count(tmp_path: Path) -> None:
    clock, settings = FakeClock(), fast_settings(tmp_path)
    events: list[AuditEvent] = []
    working = StepUpService.open(settings, clock=clock, audit=events.append)
    enrolment = working.enrol("alice")
    code = code_at(enrolment.seed.get_secret_value(), clock.now)
    broken = StepUpService.open(settings, clock=clock, audit=_failing)
    with pytest.raises(AuditWriteError):
        broken.verify("alice", code)
    assert broken.last_step_up("alice") is None
    working.verify("alice", code)  # the code was not used up
    assert working.last_step_up("alice") == clock.now
    with pytest.raises(AuditWriteError):
        broken.verify("alice", code)  # a refusal is committed, then audited
    assert events[-1].type == "stepup.verified"
    working.close()
    broken.close()


def test_without_an_audit_sink_nothing_is_recorded_but_everything_works(tmp_path: Path) -> None:
    clock = FakeClock()
    service = StepUpService.open(fast_settings(tmp_path), clock=clock)
    enrolment = service.enrol("alice")
    service.verify("alice", code_at(enrolment.seed.get_secret_value(), clock.now))
    assert service.last_step_up("alice") == clock.now
    service.close()

"""Reading a log for impact analysis: only a log of this gateway, read fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.audit.checkpoints import make_checkpoint
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import KEY_ROTATED, AuditEvent
from gateway.errors import VerificationError
from gateway.policy.impact_log import read_decision_log

ORIGIN = "it-support-gateway/audit"


def write_log(path: Path, signer: Signer, count: int = 3) -> AuditLog:
    log = AuditLog(path, signer)
    for n in range(count):
        log.append(AuditEvent(type="decision", actor=f"user{n}", payload={"decision": "allow"}))
    return log


def test_the_records_of_a_log_that_started_with_the_trusted_key_are_read(tmp_path: Path) -> None:
    signer = Signer.generate()
    log = write_log(tmp_path / "audit.log", signer)
    note = make_checkpoint(tmp_path / "audit.log", signer, ORIGIN)
    log.append(AuditEvent(type="decision", actor="after the checkpoint"))
    log.close()

    read = list(read_decision_log(tmp_path / "audit.log", signer.public_key, checkpoint=note,
                                  origin=ORIGIN))  # fmt: skip

    assert [record.actor for record in read] == ["user0", "user1", "user2", "after the checkpoint"]
    assert [record.seq for record in read] == [0, 1, 2, 3]


def test_a_checkpoint_signed_by_a_key_the_log_rotated_to_is_accepted(tmp_path: Path) -> None:
    first, second = Signer.generate(), Signer.generate()
    log = write_log(tmp_path / "audit.log", first, 1)
    log.rotate_key(second)
    log.append(AuditEvent(type=KEY_ROTATED, payload={"new_public_key": "not hex"}))
    log.append(AuditEvent(type="decision", actor="later"))
    log.close()
    note = make_checkpoint(tmp_path / "audit.log", second, ORIGIN)

    read = list(read_decision_log(tmp_path / "audit.log", first.public_key, checkpoint=note))

    assert [record.actor for record in read][-1] == "later"


def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    signer = Signer.generate()
    write_log(tmp_path / "audit.log", signer).close()
    note = make_checkpoint(tmp_path / "audit.log", Signer.generate(), ORIGIN)

    with pytest.raises(VerificationError, match="bad checkpoint"):
        list(read_decision_log(tmp_path / "audit.log", signer.public_key, checkpoint=note))


def test_a_log_shorter_than_its_checkpoint_is_refused(tmp_path: Path) -> None:
    signer = Signer.generate()
    write_log(tmp_path / "audit.log", signer).close()
    note = make_checkpoint(tmp_path / "audit.log", signer, ORIGIN)
    lines = (tmp_path / "audit.log").read_bytes().splitlines(keepends=True)
    (tmp_path / "audit.log").write_bytes(b"".join(lines[:2]))

    with pytest.raises(VerificationError, match="checkpoint mismatch"):
        list(read_decision_log(tmp_path / "audit.log", signer.public_key, checkpoint=note))


def test_a_missing_log_is_named(tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match=r"unreadable log: .*missing\.log"):
        list(read_decision_log(tmp_path / "missing.log", Signer.generate().public_key))


def test_a_long_origin_is_shortened_in_the_message(tmp_path: Path) -> None:
    signer = Signer.generate()
    write_log(tmp_path / "audit.log", signer).close()
    note = make_checkpoint(tmp_path / "audit.log", signer, "x" * 100)

    with pytest.raises(VerificationError, match=r"log from another origin: .*x\.\.\.'"):
        list(read_decision_log(tmp_path / "audit.log", signer.public_key, checkpoint=note,
                               origin=ORIGIN))  # fmt: skip

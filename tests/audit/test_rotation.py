"""Rotating the signing key (gateway.audit.rotation): the record comes first, the pinned
key stays, and the files say which key is which."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.audit.checkpoints import verify_log_file
from gateway.audit.keys import init_keys, key_id, load_public_key, load_signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.audit.rotation import first_key_id, rotate_signing_key
from gateway.errors import AuditWriteError, VerificationError


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    init_keys(tmp_path / "keys")
    return tmp_path / "keys"


def write(log: Path, keys: Path, *types: str) -> None:
    with AuditLog(log, load_signer(keys / "audit-signing.key")) as audit_log:
        for event_type in types:
            audit_log.append(AuditEvent(type=event_type))


def test_a_rotation_keeps_the_pinned_key_and_the_log_verifies_from_it(
    tmp_path: Path, keys: Path
) -> None:
    log = tmp_path / "audit.log"
    write(log, keys, "before")
    pinned = (keys / "audit-signing.pub").read_bytes()

    rotation = rotate_signing_key(log, keys)
    write(log, keys, "after")

    assert (keys / "audit-signing.pub").read_bytes() == pinned
    assert rotation.first_key_id == rotation.pin_key_id == rotation.old.key_id
    assert rotation.record.seq == 1
    assert key_id(load_public_key(rotation.new_public_key)) == rotation.new.key_id
    assert load_signer(keys / "audit-signing.key").key_id == rotation.new.key_id
    retired = keys / f"audit-signing.key.retired-{rotation.old.key_id}"
    assert load_signer(retired).key_id == rotation.old.key_id
    report = verify_log_file(log, load_public_key(keys / "audit-signing.pub")).report
    assert report.key_ids == (rotation.old.key_id, rotation.new.key_id)
    assert report.records == 3


def test_rotating_an_empty_log_makes_the_rotation_its_first_record(
    tmp_path: Path, keys: Path
) -> None:
    rotation = rotate_signing_key(tmp_path / "audit.log", keys)

    assert rotation.record.seq == 0
    assert rotation.first_key_id == rotation.old.key_id


def test_a_missing_pinned_key_file_is_reported_as_unknown(tmp_path: Path, keys: Path) -> None:
    (keys / "audit-signing.pub").unlink()

    rotation = rotate_signing_key(tmp_path / "audit.log", keys)

    assert rotation.pin_key_id is None


def test_nothing_moves_when_the_rotation_cannot_be_recorded(tmp_path: Path, keys: Path) -> None:
    log = tmp_path / "audit.log"
    write(log, keys, "before")
    other = tmp_path / "other"
    init_keys(other)
    (keys / "audit-signing.key").write_bytes((other / "audit-signing.key").read_bytes())
    before = sorted(path.name for path in keys.iterdir())

    with pytest.raises(AuditWriteError, match="this writer holds"):
        rotate_signing_key(log, keys)

    assert sorted(path.name for path in keys.iterdir()) == before


def test_an_empty_log_has_no_first_key(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")

    with pytest.raises(VerificationError, match="the log has no records"):
        first_key_id(log)


def test_nothing_moves_when_the_log_cannot_be_opened(tmp_path: Path, keys: Path) -> None:
    before = sorted(path.name for path in keys.iterdir())

    def unreachable(signer: object) -> AuditLog:
        raise AuditWriteError("postgresql schema gateway_audit: audit append failed")

    with pytest.raises(AuditWriteError, match="gateway_audit"):
        rotate_signing_key(tmp_path / "audit.log", keys, open_log=unreachable)

    assert sorted(path.name for path in keys.iterdir()) == before

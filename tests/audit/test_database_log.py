"""The audit log as a database table: the same records as the file, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.audit import database
from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.audit.verify import verify_records
from gateway.errors import AuditWriteError, VerificationError
from gateway.storage import Backend
from tests.audit.conftest import AFTER_ROTATION_EVENTS, SAMPLE_EVENTS, lines_of, stepping_clock


@pytest.fixture
def database_log(
    storage_backend: Backend, tmp_path: Path, signer: Signer
) -> Iterator[DatabaseAuditLog]:
    log = DatabaseAuditLog(
        storage_backend, signer, path=tmp_path / "audit.db", clock=stepping_clock()
    )
    yield log
    log.close()


def test_the_table_holds_the_very_bytes_the_file_log_writes(
    database_log: DatabaseAuditLog, tmp_path: Path, signer: Signer
) -> None:
    second = Signer.generate()
    with AuditLog(tmp_path / "audit.log", signer, clock=stepping_clock()) as file_log:
        for log in (file_log, database_log):
            for event in SAMPLE_EVENTS:
                log.append(event)
            log.rotate_key(second)
            log.append_batch(AFTER_ROTATION_EVENTS)
    stored = list(database_log.lines())
    assert stored == lines_of(tmp_path / "audit.log")
    report = verify_records(stored, signer.public_key)
    assert (report.records, report.key_ids) == (6, (signer.key_id, second.key_id))
    assert database_log.signer is second
    assert database_log.where.endswith("audit.db") or "audit" in database_log.where


def test_two_writers_on_one_table_continue_one_chain_and_an_old_key_is_refused(
    storage_backend: Backend, database_log: DatabaseAuditLog, tmp_path: Path, signer: Signer
) -> None:
    with DatabaseAuditLog(storage_backend, signer, path=tmp_path / "audit.db") as other:
        database_log.append(SAMPLE_EVENTS[0])
        other.append(SAMPLE_EVENTS[1])
        database_log.rotate_key(Signer.generate())
        with pytest.raises(AuditWriteError, match="was the key rotated"):
            other.append(SAMPLE_EVENTS[2])
        assert other.last_failure is not None
        assert "was the key rotated" in other.last_failure
    stored = list(database_log.lines())
    assert [int(line.split(b'"seq":')[1].split(b",")[0]) for line in stored] == [0, 1, 2]
    verify_records(stored, signer.public_key)


def test_an_event_that_cannot_be_sealed_is_refused_alone(database_log: DatabaseAuditLog) -> None:
    bad = AuditEvent(type="decision.made", payload={"ratio": 0.5})  # floats are not canonical
    with pytest.raises(AuditWriteError, match="append failed"):
        database_log.append_batch([SAMPLE_EVENTS[0], bad, SAMPLE_EVENTS[1]])
    assert len(list(database_log.lines())) == 2
    assert database_log.append_batch([]) == []
    with pytest.raises(AuditWriteError, match="append failed"):
        database_log.append(bad)  # a batch of nothing sealable writes nothing
    assert len(list(database_log.lines())) == 2


def test_reading_pages_through_the_table_and_a_missing_row_is_a_gap(
    database_log: DatabaseAuditLog, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "_PAGE", 2)
    written = database_log.append_batch([SAMPLE_EVENTS[0]] * 5)
    assert list(database_log.lines()) == [record.line for record in written]
    with database_log._writes.transaction() as db:
        db.execute("DELETE FROM audit_records WHERE seq = 2")
    with pytest.raises(VerificationError) as caught:
        verify_records(database_log.lines(), signer.public_key)
    assert (caught.value.kind, caught.value.sequence) == ("gap", 2)


def test_readiness_reads_the_last_record(database_log: DatabaseAuditLog) -> None:
    assert database_log.readiness_problem() is None
    database_log.append(SAMPLE_EVENTS[0])
    assert database_log.readiness_problem() is None
    with database_log._writes.transaction() as db:
        db.execute("UPDATE audit_records SET line = ? WHERE seq = 0", (b"{garbled",))
    problem = database_log.readiness_problem()
    assert problem is not None
    assert "last record is unreadable" in problem


class _Sealer:
    """Seals the ``person`` payload member; counts closes."""

    def __init__(self) -> None:
        self.closed = 0

    def __call__(self, event: AuditEvent, payload: dict[str, Any], time: str) -> dict[str, Any]:
        return {**payload, "person": "sealed:" + str(payload.get("person"))}

    def close(self) -> None:
        self.closed += 1


def test_personal_fields_are_sealed_before_signing_and_the_sealer_closes_with_the_log(
    storage_backend: Backend, tmp_path: Path, signer: Signer
) -> None:
    sealer = _Sealer()
    log = DatabaseAuditLog(storage_backend, signer, path=tmp_path / "audit.db", sealer=sealer)
    with log:
        record = log.append(AuditEvent(type="privacy.export", payload={"person": "tom"}))
    assert record.payload == {"person": "sealed:tom"}
    assert sealer.closed == 1
    with pytest.raises(AuditWriteError, match="closed"):
        log.append(SAMPLE_EVENTS[0])

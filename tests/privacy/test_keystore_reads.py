"""Data key look-ups from the key store's side, on both storage backends: a remembered
key costs one read of the store's erasure generation (one per batch of records an audit
log seals together), and a key erased by any process is never handed out again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import Signer
from gateway.audit.records import AuditRecord, parse_record
from gateway.privacy.envelope import read_envelope
from gateway.privacy.keystore import DataKeyStore, KeyState
from gateway.privacy.sealer import PersonalDataSealer
from gateway.storage import Backend
from tests.privacy.sealed import TOM_FACTS, decision_of

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path, storage_backend: Backend) -> Iterator[DataKeyStore]:
    with DataKeyStore(tmp_path / "keys.sqlite", storage_backend) as store:
        yield store


def test_a_remembered_key_costs_one_read_and_an_erased_one_is_never_handed_out(
    keys: DataKeyStore,
    tmp_path: Path,
    storage_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kid, key = keys.key_for("tom", "decision", "2026-12", NOW)
    database = keys._db
    reads: list[str] = []
    read_latest = database.read_latest

    def counted(sql: str) -> object:
        reads.append(sql)
        return read_latest(sql)

    def no_transaction(**_: object) -> object:
        raise AssertionError("a transaction for a remembered key")

    monkeypatch.setattr(database, "read_latest", counted)
    monkeypatch.setattr(database, "transaction", no_transaction)
    assert keys.key_for("tom", "decision", "2026-12", NOW) == (kid, key)
    assert len(reads) == 1
    monkeypatch.undo()

    with DataKeyStore(tmp_path / "keys.sqlite", storage_backend) as elsewhere:
        assert elsewhere.erase_person("tom", NOW) == 1  # another process erases tom
    again, other_key = keys.key_for("tom", "decision", "2026-12", NOW)
    assert (again, other_key) != (kid, key)
    assert keys.status(kid).state is KeyState.ERASED
    assert keys.key_for("tom", "decision", "2026-12", NOW) == (again, other_key)


def test_a_batch_of_records_reads_the_generation_once_and_sees_an_erasure_made_before_it(
    keys: DataKeyStore,
    tmp_path: Path,
    storage_backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = DatabaseAuditLog(
        storage_backend,
        Signer.generate(),
        path=tmp_path / "audit.db",
        sealer=PersonalDataSealer(keys),
    )
    people = ["tom", "sam", "priya"]
    log.append_batch([decision_of(person, TOM_FACTS) for person in people])  # keys made
    before = {person: _kid_of(record) for person, record in zip(people, _records(log), strict=True)}
    reads: list[str] = []
    read_latest = keys._db.read_latest

    def counted(sql: str) -> object:
        reads.append(sql)
        return read_latest(sql)

    monkeypatch.setattr(keys._db, "read_latest", counted)
    log.append_batch([decision_of(person, TOM_FACTS) for person in people * 5])
    assert len(reads) == 1  # fifteen records, three remembered keys: one read
    assert [_kid_of(record) for record in _records(log)[3:]] == [
        before[person] for person in people * 5
    ]

    with DataKeyStore(tmp_path / "keys.sqlite", storage_backend) as elsewhere:
        assert elsewhere.erase_person("tom", NOW) == 1  # another process erases tom
    log.append_batch([decision_of(person, TOM_FACTS) for person in people])
    after = [_kid_of(record) for record in _records(log)[-3:]]
    assert after[0] != before["tom"]  # the erased key is never used again
    assert after[1:] == [before["sam"], before["priya"]]
    assert keys.status(before["tom"]).state is KeyState.ERASED
    log.close()


def _records(log: DatabaseAuditLog) -> list[AuditRecord]:
    return [parse_record(line, seq) for seq, line in enumerate(log.lines())]


def _kid_of(record: AuditRecord) -> str:
    envelope = read_envelope(record.payload["facts"])
    assert envelope is not None
    return envelope.kid

"""The turn to merge: with the central log in the database, it is taken in the database
(every host), and a merge without the backend to take it on is refused before anything is
read or written."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import Signer
from gateway.audit.records import AuditEvent, seal_record
from gateway.offline.merge_lock import merging
from gateway.offline.sync import merge_segment
from gateway.storage import Backend, SqliteBackend

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _stray_segment() -> bytes:
    """A segment of no enrolled kit."""
    event = AuditEvent(type="troubleshooting.answered", actor="elena")
    record = seal_record(event, seq=0, prev="ab" * 32, time=NOW, signer=Signer.generate())
    return record.line + b"\n"


def test_a_merge_into_the_database_log_without_its_backend_is_a_caller_mistake(
    tmp_path: Path,
) -> None:
    log = DatabaseAuditLog(SqliteBackend(), Signer.generate(), path=tmp_path / "audit.db")
    try:
        with pytest.raises(RuntimeError, match="needs its storage backend"):
            merge_segment(_stray_segment(), "stray.log", audit=log, quarantine=tmp_path / "q",
                          now=NOW, actor="svc-gateway")  # fmt: skip
        assert list(log.lines()) == []
    finally:
        log.close()


def test_a_merge_into_the_database_log_waits_for_the_turn_another_merge_holds(
    tmp_path: Path, storage_backend: Backend
) -> None:
    log = DatabaseAuditLog(storage_backend, Signer.generate(), path=tmp_path / "audit.db")
    quarantine = tmp_path / "quarantine"
    outcomes = []

    def sync() -> None:
        outcomes.append(merge_segment(_stray_segment(), "stray.log", audit=log,
                                      quarantine=quarantine, now=NOW, actor="svc-gateway",
                                      storage=storage_backend))  # fmt: skip

    try:
        with merging(log, storage_backend, quarantine):  # another host's merge under way
            waiting = threading.Thread(target=sync)
            waiting.start()
            waiting.join(0.5)
            assert waiting.is_alive()  # it waits for the turn
            assert list(log.lines()) == []
        waiting.join(10)
        [outcome] = outcomes
        assert (outcome.status, outcome.record) == ("refused", 0)
        assert b'"type":"offline.segment_refused"' in next(iter(log.lines()))
    finally:
        log.close()

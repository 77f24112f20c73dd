"""The turn to merge: with the central log in the database, it is taken in the database
(every host), and a merge without the backend to take it on is refused before anything is
read or written.  A revocation takes the same turn, so it never lands between a merge's
read of the central log and its append."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent, seal_record
from gateway.audit.store import AuditStore
from gateway.audit.verify import verify_records
from gateway.offline.merge_lock import SCHEMA as MERGE_SCHEMA
from gateway.offline.merge_lock import merging
from gateway.offline.prepare import revoke_kit
from gateway.offline.segment import SegmentLog
from gateway.offline.sync import SyncOutcome, merge_segment
from gateway.policy.decision import Decision
from gateway.policy.request import AccessRequest
from gateway.storage import Backend, Schema, SqliteBackend
from tests.offline.enrolment import enrol_kit

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


# -- a revocation takes the same turn as a merge ------------------------------------------------

KIT = "kit-00000000000000a1"
DIGEST = "sha256:" + "a" * 64


class _Allow:
    def authorize(self, request: AccessRequest) -> Decision:
        return Decision.model_validate(
            {"decision": "allow", "request": request.model_dump(), "decision_id": "d-1",
             "policy_digest": DIGEST, "reasons": [], "decided_at": "2026-03-02T09:00:00Z"}
        )  # fmt: skip


class _Pausing:
    """A central log whose merge, once it has read the log, waits for ``go`` before it
    appends: the moment a revocation that did not take the turn would land in."""

    merger: threading.Thread | None
    read: threading.Event
    go: threading.Event

    def arm(self) -> None:
        self.merger, self.read, self.go = None, threading.Event(), threading.Event()

    def lines(self) -> Iterator[bytes]:
        lines = list(super().lines())  # type: ignore[misc]
        if threading.current_thread() is self.merger:
            self.read.set()
            assert self.go.wait(10)
        return iter(lines)


@dataclass
class _PausingFile(_Pausing, AuditLog):
    pass


class _PausingDatabase(_Pausing, DatabaseAuditLog):
    pass


class _TurnWatch:
    """``backend``, saying when a thread opens the merge turn's store on it."""

    def __init__(self, backend: Backend, asked: Callable[[], None]) -> None:
        self._backend, self._asked = backend, asked

    def open(self, schema: Schema, *args: Any, **kwargs: Any) -> Any:
        if schema is MERGE_SCHEMA:
            self._asked()
        return self._backend.open(schema, *args, **kwargs)


def _enrol(log: AuditStore, device: Signer) -> str:
    return enrol_kit(log, device, kit=KIT, digest=DIGEST, now=NOW)


def _segment(folder: Path, device: Signer, start: str) -> bytes:
    segment = SegmentLog(folder / "kit.segment.log", device, clock=lambda: NOW, start_prev=start)
    for _ in range(2):
        segment.append(AuditEvent(type="decision", actor="elena", policy_digest=DIGEST))
    segment.close()
    return (folder / "kit.segment.log").read_bytes()


def _revoke_during_a_merge(
    log: _Pausing, storage: Backend | None, revoke_storage: Backend | None, quarantine: Path
) -> tuple[SyncOutcome, int]:
    """Merge a segment of the kit and, once the merge has read the central log, revoke
    the kit from another thread; the merge goes on when the revocation asks for the turn
    (or, without a turn, is done)."""
    store = cast(AuditStore, log)
    log.arm()
    device = Signer.generate()
    data = _segment(quarantine.parent, device, _enrol(store, device))
    merged: list[SyncOutcome] = []
    revoked: list[int] = []

    def merge() -> None:
        merged.append(merge_segment(data, "kit.segment.log", audit=store, quarantine=quarantine,
                                    now=NOW, actor="svc-gateway", storage=storage))  # fmt: skip

    def revoke() -> None:
        try:
            revoked.append(revoke_kit(_Allow(), store, KIT, actor="omar", reason="lost",
                                      quarantine=quarantine, storage=revoke_storage))  # fmt: skip
        finally:
            log.go.set()

    log.merger = threading.Thread(target=merge)
    log.merger.start()
    assert log.read.wait(10)
    revoker = threading.Thread(target=revoke)
    revoker.start()
    revoker.join(10)
    log.merger.join(10)
    return merged[0], revoked[0]


def _assert_merged_then_revoked(log: AuditStore, outcome: SyncOutcome, revocation: int) -> None:
    assert outcome.status == "merged"
    assert outcome.record is not None
    assert outcome.record < revocation
    verify_records(log.lines(), log.signer.public_key)  # as `gateway audit verify` would


def test_a_revocation_during_a_merge_into_the_log_file_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _PausingFile(tmp_path / "audit.log", Signer.generate(), clock=lambda: NOW)
    real_flock = fcntl.flock

    def flock(target: Any, operation: int) -> None:
        turn = str(getattr(target, "name", "")).endswith(".merge.lock")
        if turn and operation == fcntl.LOCK_EX and threading.current_thread() is not log.merger:
            log.go.set()  # the revocation asks for the turn
        real_flock(target, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    try:
        outcome, revocation = _revoke_during_a_merge(log, None, None, tmp_path / "quarantine")
        _assert_merged_then_revoked(log, outcome, revocation)
    finally:
        log.close()


def test_a_revocation_during_a_merge_into_the_database_log_waits_for_it(
    tmp_path: Path, storage_backend: Backend
) -> None:
    log = _PausingDatabase(storage_backend, Signer.generate(), path=tmp_path / "audit.db")
    watched = cast(Backend, _TurnWatch(storage_backend, lambda: log.go.set()))
    try:
        outcome, revocation = _revoke_during_a_merge(
            log, storage_backend, watched, tmp_path / "quarantine"
        )
        _assert_merged_then_revoked(log, outcome, revocation)
    finally:
        log.close()

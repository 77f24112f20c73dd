"""A sync reads only the central records appended since the last one (the summary kept
next to the quarantine folder), finds the same kits, gaps, revocations and conflicts as a
read of the whole log, and starts again from the first record when the log is no longer
the one it summarised (rotated, restored, replaced)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent, seal_record
from gateway.audit.segments import ACTION_QUEUED
from gateway.audit.store import AuditStore
from gateway.errors import AuditError
from gateway.offline import central as summary_module
from gateway.offline.central import CentralSummary, Position, records_after
from gateway.offline.segment import SegmentLog
from gateway.offline.sync import SyncOutcome, merge_segment
from gateway.storage import Backend
from tests.offline.enrolment import enrol_kit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KIT = "kit-00000000000000b2"
DIGEST = "sha256:" + "b" * 64


@pytest.fixture
def refreshes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """(records read, whether it started again from the first record) of each refresh."""
    seen: list[tuple[int, bool]] = []
    refresh = CentralSummary.refresh

    def counted(self: CentralSummary) -> int:
        read = refresh(self)
        seen.append((read, self.rebuilt))
        return read

    monkeypatch.setattr(CentralSummary, "refresh", counted)
    return seen


def _enrol(log: AuditStore, device: Signer) -> str:
    return enrol_kit(log, device, kit=KIT, digest=DIGEST, now=NOW)


class _Site:
    """A kit's segment file on the laptop, growing visit after visit."""

    def __init__(self, folder: Path, log: AuditStore) -> None:
        self.device = Signer.generate()
        self.path = folder / "kit.segment.log"
        self.start = _enrol(log, self.device)

    def work(self, *queued: str, decisions: int = 1) -> bytes:
        """Append ``decisions`` decisions and a queued reset of each of ``queued``."""
        segment = SegmentLog(self.path, self.device, clock=lambda: NOW, start_prev=self.start)
        for _ in range(decisions):
            segment.append(AuditEvent(type="decision", actor="elena", policy_digest=DIGEST))
        for resource in queued:
            segment.append(AuditEvent(type=ACTION_QUEUED, actor="elena",
                                      action="account.reset_password", resource=resource,
                                      policy_digest=DIGEST))  # fmt: skip
        segment.close()
        return self.path.read_bytes()


def _change(log: AuditStore, resource: str, count: int = 1) -> None:
    for index in range(count):
        event = AuditEvent(type="action.succeeded", actor="elena", resource=resource,
                           action="password.reset", payload={"execution": f"e{index}"})  # fmt: skip
        log.append(event)


def _sync(data: bytes, log: AuditStore, quarantine: Path, storage: Backend | None) -> SyncOutcome:
    return merge_segment(data, "kit.segment.log", audit=log, quarantine=quarantine, now=NOW,
                         actor="svc-gateway", storage=storage)  # fmt: skip


def _conflicts(outcome: SyncOutcome) -> dict[str, list[int]]:
    found: dict[str, list[Any]] = {}
    for conflict in outcome.conflicts:
        found[conflict["resource"]] = [c["seq"] for c in conflict["central_records"]]
    return found


def _count(log: AuditStore) -> int:
    return sum(1 for _ in log.lines())


@pytest.fixture
def file_log(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.log", Signer.generate(), clock=lambda: NOW)
    yield log
    log.close()


def test_a_second_sync_reads_only_the_records_appended_since_the_first(
    tmp_path: Path, file_log: AuditLog, refreshes: list[tuple[int, bool]]
) -> None:
    site = _Site(tmp_path, file_log)
    _change(file_log, "account:tom", 50)  # before the kit's first sync
    first = _sync(site.work(decisions=3), file_log, tmp_path / "q", None)
    before = _count(file_log)
    _change(file_log, "account:ann", 2)  # between the syncs
    second = _sync(site.work("account:tom", "account:ann", "account:bob"), file_log,
                   tmp_path / "q", None)  # fmt: skip

    assert (first.status, second.status) == ("merged", "merged")
    assert before == 53  # the enrolment, 50 changes, the first merge's 2 records
    # the first sync read the whole log, the second the first merge and the 2 changes since
    assert refreshes == [(51, True), (4, False)]
    assert _conflicts(second) == {"account:tom": list(range(1, 51)), "account:ann": [53, 54]}
    assert (second.segment, second.records) == (2, 4)
    again = _sync(site.path.read_bytes(), file_log, tmp_path / "q", None)
    assert (again.status, again.record) == ("already merged", second.record)
    assert refreshes[2][1] is False


def test_a_log_restored_from_a_backup_is_read_again_from_its_first_record(
    tmp_path: Path, file_log: AuditLog, refreshes: list[tuple[int, bool]]
) -> None:
    site = _Site(tmp_path, file_log)
    data = site.work(decisions=2)
    backup = tmp_path / "backup.log"
    shutil.copyfile(file_log.path, backup)
    assert _sync(data, file_log, tmp_path / "q", None).status == "merged"
    assert _sync(data, file_log, tmp_path / "q", None).status == "already merged"
    file_log.close()
    shutil.copyfile(backup, file_log.path)  # restored: the merge is not in it any more
    restored = AuditLog(file_log.path, file_log.signer, clock=lambda: NOW)
    try:
        outcome = _sync(data, restored, tmp_path / "q", None)
    finally:
        restored.close()

    assert outcome.status == "merged"  # not "already merged", as the stale summary says
    assert [rebuilt for _, rebuilt in refreshes] == [True, False, True]


def test_another_log_at_the_same_place_is_read_from_its_first_record(
    tmp_path: Path, file_log: AuditLog, refreshes: list[tuple[int, bool]]
) -> None:
    site = _Site(tmp_path, file_log)
    data = site.work(decisions=2)
    assert _sync(data, file_log, tmp_path / "q", None).status == "merged"
    other_path = tmp_path / "other.log"
    other = AuditLog(other_path, Signer.generate(), clock=lambda: NOW)
    other_signer = other.signer
    _change(other, "account:tom", 20)  # longer than the first log, no kit enrolled
    other.close()
    file_log.close()
    shutil.copyfile(other_path, file_log.path)
    replaced = AuditLog(file_log.path, other_signer, clock=lambda: NOW)
    try:
        outcome = _sync(data, replaced, tmp_path / "q", None)
    finally:
        replaced.close()

    unknown = f"record 0's prev {site.start[:16]}... is no enrolled kit"
    assert (outcome.status, outcome.reason) == (
        "refused",
        f"segment record 0: unknown kit: {unknown}",
    )
    assert refreshes[-1] == (20, True)


def test_a_log_moved_elsewhere_or_of_another_kind_is_not_read_from_a_position(
    tmp_path: Path, file_log: AuditLog
) -> None:
    _change(file_log, "account:tom", 3)
    with CentralSummary(file_log, tmp_path / "q") as summary:
        assert summary.refresh() == 3
        position = summary.position()
    assert position is not None
    assert records_after(file_log, Position("elsewhere", 2, position.hash)) is None

    class Lines:
        where = str(file_log.path)

        def lines(self) -> Iterator[bytes]:
            return file_log.lines()

    assert records_after(Lines(), position) is None  # a reader without positions
    torn = Position(position.place, 2, position.hash, position.start, position.end - 1)
    assert records_after(file_log, torn) is None  # the line no longer ends there
    with file_log.path.open("ab") as handle:
        handle.write(b'{"action":')  # a writer died mid-append: not a record
    with CentralSummary(file_log, tmp_path / "q") as summary:
        assert summary.refresh() == 0
        assert summary.position() == position


def test_the_summary_finds_the_central_changes_a_read_of_the_whole_log_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_module, "_CHUNK", 2)  # kept a few rows at a time
    signer, prev, central = Signer.generate(), "0" * 64, []
    events = [
        AuditEvent(type="offline.kit_prepared", payload={"kit_id": "kit-a"}),
        AuditEvent(type="action.succeeded", resource="account:tom", payload={"execution": "e1"}),
        AuditEvent(type="action.succeeded", resource="account:tom", payload={"execution": "e2"}),
        AuditEvent(type="decision", resource="account:tom", actor="elena", action="x"),
        AuditEvent(type="action.succeeded", resource="account:tom", payload={"execution": "e3"}),
        AuditEvent(type="ticket.updated", resource="account:tom",  # named twice
                   payload={"execution": "e6", "resource": "account:tom", "seq": 2}),
        AuditEvent(type="action.succeeded", resource="account:tom2", payload={"execution": "e4"}),
        AuditEvent(type="action.succeeded", resource='account:zoë "z"',
                   payload={"execution": "e5", "resource": "account:tom"}),
        AuditEvent(type="ticket.updated", payload={"resource": "account:tom", "seq": 1}),
        AuditEvent(type="offline.replayed", resource="account:tom",
                   payload={"kit_id": "kit-a", "execution": {"id": "e1", "state": "ok"}}),
        AuditEvent(type="offline.replayed", resource="account:tom",  # another kit's replay
                   payload={"kit_id": "kit-b", "execution": {"id": "e2", "state": "ok"}}),
        AuditEvent(type="offline.replayed", resource="account:tom",  # no workflow ran
                   payload={"kit_id": "kit-a", "decision": "deny"}),
    ]  # fmt: skip
    for seq, event in enumerate(events):
        record = seal_record(event, seq=seq, prev=prev, time=NOW, signer=signer)
        central.append(record.line)
        prev = record.hash

    class Lines:  # a reader without positions: read whole each time
        where = "lines"

        def lines(self) -> Iterator[bytes]:
            return iter(central)

    with CentralSummary(Lines(), tmp_path / "q") as summary:
        assert summary.refresh() == len(events)
        own = summary.own_executions(0, "kit-a")
        assert own == {"e1"}
        changes = summary.changes_to("account:tom", 0, own)
        assert [c.payload["execution"] for c in changes] == ["e2", "e3", "e6"]
        zoe = summary.changes_to('account:zoë "z"', 0, frozenset())
        assert [c.payload["execution"] for c in zoe] == ["e5"]
        assert summary.changes_to("account:tom", 5, own) == []
        assert summary.refresh() == len(events)
        assert summary.rebuilt
        assert list(summary.registry().kits) == ["kit-a"]


def test_a_refresh_that_fails_leaves_the_summary_as_it_was(
    tmp_path: Path, file_log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    _change(file_log, "account:tom", 3)
    with CentralSummary(file_log, tmp_path / "q") as summary:
        summary.refresh()
        before = summary.position()
        _change(file_log, "account:tom", 2)

        def broken(*_: object) -> Iterator[Any]:
            yield 3, b"{}", 0, 0
            raise OSError("disk gone")

        monkeypatch.setattr(summary_module, "records_after", broken)
        with pytest.raises(OSError, match="disk gone"):
            summary.refresh()
        assert summary.position() == before
        monkeypatch.undo()
        assert summary.refresh() == 2


def test_hosts_sharing_the_database_log_see_each_others_records(
    tmp_path: Path, storage_backend: Backend, refreshes: list[tuple[int, bool]]
) -> None:
    """Each host keeps its own summary; one brought up to date reads every record the
    other hosts appended since, and rebuilds when the table no longer holds its record."""
    signer = Signer.generate()
    host_a = DatabaseAuditLog(storage_backend, signer, path=tmp_path / "audit.db")
    host_b = DatabaseAuditLog(storage_backend, signer, path=tmp_path / "audit.db")
    try:
        site = _Site(tmp_path, host_a)
        a, b = tmp_path / "a" / "q", tmp_path / "b" / "q"
        assert _sync(site.work(decisions=2), host_a, a, storage_backend).status == "merged"
        mark = _count(host_a)
        _change(host_b, "account:tom", 3)
        assert _sync(site.work(decisions=2), host_b, b, storage_backend).status == "merged"
        outcome = _sync(site.work("account:tom"), host_a, a, storage_backend)

        assert (outcome.status, outcome.segment) == ("merged", 3)  # no gap: b's merge seen
        assert _conflicts(outcome) == {"account:tom": [mark, mark + 1, mark + 2]}
        # host a reads a's merge (2 records), the 3 changes and b's merge (2) only
        assert refreshes[2] == (7, False)

        revoked = host_b.append(AuditEvent(type="offline.kit_revoked", payload={"kit_id": KIT}))
        refused = _sync(site.work(decisions=1), host_a, a, storage_backend)
        assert (refused.status, refused.reason) == (
            "refused", f"segment: revoked kit: kit {KIT} was revoked by record {revoked.seq}"
        )  # fmt: skip
        assert refreshes[-1] == (4, False)  # a's merge (2), the conflict, the revocation

        with CentralSummary(host_a, a) as summary:
            position = summary.position()
            assert position is not None
            stale = Position(position.place, position.seq, "0" * 64)
            assert records_after(host_a, stale) is None  # another record at that seq
            beyond = Position(position.place, position.seq + 10, position.hash)
            assert records_after(host_a, beyond) is None  # the table ends before it
    finally:
        host_a.close()
        host_b.close()


def test_a_log_rewritten_while_a_merge_reads_it_is_an_error(
    tmp_path: Path, file_log: AuditLog
) -> None:
    _change(file_log, "account:tom", 3)  # lines of the same length
    with CentralSummary(file_log, tmp_path / "q") as summary:
        summary.refresh()
        lines = file_log.path.read_bytes().splitlines(keepends=True)
        file_log.path.write_bytes(lines[1] + lines[0] + lines[2])  # behind the merge's back
        with pytest.raises(AuditError, match="the log changed while a merge read it"):
            summary.changes_to("account:tom", -1, frozenset())


def test_a_long_read_since_the_last_sync_finds_what_a_rebuild_finds(
    tmp_path: Path, file_log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_module, "_CHUNK", 2)  # kept a few rows at a time
    _change(file_log, "account:tom", 3)
    with CentralSummary(file_log, tmp_path / "a") as summary:
        assert summary.refresh() == 3
        _change(file_log, "account:tom", 5)
        _change(file_log, "account:ann", 2)
        assert summary.refresh() == 7
        assert not summary.rebuilt
        read = [(r.seq, r.resource) for r in summary.changes_to("account:tom", 0, frozenset())]
        position = summary.position()
    with CentralSummary(file_log, tmp_path / "b") as rebuilt:
        assert rebuilt.refresh() == 10
        assert rebuilt.rebuilt
        assert rebuilt.position() == position
        assert [
            (r.seq, r.resource) for r in rebuilt.changes_to("account:tom", 0, frozenset())
        ] == read
    assert read == [(seq, "account:tom") for seq in (1, 2, 3, 4, 5, 6, 7)]

"""Durability across restarts and concurrent votes (on both backends), and the SQLite
store's failures."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from gateway.approvals import (
    ApprovalError,
    ApprovalService,
    ApprovalState,
    ApprovalStore,
    ApprovalStoreError,
    RequestFinishedError,
)
from gateway.approvals.store import format_time
from gateway.identity.static import StaticDirectory
from gateway.storage import Backend
from tests.approvals import DIRECTORY, Harness, obligation


@pytest.fixture
def h(tmp_path: Path, storage_backend: Backend) -> Iterator[Harness]:
    harness = Harness(tmp_path, storage_backend)
    yield harness
    harness.close()


def test_state_survives_a_restart(h: Harness, tmp_path: Path) -> None:
    item = h.open(obligation("group:security-team", quorum=2), obligation(name="manager"))
    h.service.approve(item.id, "sue", digest=item.digest)
    h.store.close()
    h.store = ApprovalStore(tmp_path / "var" / "approvals.db", backend=h.backend)
    again = ApprovalService.at(
        tmp_path / "var" / "approvals.db",
        StaticDirectory(DIRECTORY),
        backend=h.backend,
        authorise=lambda approver, item: None,
        clock=h.clock,
    )
    try:
        reloaded = again.get(item.id)
        assert reloaded.request == item.request
        assert reloaded.obligations == item.obligations
        assert (reloaded.digest, reloaded.manager, reloaded.target) == (
            item.digest,
            "carol",
            "alice",
        )
        assert [(v.obligation, v.approver, v.at) for v in reloaded.votes] == [
            (0, "sue", h.clock.now)
        ]
        again.approve(item.id, "carol", digest=item.digest)
        done = again.approve(item.id, "sam", digest=item.digest)
        assert done.state is ApprovalState.APPROVED
        assert again.is_satisfied(item.id, item.digest)
    finally:
        again.store.close()


def _race(
    services: list[ApprovalService], item_id: str, digest: str, voters: list[str]
) -> list[object]:
    barrier = threading.Barrier(len(voters))
    results: list[object] = []

    def vote(service: ApprovalService, voter: str) -> None:
        barrier.wait()
        try:
            results.append(service.approve(item_id, voter, digest=digest).state)
        except ApprovalError as exc:
            results.append(exc)

    threads = [
        threading.Thread(target=vote, args=(services[n % len(services)], voter))
        for n, voter in enumerate(voters)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("round_", range(5))
def test_two_votes_for_the_last_slot_give_one_approved_transition(h: Harness, round_: int) -> None:
    item = h.open(obligation("group:security-team", quorum=2))
    results = _race([h.service], item.id, item.digest, ["sue", "sam"])
    assert sorted(map(str, results)) == ["approved", "pending"]
    assert len(h.service.get(item.id).votes) == 2
    assert h.types().count("approval.approved") == 1
    assert h.types().count("approval.voted") == 1


def test_a_vote_after_the_last_slot_is_refused_once(h: Harness) -> None:
    item = h.open(obligation("group:security-team"))
    results = _race([h.service], item.id, item.digest, ["sue", "sam", "sara"])
    assert [str(r) for r in results].count("approved") == 1
    assert sum(isinstance(r, RequestFinishedError) for r in results) == 2
    assert len(h.service.get(item.id).votes) == 1
    assert h.types().count("approval.approved") == 1
    assert h.types().count("approval.refused") == 2


def test_services_on_separate_connections_also_give_one_transition(
    h: Harness, tmp_path: Path
) -> None:
    other = h.build()
    other.store = ApprovalStore(tmp_path / "var" / "approvals.db", backend=h.backend)
    try:
        for _ in range(5):
            item = h.open(obligation("group:security-team", quorum=2))
            results = _race([h.service, other], item.id, item.digest, ["sue", "sam"])
            assert sorted(map(str, results)) == ["approved", "pending"]
    finally:
        other.store.close()
    assert h.types().count("approval.approved") == 5


def test_an_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ApprovalStoreError, match="cannot open approval store"):
        ApprovalStore(tmp_path / "file" / "approvals.db")
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    with pytest.raises(ApprovalStoreError, match="cannot open approval store"):
        ApprovalStore(tmp_path / "junk.db")


def test_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "approvals.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(ApprovalStoreError, match="schema version 99 is not supported"):
        ApprovalStore(path)


def test_database_failures_are_store_errors(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path / "approvals.db")
    with (
        pytest.raises(ApprovalStoreError, match="approval store failed"),
        store.transaction() as tx,
    ):
        tx._db.execute("SELECT * FROM missing")

    def commit_then_fail() -> None:
        with store.transaction() as tx:
            tx._db.execute("COMMIT")  # nothing left to roll back
            raise RuntimeError("after commit")

    with pytest.raises(RuntimeError, match="after commit"):
        commit_then_fail()
    store.close()
    with pytest.raises(ApprovalStoreError, match="approval store failed"), store.transaction():
        pass


def test_times_must_be_aware() -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        format_time(datetime(2026, 1, 1))


def test_the_parsed_body_cache_stays_bounded(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gateway.approvals.store._CACHED", 1)
    first, second = h.open(), h.open()
    assert h.service.get(first.id) == first
    assert h.service.get(second.id) == second
    assert h.store._bodies.keys() == {second.id}

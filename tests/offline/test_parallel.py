"""A long segment has its lines checked on every core: the same verdict, the same first
bad record, as when every line is checked in one process."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.canonical import canonical_bytes
from gateway.audit.keys import load_public_key
from gateway.audit.records import AuditEvent
from gateway.offline import parallel
from gateway.offline.kit import load_kit
from gateway.offline.segment import SegmentLog

from .conftest import audit_lines
from .test_sync import _now, lines, refused, sync, verify

Prepare = Callable[..., dict[str, object]]


@pytest.fixture
def kit(prepare: Prepare) -> Path:
    return Path(str(prepare()["kit"]))


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments of 4 lines and more go to the pool, 3 lines a chunk, on 2 cores."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_LINES", 4)
    monkeypatch.setattr(parallel, "CHUNK_LINES", 3)
    monkeypatch.setattr(parallel, "workers", lambda: 2)


def long_segment(central: Path, kit: Path, count: int = 11) -> Path:
    loaded = load_kit(kit, load_public_key(central / "keys/audit-signing.pub"), _now())
    path = central / "long.segment.log"
    log = SegmentLog(path, loaded.device_signer(), start_prev=loaded.body.checkpoint.head_hash)
    for number in range(count):
        log.append(AuditEvent(type="troubleshooting.answered", actor="elena",
                              resource=f"host:pc-{number}"))  # fmt: skip
    log.close()
    return path


@pytest.mark.usefixtures("small_chunks")
def test_a_long_segment_checked_by_worker_processes_is_merged(central: Path, kit: Path) -> None:
    segment = long_segment(central, kit)

    code, result, err = sync(segment)

    assert code == 0, err
    assert (result["status"], result["records"]) == ("merged", 11)
    batches: list[Any] = [
        r["payload"] for r in audit_lines(central) if r["type"] == "offline.record"
    ]
    assert [line.encode() for b in batches for line in b["lines"]] == lines(segment)
    assert verify(central)[0] == 0


def _forge(segment: Path, index: int) -> None:
    found = lines(segment)
    forged = json.loads(found[index])
    forged["actor"] = "mallory"
    found[index] = canonical_bytes(forged)
    segment.write_bytes(b"".join(line + b"\n" for line in found))


@pytest.mark.usefixtures("small_chunks")
def test_a_forged_line_in_a_later_chunk_is_named(central: Path, kit: Path) -> None:
    segment = long_segment(central, kit)
    _forge(segment, 8)

    result, _ = refused(central, segment)

    assert "segment record 8: bad signature" in str(result["reason"])


@pytest.mark.usefixtures("small_chunks")
def test_the_first_bad_record_is_named_whichever_chunk_finds_a_fault_first(
    central: Path, kit: Path
) -> None:
    segment = long_segment(central, kit)
    _forge(segment, 9)  # a bad signature late ...
    found = lines(segment)
    found[4] = b"not a record"  # ... and a malformed line earlier
    segment.write_bytes(b"".join(line + b"\n" for line in found))

    result, record = refused(central, segment)

    assert "segment record 4: malformed record: not JSON" in str(result["reason"])
    assert record["payload"]["first_bad_record"] == 4  # type: ignore[index]


class _BrokenPool:
    """A pool that cannot run anything: chunks submitted fail, or submitting fails."""

    def __init__(self, submit_fails: bool) -> None:
        self.submit_fails = submit_fails
        self.shut = False

    def submit(self, *_: object) -> Future[object]:
        if self.submit_fails:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future[object] = Future()
        future.set_exception(OSError("worker died"))
        return future

    def shutdown(self, **_: object) -> None:
        self.shut = True


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("submit_fails", [True, False], ids=["cannot submit", "workers fail"])
def test_a_broken_pool_leaves_every_line_checked_here(
    central: Path, kit: Path, monkeypatch: pytest.MonkeyPatch, submit_fails: bool
) -> None:
    pool = _BrokenPool(submit_fails)
    monkeypatch.setattr(parallel, "_shared_pool", lambda: pool)
    segment = long_segment(central, kit)
    _forge(segment, 7)

    result, _ = refused(central, segment)

    assert "segment record 7: bad signature" in str(result["reason"])
    assert pool.shut


def test_the_pool_is_started_once_and_dropped_when_it_breaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "_pool", None)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    started = parallel._shared_pool()
    try:
        assert parallel._shared_pool() is started
        parallel._drop_pool(started)
        assert parallel._pool is None
        parallel._drop_pool(started)  # dropping it again changes nothing
    finally:
        started.shutdown()


class _LazyFuture(Future[object]):
    def __init__(self, call: Callable[[], object]) -> None:
        super().__init__()
        self.call = call

    def result(self, timeout: float | None = None) -> object:
        if not self.done():
            self.set_result(self.call())
        return super().result(timeout)


class _IdlePool:
    """A pool whose workers have not started any chunk yet: this process takes them."""

    def __init__(self) -> None:
        self.futures: list[_LazyFuture] = []

    def submit(self, call: Callable[..., object], *args: object) -> Future[object]:
        self.futures.append(_LazyFuture(lambda: call(*args)))
        return self.futures[-1]


@pytest.mark.usefixtures("small_chunks")
def test_chunks_no_worker_started_are_checked_here_and_in_order(
    central: Path, kit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = _IdlePool()
    monkeypatch.setattr(parallel, "_shared_pool", lambda: pool)
    segment = long_segment(central, kit)
    _forge(segment, 10)

    result, _ = refused(central, segment)

    assert "segment record 10: bad signature" in str(result["reason"])
    assert [f.cancelled() for f in pool.futures] == [False, True, True, True]

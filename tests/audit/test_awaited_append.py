"""Awaitable appends (``GroupCommit.append_async``): a coroutine's record is committed in
the same group commit as threads' records, and the coroutine resumes only once it is."""

from __future__ import annotations

import asyncio
import threading
from functools import partial
from pathlib import Path

import pytest

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditRecord
from gateway.errors import AuditWriteError
from tests.audit.conftest import stepping_clock, verify_path
from tests.audit.test_log import GateClock, Queued, event, numbers, wait_until


def test_awaited_appends_return_their_records_once_written_and_lose_nothing(
    tmp_path: Path, signer: Signer
) -> None:
    log = AuditLog(tmp_path / "audit.log", signer, clock=stepping_clock())

    async def many() -> list[AuditRecord]:
        return list(await asyncio.gather(*(log.append_async(event(n)) for n in range(40))))

    records = asyncio.run(many())
    on_disk = set(numbers(log.path))
    log.close()
    assert on_disk == set(range(40))
    assert sorted(record.seq for record in records) == list(range(40))
    assert [record.payload["n"] for record in records] == list(range(40))
    assert verify_path(log.path, signer).records == 40


def test_coroutines_queued_behind_a_thread_are_written_by_a_writer_of_their_own(
    tmp_path: Path, signer: Signer
) -> None:
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    queued = Queued(log, clock)  # a thread holds the writer
    results: list[AuditRecord] = []

    async def waiting() -> None:
        tasks = [asyncio.ensure_future(log.append_async(event(n))) for n in (1, 2)]
        await asyncio.sleep(0)
        assert len(log._pending) == 2  # queued, not written: the holder has the log
        assert not any(task.done() for task in tasks)
        queued.clock.release.set()
        results.extend(await asyncio.gather(*tasks))

    asyncio.run(waiting())
    holder = queued.release()["holder"]
    wait_until(lambda: not log._writing)
    log.close()
    assert isinstance(holder, AuditRecord)
    assert holder.seq == 0
    assert [record.seq for record in results] == [1, 2]
    assert numbers(log.path) == [0, 1, 2]
    assert verify_path(log.path, signer).records == 3


def test_a_thread_queued_with_coroutines_leads_the_next_group_for_all_of_them(
    tmp_path: Path, signer: Signer
) -> None:
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    queued = Queued(log, clock)
    results: list[AuditRecord] = []

    async def waiting() -> None:
        task = asyncio.ensure_future(log.append_async(event(1)))
        await asyncio.sleep(0)
        await asyncio.to_thread(queued.queue, "thread", partial(log.append, event(2)))
        queued.clock.release.set()
        results.append(await task)

    asyncio.run(waiting())
    threaded = queued.release()
    log.close()
    assert [results[0].seq, threaded["thread"].seq] == [1, 2]  # type: ignore[union-attr]
    assert clock.readings == 2  # the thread wrote both in one group
    assert verify_path(log.path, signer).records == 3


def test_a_thread_queued_behind_awaited_appends_is_written_by_their_writer(
    tmp_path: Path, signer: Signer
) -> None:
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    thread_result: list[AuditRecord] = []

    async def waiting() -> AuditRecord:
        first = asyncio.ensure_future(log.append_async(event(1)))
        assert await asyncio.to_thread(clock.entered.wait, 10)  # the writer holds the log
        thread = threading.Thread(target=lambda: thread_result.append(log.append(event(2))))
        thread.start()
        await asyncio.to_thread(wait_until, lambda: len(log._pending) == 1)
        clock.release.set()
        record = await first
        await asyncio.to_thread(thread.join, 10)
        return record

    first = asyncio.run(waiting())
    log.close()
    assert [first.seq, thread_result[0].seq] == [0, 1]
    assert numbers(log.path) == [1, 2]


def test_an_awaited_append_that_cannot_be_written_raises_and_nothing_is_answered(
    signer: Signer,
) -> None:
    with AuditLog(Path("/dev/full"), signer) as log:
        with pytest.raises(AuditWriteError, match=r"^/dev/full: append failed: "):
            asyncio.run(log.append_async(event(1)))
        assert log.last_failure is not None
        assert not log._writing  # the writer let go: the next append is tried afresh
        with pytest.raises(AuditWriteError, match=r"^/dev/full: append failed: "):
            log.append(event(2))


def test_a_cancelled_or_vanished_waiter_still_has_its_record_written(
    tmp_path: Path, signer: Signer
) -> None:
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    queued = Queued(log, clock)

    async def cancelled() -> AuditRecord:
        task = asyncio.ensure_future(log.append_async(event(1)))
        await asyncio.sleep(0)
        task.cancel()
        clock.release.set()
        return await log.append_async(event(2))  # written after the cancelled one

    async def vanishing() -> None:  # its loop is closed before its record is written
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(log.append_async(event(3)), 0.01)

    gone = threading.Thread(target=asyncio.run, args=(vanishing(),))
    gone.start()
    gone.join(10)
    after = asyncio.run(cancelled())
    queued.release()
    wait_until(lambda: not log._writing)
    log.close()
    assert after.seq == 3
    assert numbers(log.path) == [0, 3, 1, 2]
    assert verify_path(log.path, signer).records == 4

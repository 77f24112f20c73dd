"""Leases: background work held by one process at a time, taken over when its holder dies."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.storage import Backend
from gateway.storage.leases import Leases, new_holder
from tests.postgres import PostgresServer
from tests.storage.test_cross_process import REPO

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_a_lease_is_held_by_one_holder_until_it_expires(
    storage_backend: Backend, tmp_path: Path
) -> None:
    clock = Clock()
    first = Leases(storage_backend, tmp_path / "leases.db", holder="a", ttl_seconds=30, clock=clock)
    second = Leases(
        storage_backend, tmp_path / "leases.db", holder="b", ttl_seconds=30, clock=clock
    )
    assert first.acquire("timers")
    assert not second.acquire("timers")  # a's lease is still valid
    assert second.acquire("outbox")  # another name, another lease
    clock.now += timedelta(seconds=20)
    assert first.acquire("timers")  # renewed: valid 30 s from now
    clock.now += timedelta(seconds=20)
    assert not second.acquire("timers")
    assert first.holder_of("timers") == "a"
    clock.now += timedelta(seconds=11)  # a stopped renewing 31 s ago
    assert first.holder_of("timers") is None
    assert second.acquire("timers")
    assert not first.acquire("timers")
    assert second.holder_of("timers") == "b"
    second.close()  # a clean shutdown hands its leases over at once
    assert first.acquire("timers")
    assert first.acquire("outbox")
    first.close()


def test_a_liveness_lease_outlives_its_holder_and_then_tells_it_is_gone(
    storage_backend: Backend, tmp_path: Path
) -> None:
    clock = Clock()
    host = Leases(storage_backend, tmp_path / "leases.db", holder="b", ttl_seconds=30, clock=clock)
    watcher = Leases(
        storage_backend, tmp_path / "leases.db", holder="a", ttl_seconds=30, clock=clock
    )
    assert not watcher.expired("runtime.process.b:1"), "never taken: nothing to tell"
    assert host.acquire("runtime.process.b:1", release_on_close=False)
    host.close()  # not released: it expires

    assert not watcher.expired("runtime.process.b:1"), "still valid"
    clock.now += timedelta(seconds=30)
    assert watcher.expired("runtime.process.b:1")
    watcher.close()


def test_a_guarded_job_runs_only_in_the_holder(storage_backend: Backend, tmp_path: Path) -> None:
    ran: list[str] = []
    first = Leases(storage_backend, tmp_path / "leases.db", holder="a")
    second = Leases(storage_backend, tmp_path / "leases.db", holder="b")
    jobs = [
        leases.guard("timers", lambda who=leases.holder: ran.append(who))
        for leases in (first, second)
    ]
    for _ in range(3):
        for job in jobs:
            job()
    assert ran == ["a", "a", "a"]
    assert jobs[0].__name__ == "leased_timers"
    first.release("timers")
    jobs[1]()
    assert ran[-1] == "b"
    first.close()
    second.close()


def test_a_lease_lasts_a_positive_time(tmp_path: Path) -> None:
    from gateway.storage import SqliteBackend

    with pytest.raises(ValueError, match="positive number of seconds"):
        Leases(SqliteBackend(), tmp_path / "leases.db", ttl_seconds=0)


def test_each_process_names_itself_apart() -> None:
    assert new_holder() != new_holder()


def _holder(dsn: str, prefix: str, seconds: float) -> subprocess.Popen[str]:
    task = {"dsn": dsn, "prefix": prefix, "name": "timers", "ttl": 1.5, "seconds": seconds}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crossprocess", "lease", json.dumps(task)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


@pytest.mark.postgresql
def test_when_the_holder_is_killed_another_process_takes_the_lease_over(
    postgres_server: PostgresServer, prefix: str
) -> None:
    first = _holder(postgres_server.dsn, prefix, 60)
    second = None
    try:
        assert first.stdout is not None
        assert first.stdout.readline().startswith("held ")
        second = _holder(postgres_server.dsn, prefix, 30)
        assert second.stdout is not None
        assert second.stdout.readline().startswith("refused ")  # the first still renews
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.time()
        took = second.stdout.readline().split()
        assert took[0] == "held"
        assert killed_at < float(took[1]) < killed_at + 1.5 + 5  # once the lease expired
    finally:
        for process in (first, second):
            if process is None:
                continue
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()

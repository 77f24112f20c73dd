"""Two gateway processes on one PostgreSQL run the background work over shared state once:
resuming executions, approvals' expiry, the notification outbox, ticket follow-ups,
write-backs and polling, and the privacy retention sweep, each under a lease that the
other process takes over when the holder is killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.app.services import TICKET_LEASES
from gateway.audit.keys import init_keys
from gateway.storage.leases import Leases
from gateway.storage.postgres import PostgresBackend
from tests.postgres import PostgresServer

pytestmark = pytest.mark.postgresql

REPO = Path(__file__).resolve().parents[2]
WORK = ("approvals.tick", "runtime.tick", "notify.flush", *TICKET_LEASES, "privacy.sweep")


def _beat(root: Path, prefix: str, dsn: str, seconds: float) -> subprocess.Popen[str]:
    shutil.copytree(root.parent / "keys", root / "keys")  # one audit signing key for both
    return subprocess.Popen(
        [sys.executable, "-m", "tests.app.beat_process", str(root), prefix, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, "GATEWAY_TEST_DATABASE_URL": dsn},
    )


def _holders(leases: Leases) -> set[str | None]:
    return {leases.holder_of(name) for name in WORK}


def test_when_the_process_doing_the_background_work_is_killed_the_other_takes_it_all_over(
    tmp_path: Path, postgres_server: PostgresServer, shared_postgres: PostgresBackend, prefix: str
) -> None:
    init_keys(tmp_path / "keys")
    backend = PostgresBackend(postgres_server.dsn, pool_size=1, prefix=prefix)
    watcher = Leases(backend, Path("unused.db"))
    first = _beat(tmp_path / "a", prefix, postgres_server.dsn, 120)
    second = None
    try:
        assert first.stdout is not None
        first_holder = first.stdout.readline().split()[1]
        assert _holders(watcher) == {first_holder}
        second = _beat(tmp_path / "b", prefix, postgres_server.dsn, 120)
        assert second.stdout is not None
        second_holder = second.stdout.readline().split()[1]
        assert _holders(watcher) == {first_holder}  # the first still renews every lease

        first.send_signal(signal.SIGKILL)
        first.wait()
        deadline = time.monotonic() + 1.5 + 10
        while _holders(watcher) != {second_holder} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _holders(watcher) == {second_holder}
    finally:
        for process in (first, second):
            if process is None:
                continue
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        watcher.close()
        backend.close()

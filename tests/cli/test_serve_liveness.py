"""``gateway serve`` on shared state: a serving process is alive, for the other hosts,
before it serves its first request or claims its first step (its liveness lease
``runtime.process.<host:pid>`` is taken at start-up, not on the beat's first round)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from gateway.app import open_services
from gateway.app.services import Services
from gateway.cli import cli
from gateway.cli import serve as serve_module
from gateway.clock import utcnow
from gateway.config import load_config
from gateway.runtime.worker import BackgroundWorker
from gateway.storage.leases import Leases
from gateway.storage.postgres import PostgresBackend
from tests.postgres import PostgresServer

pytestmark = pytest.mark.postgresql

REPO = Path(__file__).resolve().parents[2]
OWNER = f"{socket.gethostname()}:{os.getpid()}"  # the serving process: this one
LIVENESS = f"runtime.process.{OWNER}"


@pytest.fixture
def workdir(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer,
    shared_postgres: PostgresBackend,
) -> Iterator[Path]:
    """A gateway folder whose state is in the tests' PostgreSQL, in schemas of its own."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    shutil.copy(REPO / "gateway" / "defaults" / "directory.yaml", tmp_path / "directory.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_TEST_DATABASE_URL", postgres_server.dsn)
    prefix = f"live{uuid.uuid4().hex[:10]}_"
    (tmp_path / "gateway.toml").write_text(
        '[storage]\nbackend = "postgresql"\ndsn_env = "GATEWAY_TEST_DATABASE_URL"\n'
        f'schema_prefix = "{prefix}"\npool_size = 4\nlease_seconds = 5\n'
        '[identity]\nstatic_file = "directory.yaml"\n'
        '[notifications]\nchannel = "file"\n'
        "[api]\nport = 0\n"
    )
    yield tmp_path
    with shared_postgres.pool.connection() as db:
        for (name,) in db.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall():
            db.execute(f'DROP SCHEMA "{name}" CASCADE')


def _leases(workdir: Path, holder: str, *, ttl: float, ago: float = 0.0) -> Iterator[Leases]:
    config = load_config(workdir / "gateway.toml")
    with open_services(config) as parts:
        yield Leases(
            parts.gateway.storage,
            config.runtime.database.with_name("leases.db"),
            holder=holder,
            ttl_seconds=ttl,
            clock=lambda: utcnow() - timedelta(seconds=ago),
        )


def _serve(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    background: bool = True,
    then: Callable[[list[BackgroundWorker]], object] = lambda beats: None,
) -> tuple[list[str], list[BackgroundWorker]]:
    """Serve until the server would take its first request, with the background beat held
    back (as when its thread has not run yet; the heartbeat runs); what another host's
    tick holder sees of this process then (``then`` is done next), and the beats."""
    seen: list[str] = []
    beats: list[BackgroundWorker] = []
    start = BackgroundWorker.start

    def held_back(self: BackgroundWorker) -> None:  # the heartbeat alone runs, as it does
        beats.append(self)  # from the moment the lease is taken, however slow start-up is
        if self._thread.name == "gateway-liveness":
            start(self)

    monkeypatch.setattr(BackgroundWorker, "start", held_back)

    def run(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        for leases in _leases(workdir, "the other host's tick holder", ttl=5):
            seen.append("expired" if leases.expired(LIVENESS) else "alive")
            seen.append(str(leases.holder_of(LIVENESS) is not None))
        then(beats)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    if background:
        result = CliRunner().invoke(cli, ["serve", "--config", "gateway.toml"])
        assert result.exit_code == 0, result.output
    else:  # a worker of ``--workers N`` other than the first
        config = load_config(workdir / "gateway.toml")
        sock = socket.create_server(("127.0.0.1", 0))
        try:
            serve_module._serve_one(config, sock, False, background=False)
        finally:
            sock.close()
    return seen, beats


def test_a_process_reusing_a_dead_ones_name_is_alive_before_it_serves(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A restarted container has the same host name and pid as the process it replaces,
    # whose liveness lease has expired: the new one must not look dead while it serves.
    for leases in _leases(workdir, f"{OWNER}:0ld", ttl=1, ago=60):
        assert leases.acquire(LIVENESS, release_on_close=False)
    for leases in _leases(workdir, "the other host's tick holder", ttl=5):
        assert leases.expired(LIVENESS)
    seen, beats = _serve(workdir, monkeypatch)
    assert seen == ["alive", "True"]
    assert len(beats) == 2  # its heartbeat and its background beat


def test_a_process_waits_for_its_predecessors_lease_before_it_serves(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The predecessor's lease is still valid: it is taken over once it expires, before
    # the server takes requests (never a window where this process looks dead).
    for leases in _leases(workdir, f"{OWNER}:0ld", ttl=1):
        assert leases.acquire(LIVENESS, release_on_close=False)
    seen, _ = _serve(workdir, monkeypatch)
    assert seen == ["alive", "True"]


def test_a_process_whose_name_stays_held_does_not_serve(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for leases in _leases(workdir, f"{OWNER}:other", ttl=60):
        assert leases.acquire(LIVENESS, release_on_close=False)
    monkeypatch.setattr(serve_module, "take_liveness", _impatient(serve_module.take_liveness))
    served: list[bool] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: served.append(True))
    result = CliRunner().invoke(cli, ["serve", "--config", "gateway.toml"])
    assert served == []
    assert result.exit_code == 5, result.output  # unavailable
    assert f"liveness lease {LIVENESS}: held by another process" in result.output


def _impatient(take: object) -> object:
    def take_soon(*args: object, **kwargs: object) -> None:
        kwargs["wait_seconds"] = 0.3
        take(*args, **kwargs)  # type: ignore[operator]

    return take_soon


def test_every_worker_takes_and_renews_its_own_liveness_lease(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renewed: list[bool] = []

    def expire_then_beat(beats: list[BackgroundWorker]) -> None:
        heartbeat, _ = beats  # a worker without the background work has a heartbeat too
        for leases in _leases(workdir, "the other host's tick holder", ttl=5):
            with leases._db.transaction() as db:  # its lease runs out...
                db.execute(
                    "UPDATE leases SET expires_at = '2000-01-01' WHERE name = ?", (LIVENESS,)
                )
            assert leases.expired(LIVENESS)
            heartbeat.run_once()  # ...and its heartbeat renews it
            renewed.append(not leases.expired(LIVENESS))

    seen, _ = _serve(workdir, monkeypatch, background=False, then=expire_then_beat)
    assert seen == ["alive", "True"]
    assert renewed == [True]


def test_a_background_job_slower_than_the_lease_does_not_make_the_process_look_dead(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A ticket poll or a notification flush that hangs holds the beat for longer than a
    # lease: the process still serves and runs its steps, so its liveness lease must not
    # expire (another host would take its steps over while it runs them).
    toml = workdir / "gateway.toml"
    toml.write_text(toml.read_text().replace("lease_seconds = 5", "lease_seconds = 2"))
    hanging, release = threading.Event(), threading.Event()

    def hanging_poll() -> None:
        hanging.set()
        release.wait(30)

    jobs = Services.background_jobs
    monkeypatch.setattr(Services, "background_jobs", lambda self: [*jobs(self), hanging_poll])
    seen: list[bool] = []

    def run(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        try:
            assert hanging.wait(30)
            for leases in _leases(workdir, "the other host's tick holder", ttl=5):
                until = time.monotonic() + 2.6  # longer than a lease, the beat held all along
                while time.monotonic() < until:
                    seen.append(leases.expired(LIVENESS))
                    time.sleep(0.1)
        finally:
            release.set()

    monkeypatch.setattr(uvicorn.Server, "run", run)
    result = CliRunner().invoke(cli, ["serve", "--config", "gateway.toml"])

    assert result.exit_code == 0, result.output
    assert len(seen) > 10
    assert not any(seen), "its liveness lease expired while it was serving"

"""The audit log in PostgreSQL against the file log: durable appends per second.

Run with ``python -m benchmarks.audit_postgres``.  It starts a throwaway PostgreSQL with
durable settings (``fsync`` and ``synchronous_commit`` on, as a production server runs;
Debian's binaries, as the tests use them), or uses the server ``GATEWAY_BENCH_DATABASE_URL``
names.

* **single**: one thread appending, each append returned only once durable (one fsync, or
  one committed transaction, per record);
* **concurrent**: 16 threads appending at once through one log (group commit: one write
  and fsync, or one transaction under the audit lock, per batch);
* **naive**: the PostgreSQL log without group commit, 16 threads each appending through a
  log of its own (one transaction and one lock per record), the baseline group commit is
  measured against;
* **file**: the file log (``AuditLog``), single and concurrent, the baseline the shared
  log is compared with.

Each figure is the median of ``--rounds`` rounds of ``--records`` records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gateway.audit.batching import GroupCommit
from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.records import AuditEvent
from gateway.storage.postgres import PostgresBackend

THREADS = 16


def _event(index: int) -> AuditEvent:
    return AuditEvent(
        type="decision",
        actor=f"user{index % 977}",
        action="password.reset",
        resource=f"account:user{index % 313}",
        decision_id=f"{index:032x}",
        policy_digest="sha256:" + "ab" * 32,
        payload={"decision": "allow", "reasons": [{"engine": "cedar", "policy": "p"}]},
    )


def _rate(logs: Sequence[GroupCommit], records: int, threads: int) -> float:
    """Appends per second with ``threads`` threads, thread ``n`` using ``logs[n % len]``."""
    each = records // threads
    barrier = threading.Barrier(threads + 1)

    def work(number: int) -> None:
        log = logs[number % len(logs)]
        barrier.wait()
        for index in range(each):
            log.append(_event(number * each + index))

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return each * threads / (time.perf_counter() - start)


def _median(measure: Callable[[], float], rounds: int) -> float:
    return statistics.median(measure() for _ in range(rounds))


@contextmanager
def durable_postgres() -> Iterator[str]:
    """A throwaway server with production durability; its DSN."""
    from tests.postgres import PostgresServer, binaries

    bin_dir = binaries()
    if bin_dir is None:
        raise SystemExit("PostgreSQL not found: make servers (or set GATEWAY_BENCH_DATABASE_URL)")
    server = PostgresServer(bin_dir)
    server.init()
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(server.root),
        "fsync": "on",
        "synchronous_commit": "on",
        "max_connections": "100",
    }
    command = [str(bin_dir / "postgres"), "-D", str(server.root / "data"), "-p", str(server.port)]
    for name, value in settings.items():
        command += ["-c", f"{name}={value}"]
    process = subprocess.Popen(  # type: ignore[call-overload]
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=server.root,
        **server._run_as(),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(server.port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        yield server.dsn
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(server.root, ignore_errors=True)


def bench(dsn: str, folder: Path, records: int, rounds: int) -> dict[str, float]:
    signer = Signer.generate()
    backend = PostgresBackend(dsn, pool_size=THREADS + 2, prefix=f"bench{os.getpid()}_")
    shared = DatabaseAuditLog(backend, signer)
    own = [DatabaseAuditLog(backend, signer) for _ in range(THREADS)]
    file_log = AuditLog(folder / "audit.log", signer)
    single = max(200, records // 10)
    try:
        return {
            "file single": _median(lambda: _rate([file_log], single, 1), rounds),
            "file concurrent": _median(lambda: _rate([file_log], records, THREADS), rounds),
            "postgresql single": _median(lambda: _rate([shared], single, 1), rounds),
            "postgresql concurrent": _median(lambda: _rate([shared], records, THREADS), rounds),
            "postgresql naive": _median(lambda: _rate(own, records, THREADS), rounds),
        }
    finally:
        file_log.close()
        shared.close()
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=3_200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        dsn = os.environ.get("GATEWAY_BENCH_DATABASE_URL")
        if dsn:
            figures = bench(dsn, Path(folder), options.records, options.rounds)
        else:
            with durable_postgres() as started:
                figures = bench(started, Path(folder), options.records, options.rounds)
    for name, rate in figures.items():
        print(f"{name:24} {rate:10,.0f} appends/s")
    grouped = figures["postgresql concurrent"]
    print(
        f"group commit on PostgreSQL: {grouped / figures['postgresql naive']:.1f}x the naive "
        f"one transaction per record; against the file log: "
        f"{grouped / figures['file concurrent']:.2f}x concurrent, "
        f"{figures['postgresql single'] / figures['file single']:.2f}x single"
    )


if __name__ == "__main__":
    main()

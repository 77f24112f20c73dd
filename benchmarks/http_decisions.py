"""Decisions over HTTP: throughput and latency of ``gateway serve`` under concurrent load.

Run with ``python -m benchmarks.http_decisions``; ``--help`` lists the options.

The server is started exactly as a user would (``python -m gateway serve --port 0
--workers N``, one process by default, on loopback) in a temporary folder holding a copy
of ``policies/``, the embedded directory and a fresh audit log; every decision is
audited (durably, with group commit) before it is answered.  An API key with
``decisions:write`` is made first.

The client runs in this process: asyncio with ``--concurrency`` requests in flight, each
a ``POST /v1/decisions`` drawn from a fixed mix of the sample directory's requests
(allowed and denied ones).  After ``--warmup`` unmeasured requests, ``--requests``
requests are timed one by one (``time.perf_counter_ns`` around each) and the run takes
wall-clock time for the throughput.  Each figure is the median of ``--runs`` runs.

Rows:

* **gateway**: connections kept alive (as services do);
* **naive baseline**: the same load with a new TCP connection for every request;
* **HTTP floor**: ``GET /healthz`` with keep-alive, the cost of the HTTP stack alone.

``--storage postgresql`` runs the server on ``[storage] backend = "postgresql"`` (its stores
and its audit log in one database): a throwaway PostgreSQL with production durability
(``fsync`` and ``synchronous_commit`` on, as ``benchmarks.audit_postgres`` starts it), or
the server ``GATEWAY_BENCH_DATABASE_URL`` names; the API key is then made through the
configured store, with ``gateway callers api-key create`` and the server's configuration.

``--client httpx`` (the default) drives the load with one ``httpx.AsyncClient``;
``--client raw`` writes HTTP/1.1 requests on asyncio streams, a client that costs far
less CPU, for machines where the client and the server share few cores.  On Linux the
server's CPU time per request is read from ``/proc`` and shown too.

Goals: at least 1,500 decisions/s, at least half the same server's ``GET /healthz`` rate,
and a p99 of at most 20 ms with keep-alive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from gateway.callers.api_keys import ApiKeyStore

REPO = Path(__file__).resolve().parents[1]

GOAL_PER_SECOND = 1_500.0
GOAL_OF_FLOOR = 0.5  # decisions/s against the same server's GET /healthz/s
GOAL_P99_MS = 20.0

# (actor, action, resource, context): allowed, denied and obligation-carrying requests.
MIX: list[tuple[str, str, str, dict[str, Any]]] = [
    ("elena", "password.reset", "account:tom", {"ticket": "INC-0001"}),
    ("elena", "password.reset", "account:priya", {"channel": "ticket"}),
    ("elena", "account.unlock", "account:tom", {}),
    ("elena", "software.install", "software:visio", {"device": "laptop-7"}),
    ("elena", "software.install", "software:torrent-client", {}),
    ("elena", "diagnostics.run", "host:printer-3f", {}),
    ("elena", "kb.publish", "article:vpn-setup", {}),
    ("omar", "access.grant", "account:tom", {"system": "payroll"}),
    ("omar", "password.reset", "account:sam", {}),
    ("sam", "password.reset", "account:omar", {}),
    ("tom", "password.reset", "account:tom", {"channel": "self_service"}),
    ("tom", "access.grant", "account:tom", {"system": "payroll"}),
    ("lena", "kb.publish", "article:x", {}),
    ("grace", "diagnostics.run", "host:srv-01", {"ticket": "INC-0042"}),
]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    key: str

    def cpu_seconds(self) -> float | None:
        """User and system CPU time the server (with its worker processes) has used so far
        (Linux), else ``None``."""
        pids = [self.process.pid]
        try:
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                pids += [int(child) for child in (task / "children").read_text().split()]
            used = 0
            for pid in pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                used += int(fields[11]) + int(fields[12])
        except OSError:
            return None
        return used / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


DSN_ENV = "GATEWAY_BENCH_DSN"  # the server's [storage] dsn_env on PostgreSQL


def _configured_key(folder: Path, env: dict[str, str]) -> str:
    """An API key made through the store the server's configuration names."""
    command = [sys.executable, "-m", "gateway", "callers", "api-key", "create", "--name", "bench"]
    made = subprocess.run(
        [*command, "--scope", "decisions:write", "--json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise SystemExit(f"gateway callers api-key create failed: {made.stderr.strip()}")
    key: str = json.loads(made.stdout)["key"]
    return key


def start_server(
    folder: Path, access_log: bool, workers: int = 1, dsn: str | None = None
) -> Server:
    """``gateway serve`` in ``folder``: SQLite and the file audit log, or with ``dsn`` every
    store and the audit log on that PostgreSQL database."""
    shutil.copytree(REPO / "policies", folder / "policies")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if dsn is None:
        store = ApiKeyStore(folder / "var" / "api-keys.db")
        key = store.create("bench", ["decisions:write"]).secret.get_secret_value()
        store.close()
    else:
        env[DSN_ENV] = dsn
        (folder / "gateway.toml").write_text(
            f'[storage]\nbackend = "postgresql"\ndsn_env = "{DSN_ENV}"\n', encoding="utf-8"
        )
        key = _configured_key(folder, env)
    command = [sys.executable, "-m", "gateway", "serve", "--port", "0", "--workers", str(workers)]
    if not access_log:
        command.append("--no-access-log")
    process = subprocess.Popen(
        command,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    first = process.stdout.readline() if process.stdout is not None else ""
    if not first.startswith("gateway API on "):
        process.kill()
        raise SystemExit(f"the server did not start: {first!r}")
    url = first.split()[3]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return Server(process, url, key)
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not become ready within 60 s")


# --------------------------------------------------------------------------- the load


@dataclass(frozen=True)
class Load:
    """What to send: ``count`` requests with ``concurrency`` in flight."""

    url: str
    key: str
    path: str
    count: int
    concurrency: int
    keep_alive: bool

    def bodies(self) -> list[bytes]:
        if self.path != "/v1/decisions":
            return [b""]
        return [
            json.dumps(
                {"actor": actor, "action": action, "resource": resource, "context": context}
            ).encode()
            for actor, action, resource, context in MIX
        ]


@dataclass
class Outcome:
    latencies_ns: list[int]
    elapsed_s: float
    errors: int


async def _run_workers(load: Load, send: Callable[[int], Awaitable[bool]]) -> Outcome:
    latencies: list[int] = []
    errors = 0
    next_index = 0

    async def worker() -> None:
        nonlocal next_index, errors
        while next_index < load.count:
            index = next_index
            next_index += 1
            started = time.perf_counter_ns()
            ok = await send(index)
            latencies.append(time.perf_counter_ns() - started)
            errors += 0 if ok else 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(load.concurrency)))
    return Outcome(latencies, time.perf_counter() - began, errors)


async def drive_httpx(load: Load) -> Outcome:
    """The load through one ``httpx.AsyncClient``."""
    bodies = load.bodies()
    headers = {"X-API-Key": load.key, "Content-Type": "application/json"}
    limits = httpx.Limits(
        max_connections=load.concurrency,
        max_keepalive_connections=load.concurrency if load.keep_alive else 0,
    )
    async with httpx.AsyncClient(base_url=load.url, limits=limits, timeout=60.0) as client:

        async def send(index: int) -> bool:
            if load.path == "/v1/decisions":
                body = bodies[index % len(bodies)]
                response = await client.post(load.path, content=body, headers=headers)
            else:
                response = await client.get(load.path)
            return response.status_code == 200

        return await _run_workers(load, send)


def _raw_request(load: Load, body: bytes) -> bytes:
    connection = "keep-alive" if load.keep_alive else "close"
    if load.path != "/v1/decisions":
        return (
            f"GET {load.path} HTTP/1.1\r\nHost: bench\r\nConnection: {connection}\r\n\r\n".encode()
        )
    head = (
        f"POST {load.path} HTTP/1.1\r\nHost: bench\r\nConnection: {connection}\r\n"
        f"X-API-Key: {load.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def drive_raw(load: Load) -> Outcome:
    """The load as HTTP/1.1 written on asyncio streams, one stream per request in flight."""
    parts = urlsplit(load.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [_raw_request(load, body) for body in load.bodies()]
    pool: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def exchange(index: int) -> bool:
        if pool and load.keep_alive:
            reader, writer = pool.pop()
        else:
            reader, writer = await asyncio.open_connection(host, port)
        writer.write(requests[index % len(requests)])
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        if load.keep_alive:
            pool.append((reader, writer))
        else:
            writer.close()
        return head.startswith(b"HTTP/1.1 200")

    outcome = await _run_workers(load, exchange)
    for _, writer in pool:
        writer.close()
    return outcome


@dataclass
class Stats:
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float | None  # server CPU time per request

    @classmethod
    def of(cls, outcome: Outcome, server_cpu_s: float | None) -> Stats:
        ordered = sorted(outcome.latencies_ns)
        p99_index = max(0, math.ceil(0.99 * len(ordered)) - 1)
        return cls(
            per_second=len(ordered) / outcome.elapsed_s,
            p50_ms=statistics.median(ordered) / 1e6,
            p99_ms=ordered[p99_index] / 1e6,
            errors=outcome.errors,
            server_cpu_ms=None if server_cpu_s is None else server_cpu_s / len(ordered) * 1e3,
        )


def measure(
    server: Server, args: argparse.Namespace, label: str, path: str, keep_alive: bool
) -> Stats:
    drive = drive_raw if args.client == "raw" else drive_httpx
    runs: list[Stats] = []
    for run in range(args.runs):
        warmup = Load(server.url, server.key, path, args.warmup, args.concurrency, keep_alive)
        if args.warmup:
            asyncio.run(drive(warmup))
        before = server.cpu_seconds()
        outcome = asyncio.run(drive(Load(**{**asdict(warmup), "count": args.requests})))
        after = server.cpu_seconds()
        used = None if before is None or after is None else after - before
        stats = Stats.of(outcome, used)
        progress(
            f"  {label} run {run + 1}: {stats.per_second:,.0f}/s, p50 {stats.p50_ms:.2f} ms, "
            f"p99 {stats.p99_ms:.2f} ms, {stats.errors} errors"
        )
        runs.append(stats)
    cpu = [r.server_cpu_ms for r in runs if r.server_cpu_ms is not None]
    return Stats(
        per_second=statistics.median(r.per_second for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
        server_cpu_ms=statistics.median(cpu) if cpu else None,
    )


# --------------------------------------------------------------------------- the report

ROWS = (
    ("gateway (keep-alive)", "gateway", "/v1/decisions", True),
    ("naive (new connection each)", "naive", "/v1/decisions", False),
    ("HTTP floor (GET /healthz)", "floor", "/healthz", True),
)


@contextmanager
def database(storage: str) -> Iterator[str | None]:
    """The PostgreSQL DSN the server uses, or ``None`` for SQLite and the file log."""
    if storage != "postgresql":
        yield None
    elif os.environ.get("GATEWAY_BENCH_DATABASE_URL"):
        yield os.environ["GATEWAY_BENCH_DATABASE_URL"]
    else:
        from benchmarks.audit_postgres import durable_postgres

        with durable_postgres() as dsn:
            yield dsn


def _audit_records(folder: Path, dsn: str | None) -> int:
    if dsn is None:
        with (folder / "var" / "audit.log").open("rb") as log:
            return sum(1 for _ in log)
    import psycopg

    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT count(*) FROM gateway_audit.audit_records").fetchone()
    return int(row[0]) if row is not None else 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="gateway-http-bench-") as temporary,
        database(args.storage) as dsn,
    ):
        folder = Path(temporary)
        progress(f"starting gateway serve ({args.storage}) ...")
        server = start_server(folder, args.access_log, args.workers, dsn)
        try:
            progress(f"server at {server.url}; {args.client} client; measuring ...")
            for label, key, path, keep_alive in ROWS:
                results[key] = asdict(measure(server, args, label, path, keep_alive))
        finally:
            server.stop()
        audit_lines = _audit_records(folder, dsn)
    gateway = results["gateway"]
    of_floor = gateway["per_second"] / results["floor"]["per_second"]
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
        },
        "config": {
            "client": args.client,
            "requests": args.requests,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "runs": args.runs,
            "access_log": args.access_log,
            "workers": args.workers,
            "storage": args.storage,
            "audit_records_written": audit_lines,
        },
        **results,
        "goals": [
            {
                "goal": f">= {GOAL_PER_SECOND:,.0f} decisions/s",
                "value": round(gateway["per_second"], 1),
                "met": gateway["per_second"] >= GOAL_PER_SECOND,
            },
            {
                "goal": f">= {GOAL_OF_FLOOR:.0%} of GET /healthz/s",
                "value": f"{of_floor:.0%}",
                "met": of_floor >= GOAL_OF_FLOOR,
            },
            {
                "goal": f"p99 <= {GOAL_P99_MS:.0f} ms",
                "value": round(gateway["p99_ms"], 2),
                "met": gateway["p99_ms"] <= GOAL_P99_MS,
            },
        ],
    }


def render(report: dict[str, Any]) -> str:
    config, host = report["config"], report["machine"]
    lines = [
        f"Gateway decisions over HTTP (gateway serve --workers {config['workers']}, loopback, "
        f"storage {config['storage']})",
        f"machine: {host['platform']} ({host['processor']}, {host['cpus']} CPUs), {host['python']}",
        f"load: {config['client']} client, {config['requests']:,} requests per run after "
        f"{config['warmup']:,} warm-up, {config['concurrency']} in flight, median of "
        f"{config['runs']} runs; access log {'on' if config['access_log'] else 'off'}; "
        f"{config['audit_records_written']:,} audit records written",
        "",
        f"{'row':<30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms/req':>18} "
        f"{'errors':>7}",
    ]
    for label, key, _, _ in ROWS:
        row = report[key]
        cpu = "-" if row["server_cpu_ms"] is None else f"{row['server_cpu_ms']:.2f}"
        lines.append(
            f"{label:<30} {row['per_second']:>8,.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {cpu:>18} {row['errors']:>7}"
        )
    ratio = report["gateway"]["per_second"] / report["naive"]["per_second"]
    of_floor = report["gateway"]["per_second"] / report["floor"]["per_second"]
    lines += [
        "",
        f"keep-alive / naive throughput: {ratio:.1f}x",
        f"decisions / GET /healthz throughput (same server): {of_floor:.0%}",
        "",
        "goals:",
    ]
    for goal in report["goals"]:
        mark = "met" if goal["met"] else "NOT met"
        lines.append(f"  {goal['goal']:<28} {goal['value']:>10}  {mark}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http_decisions",
        description="Decisions per second and latency of `gateway serve` over HTTP.",
    )
    parser.add_argument("--requests", type=int, default=5_000, metavar="N", help="per run")
    parser.add_argument("--warmup", type=int, default=500, metavar="N", help="per run")
    parser.add_argument("--concurrency", type=int, default=32, metavar="N", help="in flight")
    parser.add_argument("--runs", type=int, default=3, metavar="N", help="median of N runs")
    parser.add_argument(
        "--client", choices=["httpx", "raw"], default="httpx", help="load generator (see above)"
    )
    parser.add_argument(
        "--access-log", action="store_true", help="keep uvicorn's access log on (off by default)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="gateway serve --workers N"
    )
    parser.add_argument(
        "--storage",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the server's [storage] backend (postgresql: stores and audit log in one database)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.runs, args.workers) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency, --runs and --workers must be at least 1")
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    errors = sum(report[key]["errors"] for _, key, _, _ in ROWS)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

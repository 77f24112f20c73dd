"""Decisions over HTTP: throughput and latency of ``gateway serve`` under concurrent load.

Run with ``python -m benchmarks.http_decisions``; ``--help`` lists the options.

The server is started exactly as a user would (``python -m gateway serve --port 0``, one
uvicorn process, on loopback) in a temporary folder holding a copy of ``policies/``, the
embedded directory and a fresh audit log; every decision is audited (durably, with group
commit) before it is answered.  An API key with ``decisions:write`` is made first.

The client runs in this process: asyncio with ``--concurrency`` requests in flight, each
a ``POST /v1/decisions`` drawn from a fixed mix of the sample directory's requests
(allowed and denied ones).  After ``--warmup`` unmeasured requests, ``--requests``
requests are timed one by one (``time.perf_counter_ns`` around each request) and the run
takes wall-clock time for the throughput.  Each figure is the median of ``--runs`` runs.

* **gateway**: one ``httpx.AsyncClient`` keeping its connections alive (as services do).
* **naive baseline**: the same load with a new TCP connection for every request.

Goals: at least 1,500 decisions/s and a p99 of at most 20 ms with keep-alive.  Client and
server share the machine, so the client's own cost is part of every figure.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.callers.api_keys import ApiKeyStore

REPO = Path(__file__).resolve().parents[1]

GOAL_PER_SECOND = 1_500.0
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

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(folder: Path, access_log: bool) -> Server:
    shutil.copytree(REPO / "policies", folder / "policies")
    store = ApiKeyStore(folder / "var" / "api-keys.db")
    key = store.create("bench", ["decisions:write"]).secret.get_secret_value()
    store.close()
    command = [sys.executable, "-m", "gateway", "serve", "--port", "0"]
    if not access_log:
        command.append("--no-access-log")
    process = subprocess.Popen(
        command,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    first = process.stdout.readline() if process.stdout is not None else ""
    if not first.startswith("gateway API on "):
        process.kill()
        raise SystemExit(f"the server did not start: {first!r}")
    url = first.split()[3]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return Server(process, url, key)
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not become ready within 30 s")


# --------------------------------------------------------------------------- the load


@dataclass
class Stats:
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int

    @classmethod
    def of(cls, latencies_ns: list[int], elapsed_s: float, errors: int) -> Stats:
        ordered = sorted(latencies_ns)
        p99_index = max(0, math.ceil(0.99 * len(ordered)) - 1)
        return cls(
            per_second=len(ordered) / elapsed_s,
            p50_ms=statistics.median(ordered) / 1e6,
            p99_ms=ordered[p99_index] / 1e6,
            errors=errors,
        )


def bodies() -> list[bytes]:
    return [
        json.dumps(
            {"actor": actor, "action": action, "resource": resource, "context": context}
        ).encode()
        for actor, action, resource, context in MIX
    ]


async def drive(
    url: str, key: str, count: int, concurrency: int, keep_alive: bool
) -> tuple[list[int], float, int]:
    """Send ``count`` decisions with ``concurrency`` in flight; latencies, seconds, errors."""
    payloads = bodies()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency if keep_alive else 0
    )
    latencies: list[int] = []
    errors = 0
    next_index = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal next_index, errors
            while next_index < count:
                index = next_index
                next_index += 1
                started = time.perf_counter_ns()
                response = await client.post(
                    "/v1/decisions", content=payloads[index % len(payloads)], headers=headers
                )
                latencies.append(time.perf_counter_ns() - started)
                if response.status_code != 200:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, elapsed, errors


def measure(server: Server, args: argparse.Namespace, keep_alive: bool) -> Stats:
    runs: list[Stats] = []
    for run in range(args.runs):
        asyncio.run(drive(server.url, server.key, args.warmup, args.concurrency, keep_alive))
        latencies, elapsed, errors = asyncio.run(
            drive(server.url, server.key, args.requests, args.concurrency, keep_alive)
        )
        stats = Stats.of(latencies, elapsed, errors)
        label = "keep-alive" if keep_alive else "new connection each"
        progress(
            f"  {label} run {run + 1}: {stats.per_second:,.0f}/s, p50 {stats.p50_ms:.2f} ms, "
            f"p99 {stats.p99_ms:.2f} ms, {errors} errors"
        )
        runs.append(stats)
    return Stats(
        per_second=statistics.median(r.per_second for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
    )


# --------------------------------------------------------------------------- the report


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gateway-http-bench-") as temporary:
        folder = Path(temporary)
        progress("starting gateway serve ...")
        server = start_server(folder, args.access_log)
        try:
            progress(f"server at {server.url}; measuring ...")
            gateway = measure(server, args, keep_alive=True)
            naive = measure(server, args, keep_alive=False)
        finally:
            server.stop()
        audit_lines = sum(1 for _ in (folder / "var" / "audit.log").open("rb"))
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
        },
        "config": {
            "requests": args.requests,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "runs": args.runs,
            "access_log": args.access_log,
            "audit_records_written": audit_lines,
        },
        "gateway": vars(gateway),
        "naive": vars(naive),
        "goals": [
            {
                "goal": f">= {GOAL_PER_SECOND:,.0f} decisions/s",
                "value": round(gateway.per_second, 1),
                "met": gateway.per_second >= GOAL_PER_SECOND,
            },
            {
                "goal": f"p99 <= {GOAL_P99_MS:.0f} ms",
                "value": round(gateway.p99_ms, 2),
                "met": gateway.p99_ms <= GOAL_P99_MS,
            },
        ],
    }


def render(report: dict[str, Any]) -> str:
    config, host = report["config"], report["machine"]
    lines = [
        "Gateway decisions over HTTP (gateway serve, one uvicorn process, loopback)",
        f"machine: {host['platform']} ({host['processor']}, {host['cpus']} CPUs), "
        f"{host['python']}",
        f"load: {config['requests']:,} requests per run after {config['warmup']:,} warm-up, "
        f"{config['concurrency']} in flight, median of {config['runs']} runs; access log "
        f"{'on' if config['access_log'] else 'off'}; "
        f"{config['audit_records_written']:,} audit records written",
        "",
        f"{'client':<32} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for label, key in (("gateway (keep-alive)", "gateway"), ("naive (new connection)", "naive")):
        row = report[key]
        lines.append(
            f"{label:<32} {row['per_second']:>12,.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>7}"
        )
    ratio = report["gateway"]["per_second"] / report["naive"]["per_second"]
    lines += ["", f"keep-alive / naive throughput: {ratio:.1f}x", "", "goals:"]
    for goal in report["goals"]:
        mark = "met" if goal["met"] else "NOT met"
        lines.append(f"  {goal['goal']:<24} {goal['value']:>10}  {mark}")
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
        "--access-log", action="store_true", help="keep uvicorn's access log on (off by default)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.runs) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --runs must be at least 1")
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    errors = report["gateway"]["errors"] + report["naive"]["errors"]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Executions over two gateway processes on one PostgreSQL: exactly once, and how fast.

Run with ``python -m benchmarks.postgres_executions`` (``--help`` lists the options); it
needs Debian's ``postgresql`` (``make servers``).

A throwaway PostgreSQL is started (``tests/postgres.py``), then two ``gateway serve``
processes, as two hosts would run them: each its own folder with the same keys and
``[storage] backend = "postgresql"``.  ``--executions`` software installs (each on its
own device, so no two share a target) are started with ``--concurrency`` requests in
flight, and every one is sent to **both** processes with the same ``Idempotency-Key``: the
naive baseline of a client that retries on the other host.  The run waits until every
execution has finished, then exports the one audit log and counts, per execution, the
``action.started`` records of its install step.

Printed: executions started, installs run, duplicates (goal: 0), the elapsed time from the
first request until the last execution finished, and the rate; each the median of
``--runs`` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.postgres import binaries, fresh_database, running_postgres
from tests.reliability.served import Site, wait_for

SCOPES = ("executions:write", "executions:read")
CONFIG = """\
[storage]
backend = "postgresql"
dsn_env = "GATEWAY_DATABASE_URL"
pool_size = 20

[runtime]
worker_interval_seconds = 0.2
"""


def one_run(dsn: str, folder: Path, count: int, concurrency: int) -> dict[str, Any]:
    first = Site(folder / "a", dsn, CONFIG)
    key = first.api_key(*SCOPES)
    second = first.twin(folder / "b")
    try:
        urls = [first.serve(), second.serve()]
        clients = [second.client(url) for url in urls]
        headers = {"X-API-Key": key}
        refused: list[int] = []

        def start(number: int) -> set[str]:
            body = {
                "workflow": "software-install",
                "parameters": {"title": "7zip", "device": f"tom-bench{number}"},
                "actor": "tom",
            }
            found = set()
            for client in (clients[number % 2], clients[(number + 1) % 2]):
                while True:  # a 503 (busy, failed closed) is retried, with the same key
                    response = client.post(
                        "/v1/executions",
                        json=body,
                        headers={**headers, "Idempotency-Key": f"bench-{number}"},
                    )
                    if response.status_code != 503:
                        break
                    refused.append(number)
                response.raise_for_status()
                found.add(response.json()["id"])
            return found

        began = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(start, range(count)))

        def finished() -> list[dict[str, Any]] | None:
            found = clients[0].get("/v1/executions", params={"limit": 500}, headers=headers)
            states = Counter(e["state"] for e in found.json())
            return None if set(states) - {"succeeded", "failed", "compensated"} else [states]

        wait_for(finished, "every execution to finish", timeout=600)
        elapsed = time.perf_counter() - began
        first.stop()
        second.stop()
        log = second.verify_audit_log()
    finally:
        first.stop()
        second.stop()
    runs = Counter(
        r["payload"]["execution"]
        for r in log
        if r["type"] == "action.started" and r["payload"]["step"] == "install"
    )
    executions = {e for found in answers for e in found}
    return {
        "executions": len(executions),
        "retried_after_503": len(refused),
        "answered_differently": sum(len(found) != 1 for found in answers),
        "installs_run": sum(runs.values()),
        "duplicates": sum(n - 1 for n in runs.values() if n > 1),
        "elapsed_s": elapsed,
        "per_second": count / elapsed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    bin_dir = binaries()
    if bin_dir is None:
        print("PostgreSQL not found: apt-get install postgresql (or make servers)")
        return 2
    results = []
    server_runs = running_postgres(bin_dir)
    server = next(server_runs)
    try:
        for number in range(args.runs):
            with fresh_database(server) as dsn, tempfile.TemporaryDirectory() as folder:
                print(f"run {number + 1}: {args.executions} executions ...", file=sys.stderr)
                results.append(one_run(dsn, Path(folder), args.executions, args.concurrency))
    finally:
        server_runs.close()
    print(f"load: {os.getloadavg()[0]:.2f} (1-min), {os.cpu_count()} cpus")
    print(
        f"{args.executions} executions, each sent to both of 2 gateway processes "
        f"({args.concurrency} in flight), median of {args.runs} run(s):"
    )
    for name in (
        "executions",
        "answered_differently",
        "retried_after_503",
        "installs_run",
        "duplicates",
        "elapsed_s",
        "per_second",
    ):
        value = statistics.median(result[name] for result in results)
        print(f"  {name:<22} {value:,.2f}" if isinstance(value, float) else f"  {name:<22} {value}")
    return 0 if all(r["duplicates"] == 0 and r["answered_differently"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())

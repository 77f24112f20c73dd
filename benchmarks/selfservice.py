"""Self-service catalog under load: simultaneous runs, guardrails under contention, listing.

Run with ``python -m benchmarks.selfservice`` (``--json`` for JSON, ``--help`` for options).
Every phase runs on a fresh gateway in a temporary folder (shipped policies, workflows,
catalog and sample directory; audit log on; embedded device manager), and is repeated
``--repeat`` times (default 3); medians are reported.

* **simultaneous runs**: ``--runs`` (1,000) catalog runs of an install item, one per
  device, submitted at once from ``--threads`` (50) threads.  Each must succeed exactly
  once: one run, one execution, one ``action.started``, one install on its device.
  Baseline: the same installs started directly on the runtime (``executor.start`` +
  ``advance``, no catalog), so the ratio is the catalog's overhead.
* **quota under contention**: ``--attempts`` (50) simultaneous runs of an item with a
  global quota of 3, from threads each with its own store connection (as separate
  processes would have); admitted runs must be exactly 3 every time.
* **listing**: 500 catalog items; the items one person may see, cold (every
  ``selfservice.view`` decided) and warm (the per-person answer kept ``ttl``).
  Baseline: one audited ``gateway.authorize`` per item, every time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gateway.app import Gateway, open_runtime, open_selfservice
from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.config import EMBEDDED_DIRECTORY, GatewayConfig, IdentityConfig, SelfServiceConfig
from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.policy.request import AccessRequest
from gateway.runtime.executor import Executor
from gateway.selfservice import RunRefusedError, RunState, SelfService
from gateway.selfservice.store import RunStore

REPO = Path(__file__).resolve().parents[1]
GOAL_RUNS = 1_000
GOAL_LIST_MS = 10.0

BENCH_ITEM = """
id: bench-install
title: Install 7zip (benchmark)
category: software
owner: it-support
workflow: software-install
minutes_saved: 20
parameters:
  device: {pattern: "[a-z0-9-]{1,40}"}
with: {title: 7zip, device: "{{ params.device }}"}
"""

QUOTA_ITEM = """
id: bench-quota
title: Unlock (quota of 3)
category: accounts
owner: it-support
workflow: account-unlock
with: {user: "{{ actor }}"}
guardrails:
  quotas: [{scope: global, max: 3, period: day}]
"""

PEOPLE = ["elena", "omar", "grace", "sam", "tom", "priya"]


class Stack:
    def __init__(self, root: Path, extra: dict[str, str], ttl: float = 30.0) -> None:
        shutil.copytree(REPO / "policies", root / "policies")
        shutil.copytree(REPO / "automations" / "workflows", root / "automations" / "workflows")
        shutil.copytree(REPO / "automations" / "catalog", root / "automations" / "catalog")
        shutil.copy(EMBEDDED_DIRECTORY, root / "directory.yaml")
        for name, text in extra.items():
            (root / "automations" / "catalog" / f"{name}.yaml").write_text(text)
        self.config = GatewayConfig(
            identity=IdentityConfig(static_file=Path("directory.yaml")),
            selfservice=SelfServiceConfig(visibility_cache_seconds=ttl),
        ).resolved(root)
        self.gateway = Gateway.from_config(self.config)
        self.executor: Executor = open_runtime(self.config, self.gateway)
        self.service: SelfService = open_selfservice(self.config, self.gateway, self.executor)

    def close(self) -> None:
        self.service.close()
        self.executor.close()
        self.gateway.close()


def _parallel(count: int, threads: int, work: Callable[[int], object]) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(count)))
    return time.perf_counter() - start


def simultaneous(runs: int, threads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        stack = Stack(Path(folder), {"bench-install": BENCH_ITEM})
        try:
            service = stack.service
            seconds = _parallel(
                runs,
                threads,
                lambda i: service.run(PEOPLE[i % 6], "bench-install", {"device": f"bench-{i}"}),
            )
            done = service.recent(limit=runs * 2)
            succeeded = sum(1 for r in done if r.state is RunState.SUCCEEDED)
            executions = sum(len(r.executions) for r in done)
            started = sum(
                1
                for line in read_lines(stack.config.audit.log)
                if parse_record(line, 0).type == "action.started"
                and parse_record(line, 0).payload.get("action") == "software.install"
            )
        finally:
            stack.close()
        devices = EmbeddedDeviceManager(stack.config.runtime.embedded_systems / "devices.db")
        installs = sum(len(devices.installed(f"bench-{i}")) for i in range(runs))
        devices.close()
    exact = len(done) == succeeded == executions == started == installs == runs
    return {"seconds": seconds, "runs_per_s": runs / seconds, "exactly_once": exact}


def direct(runs: int, threads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        stack = Stack(Path(folder), {})
        try:
            executor = stack.executor

            def one(i: int) -> None:
                started = executor.start(
                    "software-install",
                    {"title": "7zip", "device": f"bench-{i}"},
                    actor=PEOPLE[i % 6],
                )
                executor.advance(started.id)

            seconds = _parallel(runs, threads, one)
        finally:
            stack.close()
    return {"seconds": seconds, "runs_per_s": runs / seconds}


def contention(attempts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        stack = Stack(Path(folder), {"bench-quota": QUOTA_ITEM})
        stores = [RunStore(stack.config.selfservice.database) for _ in range(attempts)]
        services = [
            SelfService(
                stack.service.catalog,
                stack.gateway,
                stack.executor,
                store,
                stack.service.inventory,
                stack.service.sources,
                audit=None,
            )
            for store in stores
        ]
        admitted = 0
        lock = threading.Lock()
        barrier = threading.Barrier(attempts)

        def attempt(i: int) -> None:
            nonlocal admitted
            barrier.wait()
            try:
                services[i].run(PEOPLE[i % 6], "bench-quota", {})
            except RunRefusedError:
                return
            with lock:
                admitted += 1

        try:
            _parallel(attempts, attempts, attempt)
        finally:
            for service in services:
                service.close()
            stack.close()
    return {"admitted": admitted, "exact": admitted == 3}


def _listing_items(count: int) -> dict[str, str]:
    return {
        f"bench-item-{i:03d}": BENCH_ITEM.replace("bench-install", f"bench-item-{i:03d}").replace(
            "category: software", f"category: {'it-tools' if i % 10 == 0 else 'software'}"
        )
        for i in range(count - len(list((REPO / "automations" / "catalog").glob("*.yaml"))))
    }


def listing(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        stack = Stack(Path(folder), _listing_items(count), ttl=3600.0)
        try:
            service = stack.service
            items = len(service.catalog)
            start = time.perf_counter()
            seen = service.browser.browse("tom")
            cold = time.perf_counter() - start
            warm = []
            for _ in range(20):
                start = time.perf_counter()
                service.browser.browse("tom")
                warm.append(time.perf_counter() - start)
            start = time.perf_counter()
            naive = [
                item.id
                for item in service.catalog
                if stack.gateway.authorize(
                    AccessRequest(
                        actor="tom",
                        action="selfservice.view",
                        resource=f"catalog_item:{item.id}",
                        context={"category": item.definition.category},
                    )
                ).allowed
            ]
            baseline = time.perf_counter() - start
        finally:
            stack.close()
    return {
        "items": items,
        "visible": len(seen),
        "agrees": sorted(naive) == sorted(i.id for i in seen),
        "cold_ms": cold * 1000,
        "warm_ms": statistics.median(warm) * 1000,
        "naive_ms": baseline * 1000,
    }


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(row[key] for row in rows))


def measure(runs: int, threads: int, attempts: int, items: int, repeat: int) -> dict[str, Any]:
    sim = [simultaneous(runs, threads) for _ in range(repeat)]
    base = [direct(runs, threads) for _ in range(repeat)]
    race = [contention(attempts) for _ in range(repeat)]
    lists = [listing(items) for _ in range(repeat)]
    catalog_s = _median(sim, "seconds")
    direct_s = _median(base, "seconds")
    report: dict[str, Any] = {
        "simultaneous": {
            "runs": runs,
            "threads": threads,
            "seconds": catalog_s,
            "runs_per_s": runs / catalog_s,
            "exactly_once_every_time": all(r["exactly_once"] for r in sim),
            "direct_runtime_seconds": direct_s,
            "catalog_overhead_ratio": catalog_s / direct_s,
        },
        "contention": {
            "attempts": attempts,
            "quota": 3,
            "admitted": [r["admitted"] for r in race],
            "exact_every_time": all(r["exact"] for r in race),
        },
        "listing": {
            "items": lists[0]["items"],
            "visible_to_tom": lists[0]["visible"],
            "agrees_with_naive": all(r["agrees"] for r in lists),
            "cold_ms": _median(lists, "cold_ms"),
            "warm_ms": _median(lists, "warm_ms"),
            "naive_ms": _median(lists, "naive_ms"),
        },
    }
    report["goals"] = [
        {
            "goal": f"{GOAL_RUNS} simultaneous runs complete exactly once",
            "met": runs >= GOAL_RUNS and report["simultaneous"]["exactly_once_every_time"],
        },
        {"goal": "a quota of 3 is never exceeded", "met": report["contention"]["exact_every_time"]},
        {
            "goal": f"listing 500 items for a person < {GOAL_LIST_MS:.0f} ms (warm)",
            "met": report["listing"]["warm_ms"] < GOAL_LIST_MS,
        },
    ]
    return report


def render(report: dict[str, Any]) -> str:
    sim, race, lists = report["simultaneous"], report["contention"], report["listing"]
    lines = [
        f"simultaneous runs: {sim['runs']} from {sim['threads']} threads in "
        f"{sim['seconds']:.2f} s ({sim['runs_per_s']:.0f}/s), exactly once: "
        f"{sim['exactly_once_every_time']}; direct runtime {sim['direct_runtime_seconds']:.2f} s "
        f"(catalog overhead x{sim['catalog_overhead_ratio']:.2f})",
        f"quota of 3 under {race['attempts']} simultaneous attempts: admitted {race['admitted']}",
        f"listing {lists['items']} items for tom ({lists['visible_to_tom']} visible): cold "
        f"{lists['cold_ms']:.1f} ms, warm {lists['warm_ms']:.3f} ms, naive audited "
        f"{lists['naive_ms']:.1f} ms (x{lists['naive_ms'] / max(lists['warm_ms'], 1e-6):.0f})",
        "goals:",
    ]
    for goal in report["goals"]:
        lines.append(f"  {goal['goal']:<52} {'met' if goal['met'] else 'NOT met'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.selfservice", description=__doc__)
    parser.add_argument("--runs", type=int, default=1_000, help="simultaneous catalog runs")
    parser.add_argument("--threads", type=int, default=50, help="threads submitting them")
    parser.add_argument("--attempts", type=int, default=50, help="racing quota attempts")
    parser.add_argument("--items", type=int, default=500, help="catalog items to list")
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase (median)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    report = measure(args.runs, args.threads, args.attempts, args.items, args.repeat)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if all(goal["met"] for goal in report["goals"]) else 1


if __name__ == "__main__":
    sys.exit(main())

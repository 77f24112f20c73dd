"""Runtime speed: many executions at once, and how soon an execution's first step starts.

Run with ``python -m benchmarks.runtime`` (``--json`` prints the figures only).  Every
run uses a fresh temporary folder with the embedded defaults (static directory, embedded
directory and device manager, SQLite execution store, signed audit log) and the shipped
``software-install`` workflow: install 7zip on a device, then tell the requester; one
device per execution, so no two act on the same target.  A few executions run before
each measurement starts, so that it times a gateway that is warm.

* **Concurrent executions**: N executions (default 1,000) started and advanced from T
  threads (default 16): wall time, executions per second and the growth of the peak
  resident set (``VmHWM``, reset through ``/proc/self/clear_refs`` before the run; where
  that is not possible, the growth of ``ru_maxrss``).  Every execution must succeed with
  exactly one ``action.succeeded`` audit record per step and the audit chain must verify;
  the run exits non-zero otherwise.  Naive baseline: the same executions one at a time,
  each started and advanced before the next, on one thread.
* **Event to first step**: M executions (default 500) started at a steady rate (default
  25 a second) and handed to the executor's background ``submit``; the latency from
  ``start()`` returning to the first step's ``started_at`` (stored when the step is claimed,
  after its decision), p50 and p99.

Each figure is the median over R runs (default 3); the memory goal is judged on the
largest growth of any run (the first, in a fresh process, is usually the largest).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.app import Gateway, open_runtime
from gateway.audit.checkpoints import verify_log_file
from gateway.audit.keys import load_public_key
from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.config import load_config
from gateway.errors import VerificationError
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution, ExecutionState

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = "software-install"
STEPS = ("install", "tell-requester")
ACTOR = "elena"
WARM_UP_EXECUTIONS = 5
GOAL_RSS_MB = 200.0
GOAL_FIRST_STEP_P99_MS = 100.0
PATIENCE_SECONDS = 300.0  # background executions not finished by then are stuck: exit 1


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


# -- the gateway under test -------------------------------------------------------------------


@contextmanager
def embedded_runtime() -> Iterator[tuple[Executor, Path]]:
    """A gateway on the embedded defaults in a fresh folder; its executor and the folder."""
    with tempfile.TemporaryDirectory(prefix="runtime-bench-") as name:
        folder = Path(name)
        config_path = folder / "gateway.toml"
        config_path.write_text(
            f"[policy]\ndir = {json.dumps(str(REPO / 'policies'))}\n"
            f"[runtime]\nworkflows = {json.dumps(str(REPO / 'automations' / 'workflows'))}\n",
            encoding="utf-8",
        )
        config = load_config(config_path)
        gateway = Gateway.from_config(config)
        executor = open_runtime(config, gateway)
        try:
            yield executor, folder
        finally:
            executor.close()
            executor.store.close()
            gateway.close()


def _parameters(number: int) -> dict[str, str]:
    return {"title": "7zip", "device": f"bench-pc-{number:05d}"}


def warm_up(executor: Executor) -> list[Execution]:
    """A few executions before the clock starts (policies compiled, files open)."""
    return [
        executor.advance(
            executor.start(WORKFLOW, {"title": "7zip", "device": f"warm-{n}"}, actor=ACTOR).id
        )
        for n in range(WARM_UP_EXECUTIONS)
    ]


def check_exactly_once(folder: Path, executions: list[Execution]) -> str | None:
    """Why the run is not exactly once (or its audit log does not verify); None if it is."""
    states = Counter(execution.state for execution in executions)
    if states != {ExecutionState.SUCCEEDED: len(executions)}:
        return f"states {dict(states)}"
    log = folder / "var" / "audit.log"
    records = [parse_record(line, index) for index, line in enumerate(read_lines(log))]
    succeeded = Counter(
        (str(r.payload.get("execution")), str(r.payload.get("step")))
        for r in records
        if r.type == "action.succeeded"
    )
    expected = {(execution.id, step) for execution in executions for step in STEPS}
    if set(succeeded) != expected or set(succeeded.values()) != {1}:
        repeated = sum(1 for count in succeeded.values() if count > 1)
        missing = len(expected - set(succeeded))
        return f"{missing} steps without and {repeated} with more than one action.succeeded"
    public_key = load_public_key(folder / "keys" / "audit-signing.pub")
    try:
        verify_log_file(log, public_key)
    except VerificationError as exc:
        return f"the audit log does not verify: {exc}"
    return None


# -- peak memory --------------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def _max_rss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def peak_meter() -> Callable[[], float]:
    """Start measuring; the returned function gives the peak's growth since, in MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")  # peak := current
    except OSError:
        before = _max_rss_kb()
        return lambda: (_max_rss_kb() - before) / 1024
    rss = _status_kb("VmRSS") or 0
    return lambda: ((_status_kb("VmHWM") or rss) - rss) / 1024


# -- the measurements ---------------------------------------------------------------------------


def bench_concurrent(count: int, threads: int) -> dict[str, Any]:
    with embedded_runtime() as (executor, folder):

        def run(number: int) -> Execution:
            started = executor.start(WORKFLOW, _parameters(number), actor=ACTOR)
            return executor.advance(started.id)

        warm = warm_up(executor)
        growth = peak_meter()
        begin = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            finished = list(pool.map(run, range(count)))
        elapsed = time.perf_counter() - begin
        peak_mb = growth()
        problem = check_exactly_once(folder, warm + finished)
    return {
        "wall_s": elapsed,
        "per_second": count / elapsed,
        "peak_rss_growth_mb": peak_mb,
        "exactly_once": problem is None,
        "problem": problem,
    }


def bench_one_at_a_time(count: int) -> dict[str, Any]:
    with embedded_runtime() as (executor, folder):
        warm = warm_up(executor)
        begin = time.perf_counter()
        finished = [
            executor.advance(executor.start(WORKFLOW, _parameters(n), actor=ACTOR).id)
            for n in range(count)
        ]
        elapsed = time.perf_counter() - begin
        problem = check_exactly_once(folder, warm + finished)
    return {
        "wall_s": elapsed,
        "per_second": count / elapsed,
        "exactly_once": problem is None,
        "problem": problem,
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def bench_first_step(count: int, rate: float) -> dict[str, Any]:
    with embedded_runtime() as (executor, _folder):
        warm_up(executor)
        returned: dict[str, datetime] = {}
        begin = time.perf_counter()
        for number in range(count):
            delay = begin + number / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            started = executor.start(WORKFLOW, _parameters(number), actor=ACTOR)
            returned[started.id] = datetime.now(UTC)
            executor.submit(started.id)
        deadline = time.monotonic() + PATIENCE_SECONDS
        executions = [executor.get(execution_id) for execution_id in returned]
        while not all(e.state.finished for e in executions) and time.monotonic() < deadline:
            time.sleep(0.1)
            executions = [executor.get(execution_id) for execution_id in returned]
        stuck = sum(1 for e in executions if not e.state.finished)
        if stuck:  # their threads cannot be joined: report and leave
            progress(f"{stuck} executions did not finish within {PATIENCE_SECONDS:g} s")
            os._exit(1)
        latencies = sorted(
            (first.started_at - returned[e.id]).total_seconds() * 1e3
            for e in executions
            if (first := e.steps[0]).started_at is not None
        )
    return {
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": latencies[-1],
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def run(args: argparse.Namespace) -> dict[str, Any]:
    concurrent: list[dict[str, Any]] = []
    naive: list[dict[str, Any]] = []
    first: list[dict[str, Any]] = []
    for number in range(1, args.runs + 1):
        progress(
            f"run {number}/{args.runs}: {args.executions:,} executions, {args.threads} threads"
        )
        concurrent.append(bench_concurrent(args.executions, args.threads))
        progress(f"run {number}/{args.runs}: the same one at a time")
        naive.append(bench_one_at_a_time(args.executions))
        progress(f"run {number}/{args.runs}: {args.latency_executions} at {args.rate:g}/s")
        first.append(bench_first_step(args.latency_executions, args.rate))
    summary = {
        "concurrent": {
            "executions": args.executions,
            "threads": args.threads,
            "wall_s": _median(concurrent, "wall_s"),
            "per_second": _median(concurrent, "per_second"),
            "peak_rss_growth_mb": _median(concurrent, "peak_rss_growth_mb"),
            "peak_rss_growth_mb_max": max(r["peak_rss_growth_mb"] for r in concurrent),
            "exactly_once": all(r["exactly_once"] for r in concurrent),
        },
        "one_at_a_time": {
            "wall_s": _median(naive, "wall_s"),
            "per_second": _median(naive, "per_second"),
            "exactly_once": all(r["exactly_once"] for r in naive),
        },
        "first_step": {
            "executions": args.latency_executions,
            "rate_per_second": args.rate,
            "p50_ms": _median(first, "p50_ms"),
            "p99_ms": _median(first, "p99_ms"),
        },
    }
    summary["speedup"] = (
        summary["concurrent"]["per_second"] / summary["one_at_a_time"]["per_second"]
    )
    return {
        "machine": f"{platform.platform()}, CPython {platform.python_version()}",
        "runs": args.runs,
        "median": summary,
        "each_run": {"concurrent": concurrent, "one_at_a_time": naive, "first_step": first},
        "goals": {
            "peak_rss_growth_mb_below_200": summary["concurrent"]["peak_rss_growth_mb_max"]
            < GOAL_RSS_MB,
            "first_step_p99_ms_at_most_100": summary["first_step"]["p99_ms"]
            <= GOAL_FIRST_STEP_P99_MS,
        },
    }


def render(report: dict[str, Any]) -> str:
    median = report["median"]
    concurrent, naive, first = median["concurrent"], median["one_at_a_time"], median["first_step"]
    goals = report["goals"]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    once = "yes" if concurrent["exactly_once"] and naive["exactly_once"] else "NO"
    together = f"{concurrent['executions']:,} at once, {concurrent['threads']} threads"
    return "\n".join(
        [
            f"Runtime benchmark (embedded defaults, median of {report['runs']} runs)",
            f"machine: {report['machine']}",
            "",
            f"{together:<32} {concurrent['wall_s']:6.1f} s {concurrent['per_second']:7.1f} "
            f"executions/s   peak RSS +{concurrent['peak_rss_growth_mb']:.1f} MB (largest run "
            f"+{concurrent['peak_rss_growth_mb_max']:.1f} MB), goal < 200 MB "
            f"{met(goals['peak_rss_growth_mb_below_200'])}",
            f"{'naive: one at a time':<32} {naive['wall_s']:6.1f} s {naive['per_second']:7.1f} "
            f"executions/s   at once / naive {median['speedup']:.2f}x",
            f"each succeeded, one action.succeeded per step, audit log verifies: {once}",
            "",
            f"event to first step started, {first['executions']} at "
            f"{first['rate_per_second']:g}/s with background submit: p50 {first['p50_ms']:.1f} ms,"
            f" p99 {first['p99_ms']:.1f} ms, goal p99 <= 100 ms "
            f"{met(goals['first_step_p99_ms_at_most_100'])}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.runtime",
        description="Concurrent executions and first-step latency of the guarded runtime.",
    )
    parser.add_argument("--executions", type=int, default=1_000, help="concurrent executions")
    parser.add_argument("--threads", type=int, default=16, help="threads starting them")
    parser.add_argument(
        "--latency-executions", type=int, default=500, help="executions for the latency run"
    )
    parser.add_argument("--rate", type=float, default=25.0, help="executions started per second")
    parser.add_argument("--runs", type=int, default=3, help="runs; figures are their medians")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    for name in ("executions", "threads", "latency_executions", "runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.rate <= 0:
        parser.error("--rate must be positive")
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    median = report["median"]
    exactly_once = median["concurrent"]["exactly_once"] and median["one_at_a_time"]["exactly_once"]
    if not exactly_once:
        for name in ("concurrent", "one_at_a_time"):
            for each in report["each_run"][name]:
                if each["problem"] is not None:
                    progress(f"NOT EXACTLY ONCE ({name}): {each['problem']}")
    return 0 if exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())

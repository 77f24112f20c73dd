"""Monitoring checks answered by a real Prometheus on loopback.

Run with ``python -m benchmarks.monitoring [--json]``.  Needs Debian's ``prometheus``
(``apt-get install prometheus``); the server and its exporter are the ones the integration
tests start (``tests/integration/prometheus.py``).

* ``host_up`` check: one ``monitoring`` check through the ``DiagnosticRunner`` (its time
  box and thread pool included), an instant query ``POST /api/v1/query`` over a pooled
  connection.  Goal: p50 at most 20 ms.
* ``alerts`` check: the same through ``GET /api/v1/alerts``.
* Baseline: the same instant query with a new connection per call (what a check that
  opened its own client each time would cost).

p50 and p95 of 300 checks after 10 warm-up checks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import httpx

from gateway.troubleshooting.diagnostics import DiagnosticRunner, default_checks
from gateway.troubleshooting.prometheus import PrometheusMonitoring
from gateway.troubleshooting.prometheus_settings import PrometheusSettings
from tests.integration.prometheus import INSTALL_HINT, missing, running_prometheus

GOAL_P50_MS = 20.0
CHECKS = 300


def _percentiles(run: Callable[[], object]) -> dict[str, float]:
    for _ in range(10):
        run()
    times = []
    for _ in range(CHECKS):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(times, n=20)
    return {"p50": statistics.median(times), "p95": cuts[18]}


def measure(root: Path) -> dict[str, dict[str, float]]:
    with contextmanager(running_prometheus)(root) as server:
        source = PrometheusMonitoring(PrometheusSettings(url=server.url))
        runner = DiagnosticRunner(default_checks(monitoring=source), closers=[source.close])

        def check(query: str) -> Callable[[], object]:
            def run() -> None:
                result = runner.run("monitoring", {"query": query}, actor="bench")
                if result.status != "ok":
                    raise RuntimeError(f"{query}: {result.status}: {result.detail}")

            return run

        def naive() -> None:
            form = {"query": 'up{instance=~"printer\\\\-3f(:[0-9]+)?"}'}
            with httpx.Client(base_url=server.url, timeout=2) as client:
                client.post("/api/v1/query", data=form).raise_for_status()

        try:
            return {
                "host_up": _percentiles(check("host_up:printer-3f")),
                "alerts": _percentiles(check("alerts:printer-3f")),
                "naive_new_connection": _percentiles(naive),
            }
        finally:
            runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if missing() is not None:
        print(f"skipped: {INSTALL_HINT}")
        return
    with tempfile.TemporaryDirectory() as folder:
        results = measure(Path(folder))
    if args.json:
        print(json.dumps({"goal_p50_ms": GOAL_P50_MS, "results_ms": results}, indent=2))
        return
    for name, figures in results.items():
        line = f"{name:<22} p50 {figures['p50']:7.2f} ms  p95 {figures['p95']:7.2f} ms"
        if name == "naive_new_connection":
            line += f"  (baseline: {figures['p50'] / results['host_up']['p50']:.0f}x slower)"
        else:
            verdict = "met" if figures["p50"] <= GOAL_P50_MS else "MISSED"
            line += f"  (goal p50 <= {GOAL_P50_MS:g} ms: {verdict})"
        print(line)


if __name__ == "__main__":
    main()

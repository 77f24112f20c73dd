"""A throwaway Prometheus server (Debian's ``prometheus``) scraping a tiny exporter.

``Exporter`` is a local HTTP server speaking the text exposition format (Prometheus,
"Exposition formats": ``# TYPE`` lines and ``name{label="value"} number``).  Each of its
paths is one scrape target: ``/printer-3f`` and ``/mail``; a target that is switched off
answers 503, so Prometheus records ``up == 0`` for it, as for a host that is down.

``PrometheusServer`` writes a minimal ``prometheus.yml`` in a temporary directory (a 1 s
scrape and evaluation interval, one job per target with its ``instance`` label set to the
target's name, one alerting rule ``TargetDown: up == 0``, no Alertmanager, no remote
write, so it never reaches the network), starts ``prometheus`` on a free loopback port and
waits until both targets are scraped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.integration.quiet_http import QuietHandler, QuietServer
from tests.integration.slapd import free_port

PROMETHEUS = Path("/usr/bin/prometheus")
INSTALL_HINT = "install Prometheus: apt-get install prometheus"
TARGETS = ("printer-3f", "mail")


def missing() -> str | None:
    """The missing binary, or ``None`` when the server can run here."""
    return None if PROMETHEUS.exists() else str(PROMETHEUS)


class Exporter:
    """Serves one small page of gauges per target; ``down`` targets answer 503."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        exporter = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/")
                if name not in TARGETS or name in exporter.down:
                    self.send_response(503 if name in TARGETS else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = (
                    "# HELP device_temperature_celsius The device's temperature.\n"
                    "# TYPE device_temperature_celsius gauge\n"
                    f'device_temperature_celsius{{device="{name}"}} 41.5\n'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _config(exporter_port: int, rules: Path) -> str:
    jobs = "".join(
        f"""  - job_name: {name}
    metrics_path: /{name}
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
        labels: {{instance: {name}}}
"""
        for name in TARGETS
    )
    return f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["{rules}"]
scrape_configs:
{jobs}"""


RULES = """groups:
  - name: targets
    rules:
      - alert: TargetDown
        expr: up == 0
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.instance }} does not answer"}
"""


@dataclass
class PrometheusServer:
    root: Path
    exporter: Exporter
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        rules = self.root / "rules.yml"
        rules.write_text(RULES, encoding="utf-8")
        config = self.root / "prometheus.yml"
        config.write_text(_config(self.exporter.port, rules), encoding="utf-8")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.root,
            env={"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(self.root)},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: {error}")
            if self.scraped():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus did not scrape its targets within {timeout} s")

    def instant(self, promql: str) -> list[dict[str, object]]:
        """The samples of an instant query (the test's own view, not the gateway's)."""
        try:
            answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=2)
            result: list[dict[str, object]] = answer.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError):
            return []
        return result

    def scraped(self) -> bool:
        return len(self.instant("up")) == len(TARGETS)

    def wait_for(self, promql: str, timeout: float = 15.0) -> None:
        """Wait until ``promql`` has a sample (a flip has been scraped and evaluated)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.instant(promql):
                return
            time.sleep(0.2)
        raise AssertionError(f"{promql} found nothing within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None


def running_prometheus(root: Path) -> Iterator[PrometheusServer]:
    """Start the exporter and the server, yield, and finally stop both."""
    exporter = Exporter()
    server = PrometheusServer(root, exporter)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        exporter.close()
        shutil.rmtree(root, ignore_errors=True)

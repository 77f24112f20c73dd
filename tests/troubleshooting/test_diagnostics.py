"""The shipped checks against real local servers, and the runner's time box."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import TargetUnavailableError
from gateway.troubleshooting.diagnostics import (
    CheckReport,
    DiagnosticRunner,
    StaticAssets,
    StaticMonitoring,
    default_checks,
    http_check,
    ping_check,
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204 if self.path == "/generate_204" else 200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def http_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(check: str, **params: Any) -> Any:
    runner = DiagnosticRunner(default_checks(), timeout_seconds=3)
    try:
        return runner.run(check, params, actor="elena")
    finally:
        runner.close()


def test_tcp_reports_an_open_and_a_closed_port(http_port: int, closed_port: int) -> None:
    opened = run("tcp", host="127.0.0.1", port=http_port)
    assert opened.status == "ok"
    assert opened.data["latency_ms"] is not None
    closed = run("tcp", host="127.0.0.1", port=closed_port)
    assert closed.status == "failed"
    assert closed.detail == f"127.0.0.1:{closed_port} refused or unreachable"
    assert run("tcp", host="no-such-host.invalid", port=80).detail == (
        "no-such-host.invalid does not resolve"
    )


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"host": "127.0.0.1", "port": "http"}, "port must be a number from 1 to 65535"),
        ({"host": "127.0.0.1", "port": 70000}, "port must be a number from 1 to 65535"),
        ({"host": "", "port": 80}, "host must be a non-empty string"),
    ],
    ids=["a port that is no number", "a port out of range", "an empty host"],
)
def test_bad_parameters_make_the_check_fail_with_an_error(
    params: dict[str, Any], detail: str
) -> None:
    result = run("tcp", **params)
    assert result.status == "error"
    assert result.detail == f"tcp failed: ValueError: {detail}"


def test_http_compares_the_status_with_the_expected_one(http_port: int, closed_port: int) -> None:
    base = f"http://127.0.0.1:{http_port}"
    assert run("http", url=f"{base}/").status == "ok"
    assert run("http", url=f"{base}/generate_204", expect_status=204).data["status_code"] == 204
    assert run("http", url=f"{base}/generate_204").status == "failed"
    down = run("http", url=f"http://127.0.0.1:{closed_port}/")
    assert down.status == "failed"
    assert down.detail.endswith("failed: ConnectError")
    assert run("http", url="ftp://example.com").status == "error"


def test_dns_resolves_localhost_and_not_an_invalid_name() -> None:
    found = run("dns", name="localhost")
    assert found.status == "ok"
    assert found.data["addresses"]
    assert run("dns", name="no-such-host.invalid").data == {"addresses": []}


def test_ping_reaches_the_loopback_address_without_a_shell() -> None:
    assert run("ping", host="127.0.0.1").status in ("ok", "failed")  # containers may drop ICMP
    assert run("ping", host="-c9").status == "error"


def test_monitoring_and_assets_answer_from_their_embedded_tables() -> None:
    assert run("monitoring", query="host_up:printer-3f").data == {"value": "down"}
    assert run("monitoring", query="nothing").detail == "no monitoring data for nothing"
    assert run("asset", key="printer-3f").data["asset"]["location"] == "3rd floor"
    assert run("asset", key="ghost").data == {"found": False, "asset": {}}
    checks = default_checks(StaticMonitoring({"q": (True, "up")}), StaticAssets({}))
    runner = DiagnosticRunner(checks)
    assert runner.run("monitoring", {"query": "q"}, actor="elena").status == "ok"
    runner.close()


def test_the_runner_reports_unavailable_systems_refusals_and_missing_checks() -> None:
    def down(params: Any, timeout: float) -> CheckReport:
        raise TargetUnavailableError("monitoring", "no route")

    refusals: list[tuple[str, str]] = []

    def permit(actor: str, target: str) -> str | None:
        refusals.append((actor, target))
        return "not a technician"

    runner = DiagnosticRunner({"monitoring": down, "tcp": down}, permit=permit)
    assert runner.run("monitoring", {}, actor="tom").detail == "monitoring is unavailable: no route"
    refused = runner.run("tcp", {"host": "printer-3f"}, actor="tom")
    assert (refused.status, refused.detail) == ("refused", "tcp refused: not a technician")
    assert refusals == [("tom", "printer-3f")]
    assert runner.run("dns", {}, actor="tom").detail == "no dns check is configured"
    runner.close()
    offline = DiagnosticRunner({}, offline=True)
    assert offline.run("dns", {}, actor="tom").status == "unavailable"
    offline.close()


FAKE_PING = """#!/bin/sh
for last; do :; done
case "$last" in
  up.example) exit 0 ;;
  slow.example) sleep 5 ;;
  *) exit 1 ;;
esac
"""


def test_ping_runs_the_ping_binary_with_an_argument_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "ping"
    binary.write_text(FAKE_PING, encoding="utf-8")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    runner = DiagnosticRunner(default_checks(), timeout_seconds=3)
    try:
        assert runner.run("ping", {"host": "up.example"}, actor="elena").status == "ok"
        down = runner.run("ping", {"host": "down.example; rm -rf /"}, actor="elena")
        assert (down.status, down.detail) == ("failed", "down.example; rm -rf / did not answer")
    finally:
        runner.close()
    slow = ping_check({"host": "slow.example"}, 0.2)  # the binary's own time box
    assert (slow.ok, slow.detail) == (False, "slow.example did not answer")


def test_http_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        result = http_check({"url": f"http://127.0.0.1:{port}/"}, 0.3)
    assert (result.ok, result.detail) == (False, f"http://127.0.0.1:{port}/ timed out")


def test_a_permitted_check_runs() -> None:
    runner = DiagnosticRunner(default_checks(), permit=lambda actor, target: None)
    assert runner.run("dns", {"name": "localhost"}, actor="elena").status == "ok"
    runner.close()

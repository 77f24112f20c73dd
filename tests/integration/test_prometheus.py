"""The ``monitoring`` check against a real Prometheus scraping a local exporter."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import Gateway, open_troubleshooting
from gateway.config import load_config
from gateway.troubleshooting.diagnostics import DiagnosticRunner, default_checks
from gateway.troubleshooting.prometheus import PrometheusMonitoring
from gateway.troubleshooting.prometheus_settings import DEFAULT_QUERIES, PrometheusSettings
from tests.integration.prometheus import PrometheusServer
from tests.integration.slapd import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(prometheus_server: PrometheusServer) -> Iterator[DiagnosticRunner]:
    settings = PrometheusSettings(
        url=prometheus_server.url,
        timeout_seconds=0.5,  # sent to Prometheus as its own timeout too
        queries={**DEFAULT_QUERIES, "broken": "up{instance=$target"},
    )
    source = PrometheusMonitoring(settings)
    runner = DiagnosticRunner(default_checks(monitoring=source), closers=[source.close])
    yield runner
    runner.close()


@pytest.fixture
def printer_down(prometheus_server: PrometheusServer) -> Iterator[None]:
    prometheus_server.exporter.down.add("printer-3f")
    try:
        prometheus_server.wait_for('ALERTS{alertname="TargetDown",alertstate="firing"}')
        yield
    finally:
        prometheus_server.exporter.down.discard("printer-3f")
        prometheus_server.wait_for('up{instance="printer-3f"} == 1')


def check(runner: DiagnosticRunner, query: str) -> tuple[str, str]:
    result = runner.run("monitoring", {"query": query}, actor="elena")
    return result.status, result.detail


def test_a_scraped_host_and_service_are_up(runner: DiagnosticRunner) -> None:
    assert check(runner, "host_up:printer-3f") == ("ok", "host_up:printer-3f is up")
    assert check(runner, "service:mail") == ("ok", "service:mail is up")
    assert check(runner, "alerts:printer-3f") == ("ok", "alerts:printer-3f is clear")


@pytest.mark.usefixtures("printer_down")
def test_a_host_that_stops_answering_is_down_and_its_alert_fires(runner: DiagnosticRunner) -> None:
    assert check(runner, "host_up:printer-3f") == ("failed", "host_up:printer-3f is down")
    assert check(runner, "alerts:printer-3f") == (
        "failed", "alerts:printer-3f is firing: TargetDown"
    )  # fmt: skip
    assert check(runner, "service:mail") == ("ok", "service:mail is up")


def test_a_host_prometheus_does_not_know_is_unknown(runner: DiagnosticRunner) -> None:
    status, detail = check(runner, "host_up:printer-9")
    assert status == "unavailable"
    assert 'no data for host_up:printer-9: up{instance=~"printer\\\\-9(:[0-9]+)?"}' in detail


def test_a_query_prometheus_cannot_parse_is_an_error_with_its_reason(
    runner: DiagnosticRunner,
) -> None:
    status, detail = check(runner, "broken:printer-3f")
    assert status == "error"
    assert "prometheus refused broken:printer-3f: bad_data:" in detail


def test_a_stopped_prometheus_makes_the_check_unavailable() -> None:
    settings = PrometheusSettings(url=f"http://127.0.0.1:{free_port()}", max_retries=0)
    source = PrometheusMonitoring(settings)
    runner = DiagnosticRunner(default_checks(monitoring=source), closers=[source.close])
    try:
        status, detail = check(runner, "host_up:printer-3f")
    finally:
        runner.close()
    assert status == "unavailable"
    assert "cannot be reached (ConnectError)" in detail


def test_the_configured_engine_asks_prometheus_instead_of_the_status_file(
    prometheus_server: PrometheusServer, tmp_path: Path
) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "gateway.toml").write_text(
        f'[troubleshooting.prometheus]\nurl = "{prometheus_server.url}"\n', encoding="utf-8"
    )
    config = load_config(tmp_path / "gateway.toml")
    gateway = Gateway.from_config(config)
    engine = open_troubleshooting(config, gateway, None)
    try:
        # the embedded status file says printer-3f is down; Prometheus says it is up
        result = engine.runner.run("monitoring", {"query": "host_up:printer-3f"}, actor="elena")
    finally:
        engine.close()
        gateway.close()
    assert (result.status, result.data["value"]) == ("ok", "up")

"""The monitoring scenario of ``gateway demo``: an alert starts a workflow once."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import Gateway, open_runtime
from gateway.cli.demo_alerts import run_alerts_scenario
from tests.tickets.conftest import write_config


def test_the_demo_alert_starts_the_notify_workflow_once_and_records_its_resolution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, '[tickets.alertmanager]\nactor = "svc-gateway"\n')
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        run_alerts_scenario(config, gateway, executor)
        run_alerts_scenario(config, gateway, executor)  # a new alert each run
    finally:
        executor.close()
        gateway.close()
    out = capsys.readouterr().out
    assert out.count("alert firing: started: started alert-notify as svc-gateway") == 2
    assert out.count("alert sent again: duplicate: event already received") == 2
    assert out.count("alert resolved: already_handled:") == 2

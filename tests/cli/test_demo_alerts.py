"""The monitoring scenario of ``gateway demo``: an alert starts a workflow once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.cli.demo_alerts import run_alerts_scenario
from tests.cli.demo_setup import demo_config, run_scenario


def test_the_demo_alert_starts_the_notify_workflow_once_and_records_its_resolution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_config(tmp_path, monkeypatch, '[tickets.alertmanager]\nactor = "svc-gateway"\n')

    def twice(*parts: Any) -> None:  # a new alert each run
        run_alerts_scenario(*parts)
        run_alerts_scenario(*parts)

    run_scenario(twice, config)
    out = capsys.readouterr().out
    assert out.count("alert firing: started: started alert-notify as svc-gateway") == 2
    assert out.count("alert sent again: duplicate: event already received") == 2
    assert out.count("alert resolved: already_handled:") == 2

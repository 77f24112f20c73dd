"""The change request scenario of ``gateway demo``: a grant under change control is
allowed under an approved change and refused without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import Gateway, open_runtime
from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.cli.demo_changes import run_changes_scenario
from tests.tickets.conftest import write_config


def test_the_demo_grant_is_allowed_under_the_change_and_refused_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "")
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        run_changes_scenario(config, gateway, executor)
    finally:
        executor.close()
        gateway.close()
    out = capsys.readouterr().out
    assert "under CHG0030001 (ready): allow" in out
    assert (
        "without a change request: deny: forbidden by "
        "change-request-required-for-controlled-systems" in out
    )
    lines = read_lines(config.audit.log)
    decided = [parse_record(line, n) for n, line in enumerate(lines)]
    contexts = [r.payload["context"] for r in decided if r.type == "decision"]
    assert contexts[-2]["change_request"]["number"] == "CHG0030001"
    assert "change_request" not in contexts[-1]

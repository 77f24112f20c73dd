"""The change request scenario of ``gateway demo``: a grant under change control is
allowed under an approved change and refused without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.demo_changes import run_changes_scenario
from tests.cli.demo_setup import audit_records, demo_config, run_scenario


def test_the_demo_grant_is_allowed_under_the_change_and_refused_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_config(tmp_path, monkeypatch)
    run_scenario(run_changes_scenario, config)
    out = capsys.readouterr().out
    assert "under CHG0030001 (ready): allow" in out
    assert (
        "without a change request: deny: forbidden by "
        "change-request-required-for-controlled-systems" in out
    )
    contexts = [r.payload["context"] for r in audit_records(config) if r.type == "decision"]
    assert contexts[-2]["change_request"]["number"] == "CHG0030001"
    assert "change_request" not in contexts[-1]

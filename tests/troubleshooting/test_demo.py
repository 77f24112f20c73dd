"""The demo's troubleshooting scenario on embedded defaults: interrupted, resumed, fixed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.cli.demo_troubleshooting import run_troubleshooting_scenario
from gateway.config import load_config
from gateway.troubleshooting.session import SessionStatus
from tests.cli.demo_setup import run_scenario
from tests.troubleshooting.support import REPO


@pytest.mark.parametrize("with_trees", [True, False], ids=["from a checkout", "without trees"])
def test_the_session_is_interrupted_resumed_and_resolved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], with_trees: bool
) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations" / "workflows", tmp_path / "automations" / "workflows")
    if with_trees:
        shutil.copytree(SHIPPED := REPO / "automations" / "troubleshooting",
                        tmp_path / "automations" / "troubleshooting")  # fmt: skip
        assert SHIPPED.is_dir()
    (tmp_path / "gateway.toml").write_text("", encoding="utf-8")
    config = load_config(tmp_path / "gateway.toml")
    view = run_scenario(run_troubleshooting_scenario, config)
    out = capsys.readouterr().out
    if not with_trees:
        assert view is None
        assert "no network-connectivity tree" in out
        return
    assert view is not None
    assert view.session.status is SessionStatus.RESOLVED
    assert "the call drops after 5 steps" in out
    assert "Elena resumes: back at 'What happens when the device joins CORP?'" in out
    assert "account-unlock ran through the guarded runtime: execution" in out
    assert "resolved: The account tom was locked; it was unlocked through the gateway." in out

"""The chat scenario of ``gateway demo``, as printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.demo_chat import run_chat_scenario
from gateway.config import GatewayConfig
from tests.selfservice.harness import Stack, make_config


def test_a_slack_approval_a_teams_rejection_and_tom_installing_7zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config: GatewayConfig = make_config(tmp_path)
    item = config.selfservice.catalog / "install-software.yaml"
    item.write_text(item.read_text().split("  maintenance_windows:")[0])  # wall clock here
    stack = Stack(config)
    try:
        run_chat_scenario(config, stack.gateway, stack.executor)
    finally:
        stack.close()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Chat: a Slack button, a Teams card and a slash command"
    assert out[1].endswith("Slack asks Priya: Approve / Reject")
    assert out[2] == "  > Priya presses Approve: HTTP 200; the request is approved"
    assert out[3] == "  > the Slack message now says: Approved by priya"
    assert out[4].endswith("forged signature: HTTP 401, nothing changes")
    assert out[6] == "  > Priya presses Reject in Teams: the card now says: Rejected by priya"
    assert out[7].startswith("  > Tom types /it: Catalog items you may run:")
    assert "install-software" in out[7]
    assert out[8] == "  > /it install-software opens a form asking for: title, devices"
    assert out[9].startswith("  > Tom picks 7zip and tom-laptop and submits: *Install software")
    assert "device:tom-laptop:7zip" in out[9]
    assert out[10] == "  > the install goes on in the background and ends: succeeded"
    kinds = stack.audit_types()
    assert "approval.approved" in kinds
    assert "approval.rejected" in kinds
    assert "selfservice.run_admitted" in kinds

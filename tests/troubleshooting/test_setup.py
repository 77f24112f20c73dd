"""The engine as configured: trees checked against the workflows, checks decided by policy."""

from __future__ import annotations

import shutil
from pathlib import Path

from gateway.app import Gateway, diagnostics_permit, workflow_ids
from gateway.config import GatewayConfig, load_config
from tests.troubleshooting.support import REPO


def test_workflow_ids_skip_files_that_are_not_workflows(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: account-unlock\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("id: [", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("- a list\n", encoding="utf-8")
    assert workflow_ids(tmp_path) == ["account-unlock"]
    assert workflow_ids(tmp_path / "missing") == []


def test_checks_on_hosts_are_decided_by_the_policies(tmp_path: Path) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "gateway.toml").write_text("", encoding="utf-8")
    config: GatewayConfig = load_config(tmp_path / "gateway.toml")
    gateway = Gateway.from_config(config)
    try:
        permit = diagnostics_permit(gateway)
        assert permit("elena", "https://printer-3f:443/status") is None
        refused = permit("tom", "printer-3f")
        assert refused is not None
        assert refused
        long = "h" * 300
        assert permit("elena", long) == f"{long!r} is not a host name the gateway can decide on"
    finally:
        gateway.close()

"""The self-service scenario of ``gateway demo``, as printed."""

from __future__ import annotations

import pytest

from gateway.cli.demo_selfservice import run_selfservice_scenario
from gateway.config import GatewayConfig
from tests.selfservice.harness import Stack


def test_tom_installs_is_refused_for_priyas_laptop_and_meets_his_quota(
    config: GatewayConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    item = config.selfservice.catalog / "install-software.yaml"
    item.write_text(item.read_text().split("  maintenance_windows:")[0])  # wall clock here
    stack = Stack(config)
    try:
        run_selfservice_scenario(config, stack.gateway, stack.executor)
    finally:
        stack.close()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Self-service: Tom installs software from the catalog"
    assert out[1] == "  > Tom searches the catalog for 'install': install-software"
    assert out[2].startswith("  > dry run: would run; nothing executed;")
    assert out[3] == (
        "  > Tom asks for 7zip on his own laptop: SUCCEEDED (device:tom-laptop:7zip: succeeded)"
    )
    assert out[4].startswith(
        "  > Tom asks for 7zip on Priya's laptop: REFUSED (target_not_allowed): "
        "priya-laptop is not one of your devices"
    )
    assert out[7].startswith("  > Tom asks for 7zip on his laptop once more: REFUSED (quota):")
    assert out[8] == (
        "  > usage of install-software: 3 runs, 3 succeeded, 60 minutes saved, "
        "refused: quota 1, target_not_allowed 1"
    )

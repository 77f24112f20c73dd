"""Running one scenario of ``gateway demo`` as the demo does: a gateway and its runtime
built from a configuration in a temporary folder, closed afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from gateway.app import Gateway, open_runtime
from gateway.audit.log import read_lines
from gateway.audit.records import AuditRecord, parse_record
from gateway.config import GatewayConfig
from gateway.runtime.executor import Executor
from tests.tickets.conftest import write_config

Result = TypeVar("Result")
Scenario = Callable[[GatewayConfig, Gateway, Executor], Result]


def demo_config(folder: Path, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> GatewayConfig:
    """The demo's configuration (the repository's policies and workflows) in ``folder``,
    the working directory from now on."""
    monkeypatch.chdir(folder)
    return write_config(folder, extra)


def run_scenario(
    scenario: Scenario[Result],
    config: GatewayConfig,
    before: Callable[[Gateway], object] | None = None,
) -> Result:
    """``scenario`` on a gateway and runtime built from ``config`` (``before`` runs on the
    gateway first), both closed afterwards."""
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        if before is not None:
            before(gateway)
        return scenario(config, gateway, executor)
    finally:
        executor.close()
        gateway.close()


def audit_records(config: GatewayConfig) -> list[AuditRecord]:
    """The records of the audit log file ``config`` writes."""
    return [parse_record(line, n) for n, line in enumerate(read_lines(config.audit.log))]

"""A gateway, a runtime and the self-service catalog over temporary copies of the shipped
policies, workflows, catalog and sample directory; only the clock is the test's."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.app import Gateway, open_runtime, open_selfservice
from gateway.app.audit import audit_records
from gateway.audit.records import parse_record
from gateway.config import (
    EMBEDDED_DIRECTORY,
    GatewayConfig,
    IdentityConfig,
    SelfServiceConfig,
)
from gateway.runtime.executor import Executor
from gateway.selfservice.service import SelfService

REPO = Path(__file__).resolve().parents[2]
# A Wednesday noon (UTC): outside every shipped maintenance window.
WEDNESDAY_NOON = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = WEDNESDAY_NOON) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_config(root: Path) -> GatewayConfig:
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copytree(REPO / "automations" / "workflows", root / "automations" / "workflows")
    shutil.copytree(REPO / "automations" / "catalog", root / "automations" / "catalog")
    shutil.copy(EMBEDDED_DIRECTORY, root / "directory.yaml")
    config = GatewayConfig(
        identity=IdentityConfig(static_file=Path("directory.yaml")),
        selfservice=SelfServiceConfig(visibility_cache_seconds=0),
    )
    return config.resolved(root)


class Stack:
    """Gateway, executor and catalog service, closed together."""

    def __init__(self, config: GatewayConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.gateway = Gateway.from_config(config)
        self.executor: Executor = open_runtime(config, self.gateway)
        self.service: SelfService = open_selfservice(
            config, self.gateway, self.executor, clock=self.clock
        )

    def audit_lines(self) -> list[bytes]:
        """The log's lines: the file's, or the shared database's on PostgreSQL."""
        with audit_records(self.config) as reader:
            return list(reader.lines())

    def audit_types(self) -> list[str]:
        return [parse_record(line, 0).type for line in self.audit_lines()]

    def audit_records(self, kind: str) -> list[dict[str, Any]]:
        found = []
        for line in self.audit_lines():
            record = parse_record(line, 0)
            if record.type == kind:
                found.append(record.payload)
        return found

    def close(self) -> None:
        self.service.close()
        self.executor.close()
        self.gateway.close()

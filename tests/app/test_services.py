"""``open_services``: a process's parts, each built once from one configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import gateway.app.services as services_module
from gateway.app import open_services
from gateway.config import GatewayConfig, IdentityConfig, NotificationsConfig, TicketsConfig
from gateway.notify.reliable import ReliableNotifier
from gateway.storage import Backend

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    shutil.copy(REPO / "gateway" / "defaults" / "directory.yaml", tmp_path / "directory.yaml")
    config = GatewayConfig(
        identity=IdentityConfig(static_file=Path("directory.yaml")),
        notifications=NotificationsConfig(channel="file"),
        tickets=TicketsConfig(enabled=True),
    )
    return config.resolved(tmp_path)


def test_a_process_builds_one_notifier_whoever_asks_for_it(
    config: GatewayConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[ReliableNotifier] = []
    real = services_module.build_notifier

    def counting(settings: NotificationsConfig, storage: Backend | None = None) -> ReliableNotifier:
        built.append(real(settings, storage))
        return built[-1]

    monkeypatch.setattr(services_module, "build_notifier", counting)
    with open_services(config) as parts:
        assert parts.runtime is parts.runtime
        assert parts.selfservice is parts.selfservice
        assert parts.troubleshooting is parts.troubleshooting
        jobs = parts.background_jobs()
        assert parts.notifier.flush in jobs  # the beat retries the one outbox
        assert parts.tickets is parts.tickets
        assert parts.knowledge is parts.knowledge
    assert len(built) == 1


def test_approvers_asked_by_the_runtime_are_told_through_the_one_notifier(
    config: GatewayConfig,
) -> None:
    with open_services(config) as parts:
        started = parts.runtime.start(
            "access-grant", {"user": "tom", "system": "payroll", "duration_hours": 8}, actor="omar"
        )
        execution = parts.runtime.advance(started.id)
        assert execution.state == "pending_approval"
        parts.notifier.flush()
    told = [json.loads(line) for line in config.notifications.file.read_text().splitlines()]
    assert [n["kind"] for n in told] == ["approval_requested"]
    assert told[0]["title"].endswith("access.grant account:tom")


def test_a_part_made_in_one_process_is_found_by_the_next(config: GatewayConfig) -> None:
    with open_services(config) as parts:
        started = parts.runtime.start("password-reset", actor="elena", parameters={"user": "tom"})
    with open_services(config) as parts:
        assert parts.runtime.get(started.id).workflow == "password-reset"


def test_ticket_work_joins_the_beat_only_when_tickets_are_enabled(config: GatewayConfig) -> None:
    with open_services(config) as parts:
        with_tickets = len(parts.background_jobs())
    disabled = config.model_copy(update={"tickets": TicketsConfig(enabled=False)})
    with open_services(disabled) as parts:
        without = len(parts.background_jobs())
    assert with_tickets - without == 3  # write-backs and follow-ups, the outbox, polling

"""A connector's secret is read from the environment when the composition root builds the
connector: a variable that is not set is refused then, naming the setting and the variable."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.app import (
    Gateway,
    build_directory,
    build_notifier,
    open_destinations,
    open_runtime,
    open_ticket_service,
)
from gateway.config import GatewayConfig, load_config
from gateway.errors import ConfigError
from tests.connector_tables import TABLES, UNSET, ConnectorTable

REPO = Path(__file__).resolve().parents[2]


def _runtime(config: GatewayConfig) -> object:
    gateway = Gateway.from_config(config)
    try:
        return open_runtime(config, gateway)
    finally:
        gateway.close()


def _tickets(config: GatewayConfig) -> object:
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        return open_ticket_service(config, gateway, executor)
    finally:
        executor.close()
        gateway.close()


BUILDERS: dict[str, Callable[[GatewayConfig], object]] = {
    "identity": lambda config: build_directory(config.identity),
    "notifications": lambda config: build_notifier(config.notifications),
    "knowledge": lambda config: open_destinations(config.knowledge),
    "selfservice": _runtime,
    "tickets": _tickets,
}


@pytest.mark.parametrize("table", [pytest.param(t, id=t.table) for t in TABLES])
def test_an_unset_secret_variable_is_refused_when_the_connector_is_built(
    tmp_path: Path, table: ConnectorTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    path = tmp_path / "gateway.toml"
    path.write_text(table.text, encoding="utf-8")
    config = load_config(path)
    build = BUILDERS[table.table.split(".")[0]]

    with pytest.raises(ConfigError) as caught:
        build(config)

    assert str(caught.value) == (
        f"{table.table}.{table.secret}_env: environment variable {UNSET} is not set"
    )

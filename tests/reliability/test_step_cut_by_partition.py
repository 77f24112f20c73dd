"""The network to PostgreSQL is cut while an action runs, after it ran and before its
outcome was stored: the living process keeps the outcome and, once the network is back,
stores it on its own beat; the action ran once and its outcome is on record once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from gateway.runtime.actions import ActionCall
from gateway.runtime.errors import ExecutionStoreError
from gateway.runtime.model import ExecutionState, StepState
from gateway.storage import StorageSettings
from tests.postgres import PostgresServer
from tests.reliability.partition import Partition
from tests.runtime.harness import Clock, Runtime, Ticketing, install_test_workflows, make_config

pytestmark = pytest.mark.postgresql


@pytest.fixture
def partition(postgres_server: PostgresServer) -> Iterator[Partition]:
    relay = Partition(postgres_server.port)
    yield relay
    relay.close()


def test_a_step_cut_off_from_the_database_is_finished_by_its_process_once_it_is_back(
    database: str, partition: Partition, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    storage = StorageSettings(
        backend="postgresql", dsn=SecretStr(partition.dsn(database)), timeout_seconds=2
    )
    config = config.model_copy(update={"storage": storage})
    install_test_workflows(config)
    ticketing = Ticketing()
    runtime = Runtime(config, Clock(), ticketing)
    try:

        def cut_at_close(call: ActionCall) -> None:
            if call.step_id == "close":
                partition.cut()

        ticketing.during = cut_at_close
        started = runtime.executor.start("close", {"ticket": "T-1"}, actor="elena")
        with pytest.raises(ExecutionStoreError):
            runtime.executor.advance(started.id)
        partition.heal()
        assert runtime.executor.get(started.id).step("close").state is StepState.STARTED

        assert runtime.executor.recover_own() == [started.id]  # on its own beat
        runtime.executor.tick()

        done = runtime.executor.get(started.id)
        assert done.state is ExecutionState.SUCCEEDED
        assert ticketing.calls == ["assign T-1 by elena", "close T-1 by elena"]
        succeeded = [r for r in runtime.trail(started.id) if r.type == "action.succeeded"]
        assert [r.payload["step"] for r in succeeded] == ["assign", "close"]
        assert runtime.types(started.id)[-1] == "execution.finished"
    finally:
        runtime.close()

"""After a crash: a step left ``started`` by a process that is gone is run again when that
is safe, and otherwise marked ``unknown`` and its execution rolled back."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.harness import Runtime

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


def gone_process() -> str:
    """``host:pid`` of a process that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def take_step(runtime: Runtime, execution_id: str, step_id: str, owner: str | None) -> None:
    """Mark the step started by ``owner``, as a process does just before it acts."""
    with runtime.executor.store.transaction() as tx:
        assert tx.claim_step(
            execution_id,
            step_id,
            runtime.clock(),
            owner or "",
            decision_id=None,
            digest=None,
            parameters={"ticket": "T-1"},
        )
        if owner is None:
            tx.update_step(execution_id, step_id, owner=None)


@pytest.mark.parametrize(
    "known",
    [
        pytest.param(True, id="a step of a process that is gone is run again"),
        pytest.param(False, id="a step of no known process is run again"),
    ],
)
def test_an_interrupted_idempotent_step_is_run_again(runtime: Runtime, known: bool) -> None:
    started = runtime.executor.start("comment", {"ticket": "T-1"}, actor="elena")
    take_step(runtime, started.id, "comment", gone_process() if known else None)
    assert runtime.executor.advance(started.id).state is ExecutionState.QUEUED, "not yet"

    assert runtime.executor.tick() == 1

    done = runtime.executor.get(started.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["comment T-1 by elena"]
    resumed = [r for r in runtime.trail(started.id) if r.type == "action.resumed"]
    assert resumed[0].payload["why"] == "interrupted; idempotent, run again"


def test_an_interrupted_step_that_cannot_be_repeated_is_unknown_and_rolled_back(
    runtime: Runtime,
) -> None:
    runtime.ticketing.down = 1
    waiting = runtime.run("close", "elena", ticket="T-1")
    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    take_step(runtime, waiting.id, "close", gone_process())

    assert runtime.executor.recover() == [waiting.id]

    done = runtime.executor.get(waiting.id)
    assert done.state is ExecutionState.COMPENSATED
    assert done.error == "step close was interrupted and its outcome is unknown"
    assert done.step("close").state is StepState.UNKNOWN
    assert done.step("assign").state is StepState.COMPENSATED
    assert runtime.ticketing.calls == [
        "assign T-1 by elena",
        "close T-1 by elena",
        "unassign T-1 by svc-gateway",
    ]
    assert runtime.types(waiting.id)[-4:] == [
        "action.failed",
        "compensation.started",
        "compensation.succeeded",
        "execution.finished",
    ]


@pytest.mark.parametrize(
    "owner",
    [
        pytest.param(
            f"{socket.gethostname()}:{os.getppid()}", id="a step of a live process of this host"
        ),
        pytest.param("build-server-7:1234", id="a step of a process on another machine"),
        pytest.param(f"{socket.gethostname()}:unknown", id="a step whose owner names no pid"),
    ],
)
def test_a_step_that_may_still_be_running_elsewhere_is_left_alone(
    runtime: Runtime, owner: str
) -> None:
    started = runtime.executor.start("comment", {"ticket": "T-1"}, actor="elena")
    take_step(runtime, started.id, "comment", owner)

    assert runtime.executor.recover() == []
    assert runtime.executor.advance(started.id).step("comment").state is StepState.STARTED
    assert runtime.ticketing.calls == []


def test_an_execution_whose_record_makes_no_sense_is_not_run(runtime: Runtime) -> None:
    started = runtime.executor.start("comment", {"ticket": "T-1"}, actor="elena")
    with runtime.executor.store.transaction() as tx:
        tx.update_step(started.id, "comment", state=StepState.UNKNOWN)

    with pytest.raises(RuntimeError, match=r"step comment is unknown$"):
        runtime.executor.advance(started.id)
    assert runtime.ticketing.calls == []


def test_a_step_change_to_a_column_the_store_does_not_have_is_a_bug(runtime: Runtime) -> None:
    started = runtime.executor.start("comment", {"ticket": "T-9"}, actor="elena")

    with (
        pytest.raises(RuntimeError, match="steps has no column 'colour'"),
        runtime.executor.store.transaction() as tx,
    ):
        tx.update_step(started.id, "comment", colour="red")

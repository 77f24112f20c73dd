"""Outside failures: a system that is down, an action that hangs, an audit log that fails."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.audit.records import AuditEvent, format_time
from gateway.config import GatewayConfig
from gateway.errors import AuditWriteError
from gateway.runtime.executor import RuntimeSettings
from gateway.runtime.model import ExecutionState, StepState
from tests.identity.directories import Directory
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import Clock, Runtime

DOWN = "ticketing is unavailable: connection refused"


def test_a_system_that_is_down_is_retried_with_growing_waits_until_it_is_back(
    make_runtime: MakeRuntime, clock: Clock
) -> None:
    runtime = make_runtime(settings=RuntimeSettings(backoff_seconds=2, max_backoff_seconds=5))
    runtime.ticketing.down = 3
    executor = runtime.executor

    first = runtime.run("comment", "elena", ticket="T-1")

    next_at = format_time(clock() + timedelta(seconds=2))
    assert first.state is ExecutionState.WAITING_FOR_TARGET
    assert first.waiting == {
        "kind": "target",
        "step": "comment",
        "system": "ticketing",
        "attempts": 1,
        "next_at": next_at,
        "detail": DOWN,
    }
    assert first.status == (
        f"ticketing is unavailable; step comment is queued, attempt 1 failed, next try at {next_at}"
    )
    assert first.step("comment").state is StepState.PENDING
    assert first.step("comment").error == DOWN
    assert executor.advance(first.id).step("comment").attempts == 1, "not before its time"
    assert executor.tick() == 0

    waits = []
    for _ in range(3):
        before = clock()
        waiting = executor.get(first.id)
        due = waiting.step("comment").next_attempt_at
        assert due is not None
        waits.append((due - before).total_seconds())
        clock.advance(seconds=waits[-1])
        assert executor.tick() == 1

    done = executor.get(first.id)
    assert waits == [2, 4, 5], "doubling, up to the longest wait"
    assert done.state is ExecutionState.SUCCEEDED
    assert done.step("comment").output == {"ticket": "T-1", "attempt": 4}
    assert done.step("comment").attempts == 4
    assert runtime.types(first.id).count("execution.waiting_for_target") == 3


def test_a_system_still_down_after_the_last_attempt_fails_the_execution(
    runtime: Runtime, clock: Clock
) -> None:
    runtime.ticketing.down = 5

    waiting = runtime.run("escalate", "elena", ticket="T-1")
    clock.advance(seconds=2)
    runtime.executor.tick()
    failed = runtime.executor.get(waiting.id)

    assert failed.state is ExecutionState.FAILED
    assert failed.error == f"step escalate: ticketing still unavailable after 2 attempts: {DOWN}"
    assert runtime.types(waiting.id)[-2:] == ["action.failed", "execution.finished"]
    assert len(runtime.ticketing.calls) == 2


def test_an_idempotent_action_that_times_out_is_tried_again_later(runtime: Runtime) -> None:
    execution = runtime.run("assign-then", "elena", ticket="T-2", then="wait")

    assert execution.state is ExecutionState.WAITING_FOR_TARGET
    assert (execution.waiting or {})["detail"] == "ticket.wait timed out after 0.05 s"
    assert (execution.waiting or {})["system"] == "ticketing"
    assert execution.step("assign").state is StepState.SUCCEEDED


def test_an_action_that_times_out_and_cannot_be_repeated_fails_and_is_rolled_back(
    runtime: Runtime,
) -> None:
    execution = runtime.run("assign-then", "elena", ticket="T-2", then="wait-once")

    assert execution.state is ExecutionState.COMPENSATED
    assert execution.error == "step wait-once failed: ticket.wait-once timed out after 0.05 s"
    assert execution.step("assign").state is StepState.COMPENSATED


class FailingAudit:
    """An audit log that refuses the records named in ``broken`` (all when ``everything``)."""

    def __init__(self) -> None:
        self.broken: set[str] = set()
        self.everything = False

    def __call__(self, event: AuditEvent) -> None:
        if self.everything or event.type in self.broken:
            raise AuditWriteError("audit log: disk full")


@pytest.mark.parametrize(
    "everything",
    [
        pytest.param(False, id="only the record before the action fails"),
        pytest.param(True, id="no record can be written at all"),
    ],
)
def test_an_action_never_runs_when_its_start_cannot_be_audited(
    make_runtime: MakeRuntime, clock: Clock, everything: bool
) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit)
    started = runtime.executor.start("comment", {"ticket": "T-4"}, actor="elena")
    audit.broken.add("action.started")
    audit.everything = everything

    waiting = runtime.executor.advance(started.id)

    assert runtime.ticketing.calls == [], "the action did not run"
    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert (waiting.waiting or {})["system"] == "audit log"
    assert (waiting.waiting or {})["detail"] == "not run: audit log: disk full"
    assert "action.started" not in runtime.types(started.id)

    audit.broken.clear()
    audit.everything = False
    clock.advance(seconds=2)
    runtime.executor.tick()

    assert runtime.executor.get(started.id).state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["comment T-4 by elena"]
    types = runtime.types(started.id)
    assert types.index("action.started") < types.index("action.succeeded")


def test_while_the_audit_log_is_down_the_step_waits_past_its_attempts_and_then_runs(
    make_runtime: MakeRuntime, clock: Clock
) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit, settings=RuntimeSettings(max_attempts=2))
    started = runtime.executor.start("comment", {"ticket": "T-4"}, actor="elena")
    audit.broken.add("action.started")

    for _ in range(4):
        waiting = runtime.executor.advance(started.id)
        clock.advance(seconds=600)

    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert (waiting.waiting or {})["system"] == "audit log"
    assert runtime.ticketing.calls == []
    audit.broken.clear()
    done = runtime.executor.advance(started.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["comment T-4 by elena"]


def test_nothing_starts_or_runs_while_the_audit_log_cannot_be_written(runtime: Runtime) -> None:
    queued = runtime.executor.start(
        "software-install", {"title": "7zip", "device": "e-1"}, actor="elena"
    )
    log = runtime.config.audit.log
    intact = log.read_bytes()
    log.write_bytes(intact + b"not a record\n")

    with pytest.raises(AuditWriteError, match="last record is unreadable"):
        runtime.executor.start("password-reset", {"user": "tom"}, actor="elena")
    with pytest.raises(AuditWriteError, match="last record is unreadable"):
        runtime.executor.advance(queued.id)

    assert [e.id for e in runtime.executor.recent()] == [queued.id]
    assert runtime.executor.get(queued.id).state is ExecutionState.QUEUED
    assert runtime.devices.installed("e-1") == []


def test_an_end_that_cannot_be_audited_still_ends_the_execution(
    make_runtime: MakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    audit = FailingAudit()
    audit.broken.add("execution.finished")
    runtime = make_runtime(audit_filter=audit)

    done = runtime.run("comment", "elena", ticket="T-1")

    assert done.state is ExecutionState.SUCCEEDED
    assert f"execution {done.id}: execution.finished not audited: audit log: disk full" in (
        caplog.text
    )


def test_without_an_audit_log_the_runtime_keeps_no_records(runtime: Runtime) -> None:
    audit = runtime.config.audit.model_copy(update={"unsafe_no_audit": True})
    runtime.config = runtime.config.model_copy(update={"audit": audit})
    runtime.restart()
    before = runtime.config.audit.log.read_bytes()

    done = runtime.run("password-reset", "elena", user="tom")

    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.config.audit.log.read_bytes() == before


def test_a_directory_down_at_decision_time_queues_the_step_instead_of_failing_it(
    runtime: Runtime, clock: Clock
) -> None:
    started = runtime.executor.start("password-reset", {"user": "tom"}, actor="elena")
    reachable = runtime.gateway.directory
    runtime.gateway.directory = Directory("ldap", users={}, down=True)

    waiting = runtime.executor.advance(started.id)

    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert (waiting.waiting or {})["system"] == "directory"
    assert "ldap: connection refused" in str((waiting.waiting or {})["detail"])
    assert waiting.step("reset").state is StepState.PENDING
    runtime.gateway.directory = reachable
    clock.advance(seconds=3)
    assert runtime.executor.advance(started.id).state is ExecutionState.SUCCEEDED


WAIT_WORKFLOW = """
id: wait
title: Wait on the help desk
parameters: {ticket: {}}
steps:
  - id: wait
    action: ticket.wait
    with: {ticket: "{{ params.ticket }}"}
"""


def test_an_action_that_cannot_start_because_every_worker_is_busy_is_queued(
    make_runtime: MakeRuntime, config: GatewayConfig
) -> None:
    (config.runtime.workflows / "wait.yaml").write_text(WAIT_WORKFLOW, encoding="utf-8")
    runtime = make_runtime(settings=RuntimeSettings(workers=1))
    first = runtime.executor.start("wait", {"ticket": "T-1"}, actor="elena")
    second = runtime.executor.start("wait", {"ticket": "T-2"}, actor="elena")

    runtime.executor.advance(first.id)  # its action times out but still holds the worker
    queued = runtime.executor.advance(second.id)

    assert queued.state is ExecutionState.WAITING_FOR_TARGET
    assert (queued.waiting or {})["system"] == "gateway"
    assert "ticket.wait did not start within 0.05 s" in str((queued.waiting or {})["detail"])
    assert runtime.ticketing.calls.count("wait T-2 by elena") == 0

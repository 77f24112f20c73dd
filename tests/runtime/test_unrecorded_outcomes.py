"""An outcome the audit log refuses to record is kept, the execution says why it waits,
and the record is written (and the execution finishes) once the log takes it again,
without a restart."""

from __future__ import annotations

import pytest

from gateway.audit.records import AuditEvent
from gateway.runtime import outbox
from gateway.runtime.errors import TargetConflictError
from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import Clock
from tests.runtime.test_outside_failures import FailingAudit

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


def test_a_success_the_log_refuses_is_kept_and_the_execution_ends_once_it_is_on_record(
    make_runtime: MakeRuntime, clock: Clock
) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit)
    audit.broken.add("action.succeeded")

    waiting = runtime.run("comment", "elena", ticket="T-1")

    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert waiting.step("comment").state is StepState.SUCCEEDED
    assert (waiting.waiting or {})["kind"] == "audit"
    assert waiting.status.startswith(
        "the audit log cannot be written (audit log: disk full); what step comment did is "
        "kept until it is on record, next try at "
    )
    assert "action.succeeded" not in runtime.types(waiting.id)
    with pytest.raises(TargetConflictError):
        runtime.executor.start("comment", {"ticket": "T-1"}, actor="elena")
    clock.advance(seconds=2)
    runtime.executor.tick()
    assert runtime.executor.get(waiting.id).state is ExecutionState.WAITING_FOR_TARGET

    audit.broken.clear()
    clock.advance(seconds=2)
    runtime.executor.tick()

    done = runtime.executor.get(waiting.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["comment T-1 by elena"], "the action ran once"
    assert runtime.types(waiting.id) == [
        "execution.started",
        "action.started",
        "action.succeeded",
        "execution.finished",
    ]
    again = runtime.run("comment", "elena", ticket="T-1")
    assert again.state is ExecutionState.SUCCEEDED


def test_a_failure_the_log_refuses_is_undone_only_once_it_is_on_record(
    make_runtime: MakeRuntime, clock: Clock
) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit)
    audit.broken.add("action.failed")

    waiting = runtime.run("assign-then", "elena", ticket="T-2", then="lock")

    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert waiting.error == "step lock failed: ticketing refused: the ticket is locked"
    assert waiting.step("assign").state is StepState.SUCCEEDED, "nothing undone yet"
    assert runtime.ticketing.calls == ["assign T-2 by elena", "lock T-2 by elena"]

    audit.broken.clear()
    clock.advance(seconds=2)
    runtime.executor.tick()

    done = runtime.executor.get(waiting.id)
    assert done.state is ExecutionState.COMPENSATED
    assert done.error == "step lock failed: ticketing refused: the ticket is locked"
    assert done.step("assign").state is StepState.COMPENSATED
    types = runtime.types(waiting.id)
    assert types.index("action.failed") < types.index("compensation.started")
    assert types[-1] == "execution.finished"


def test_an_end_the_log_refuses_is_written_on_the_next_tick(
    make_runtime: MakeRuntime, clock: Clock
) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit)
    audit.broken.add("execution.finished")

    done = runtime.run("comment", "elena", ticket="T-3")
    assert done.state is ExecutionState.SUCCEEDED
    assert "execution.finished" not in runtime.types(done.id)
    runtime.executor.tick()
    assert "execution.finished" not in runtime.types(done.id)

    audit.broken.clear()
    runtime.executor.tick()

    (finished,) = [r for r in runtime.trail(done.id) if r.type == "execution.finished"]
    assert finished.payload["state"] == "succeeded"
    with runtime.executor.store.transaction(write=False) as tx:
        assert outbox.held_executions(tx) == []


def test_kept_records_survive_a_restart(make_runtime: MakeRuntime, clock: Clock) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit)
    audit.broken.add("action.succeeded")
    waiting = runtime.run("comment", "elena", ticket="T-4")

    runtime.restart()
    audit.broken.clear()
    clock.advance(seconds=2)
    runtime.executor.tick()

    assert runtime.executor.get(waiting.id).state is ExecutionState.SUCCEEDED
    assert runtime.types(waiting.id).count("action.succeeded") == 1


def test_a_record_another_process_already_wrote_is_not_written_twice(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime()
    done = runtime.run("comment", "elena", ticket="T-5")
    event = AuditEvent(
        type="execution.written_elsewhere",
        actor="elena",
        payload={"execution": done.id, "workflow": done.workflow},
    )
    with runtime.executor.store.transaction() as tx:
        outbox.hold(tx, done.id, event)
    # another process takes the kept record between this one's reading and releasing it
    monkeypatch.setattr(outbox, "release", lambda tx, seq: False)

    runtime.executor.tick()

    assert "execution.written_elsewhere" not in runtime.types(done.id)
    assert runtime.executor.get(done.id).state is ExecutionState.SUCCEEDED


def test_records_kept_one_after_another_are_written_in_their_order(
    make_runtime: MakeRuntime, clock: Clock
) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit)
    audit.broken.add("compensation.succeeded")

    done = runtime.run("assign-then", "elena", ticket="T-6", then="lock")

    assert done.state is ExecutionState.COMPENSATED
    assert runtime.types(done.id)[-1] == "compensation.started"
    audit.broken.clear()
    runtime.executor.tick()
    assert runtime.types(done.id)[-2:] == ["compensation.succeeded", "execution.finished"]

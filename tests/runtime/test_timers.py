"""Time-boxed access: the revocation is scheduled durably and runs when the time is up,
even after a restart, as the gateway's service account."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.audit.records import format_time
from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.harness import Clock, Runtime

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


def grant_for_two_hours(runtime: Runtime) -> str:
    waiting = runtime.run("access-grant", "omar", user="tom", system="payroll", duration_hours=2)
    done = runtime.approve(waiting, "priya")
    assert done.state is ExecutionState.SUCCEEDED
    return done.id


def revocations(runtime: Runtime) -> list[str]:
    return [e.id for e in runtime.executor.recent() if e.workflow == "access-revoke"]


@pytest.mark.parametrize(
    "restart",
    [
        pytest.param(False, id="the revocation runs when the time is up"),
        pytest.param(True, id="the revocation survives a restart"),
    ],
)
def test_time_boxed_access_is_revoked_when_its_time_is_up(
    runtime: Runtime, clock: Clock, restart: bool
) -> None:
    grant_id = grant_for_two_hours(runtime)
    grant = runtime.executor.get(grant_id)
    due = format_time(clock() + timedelta(hours=2))
    assert grant.step("expire").output == {"workflow": "access-revoke", "due_at": due}
    with runtime.executor.store.transaction(write=False) as tx:
        (timer,) = tx.timers_of(grant_id)
    assert (timer.workflow, timer.started) == ("access-revoke", None)
    assert timer.parameters == {"user": "tom", "system": "payroll", "reason": "grant_expired"}
    scheduled = [r for r in runtime.trail(grant_id) if r.type == "execution.scheduled"]
    assert scheduled[0].payload["due_at"] == due
    if restart:
        runtime.restart()

    clock.advance(hours=1, minutes=59)
    runtime.executor.tick()
    assert revocations(runtime) == []
    assert runtime.directory.state("tom")["granted_groups"] == ["access-payroll"]

    clock.advance(minutes=1)
    runtime.executor.tick()

    (revoke_id,) = revocations(runtime)
    revoke = runtime.executor.get(revoke_id)
    assert revoke.state is ExecutionState.SUCCEEDED
    assert (revoke.actor, revoke.channel, revoke.parent) == ("svc-gateway", "schedule", grant_id)
    assert runtime.directory.state("tom")["granted_groups"] == []
    assert "the granted time is up" in runtime.config.notifications.file.read_text()
    with runtime.executor.store.transaction(write=False) as tx:
        assert tx.timers_of(grant_id)[0].started == revoke_id
    runtime.executor.tick()
    assert revocations(runtime) == [revoke_id], "a timer fires once"


def test_a_revocation_waits_while_another_execution_acts_on_the_access(
    runtime: Runtime, clock: Clock
) -> None:
    grant_for_two_hours(runtime)
    busy = runtime.run("access-grant", "omar", user="tom", system="payroll")
    assert busy.state is ExecutionState.PENDING_APPROVAL
    clock.advance(hours=3)

    runtime.executor.tick()
    assert revocations(runtime) == []

    runtime.executor.cancel(busy.id, "omar")
    runtime.executor.tick()
    assert len(revocations(runtime)) == 1
    assert runtime.directory.state("tom")["granted_groups"] == []


def test_a_timer_that_can_no_longer_start_does_not_hold_up_other_work(
    runtime: Runtime, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    grant_for_two_hours(runtime)
    revoke = runtime.config.runtime.workflows / "access-revoke.yaml"
    revoke.write_text(
        revoke.read_text().replace("enum: [requested, grant_expired]", "enum: [requested]")
    )
    runtime.restart()
    runtime.ticketing.down = 1
    waiting = runtime.run("comment", "elena", ticket="T-1")
    clock.advance(hours=3)

    runtime.executor.tick()

    assert runtime.executor.get(waiting.id).state is ExecutionState.SUCCEEDED
    assert revocations(runtime) == []
    assert "cannot start access-revoke" in caplog.text
    assert "reason: must be one of requested, found 'grant_expired'" in caplog.text


def test_a_grant_without_a_duration_schedules_nothing(runtime: Runtime) -> None:
    waiting = runtime.run("access-grant", "omar", user="tom", system="payroll")
    done = runtime.approve(waiting, "priya")

    assert done.step("expire").state is StepState.SKIPPED
    with runtime.executor.store.transaction(write=False) as tx:
        assert tx.timers_of(done.id) == []

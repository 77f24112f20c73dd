"""Overlapping grants of the same access: the end of one removes only access that no
other live grant still covers, and says so in the audit log."""

from __future__ import annotations

from datetime import timedelta

from gateway.audit.records import format_time
from gateway.runtime.expiry import SKIPPED
from gateway.runtime.model import Execution, ExecutionState
from tests.runtime.harness import Clock, Runtime


def grant(runtime: Runtime, hours: int | None = None) -> Execution:
    params: dict[str, object] = {"user": "tom", "system": "payroll"}
    if hours is not None:
        params["duration_hours"] = hours
    started = runtime.executor.start("access-grant", params, actor="omar")
    done = runtime.approve(runtime.executor.advance(started.id), "priya")
    assert done.state is ExecutionState.SUCCEEDED
    return done


def revocations(runtime: Runtime) -> list[Execution]:
    return [e for e in runtime.executor.recent() if e.workflow == "access-revoke"]


def groups(runtime: Runtime) -> list[str]:
    found = runtime.directory.state("tom")["granted_groups"]
    assert isinstance(found, list)
    return [str(group) for group in found]


def test_the_end_of_a_short_grant_leaves_a_longer_one_in_force(
    runtime: Runtime, clock: Clock
) -> None:
    short = grant(runtime, 1)
    long = grant(runtime, 720)
    long_ends = format_time(clock() + timedelta(hours=720))

    clock.advance(hours=1)
    runtime.executor.tick()

    assert groups(runtime) == ["access-payroll"]
    assert revocations(runtime) == []
    (skipped,) = [r for r in runtime.records() if r.type == "execution.expiry_skipped"]
    assert (skipped.actor, skipped.resource) == ("svc-gateway", "access:tom:payroll")
    assert skipped.payload["execution"] == short.id
    assert skipped.payload["covered_by"] == [{"execution": long.id, "until": long_ends}]
    assert skipped.payload["why"] == "another live grant still covers this access"
    with runtime.executor.store.transaction(write=False) as tx:
        assert tx.timers_of(short.id)[0].started == SKIPPED

    clock.advance(hours=719)
    runtime.executor.tick()

    (revoke,) = revocations(runtime)
    assert revoke.state is ExecutionState.SUCCEEDED
    assert revoke.parent == long.id
    assert groups(runtime) == []


def test_an_open_ended_grant_outlives_a_time_boxed_one(runtime: Runtime, clock: Clock) -> None:
    grant(runtime, 1)
    open_ended = grant(runtime)

    clock.advance(hours=2)
    runtime.executor.tick()

    assert groups(runtime) == ["access-payroll"]
    (skipped,) = [r for r in runtime.records() if r.type == "execution.expiry_skipped"]
    assert skipped.payload["covered_by"] == [{"execution": open_ended.id, "until": None}]


def test_a_grant_revoked_on_request_covers_nothing_any_more(runtime: Runtime, clock: Clock) -> None:
    grant(runtime)
    revoked = runtime.run("access-revoke", "omar", user="tom", system="payroll")
    revoked = runtime.approve(revoked, "priya") if revoked.waiting else revoked
    assert revoked.state is ExecutionState.SUCCEEDED
    grant(runtime, 1)

    clock.advance(hours=1)
    runtime.executor.tick()

    assert groups(runtime) == []
    assert [r for r in runtime.records() if r.type == "execution.expiry_skipped"] == []
    assert len(revocations(runtime)) == 2


def test_a_grant_that_has_ended_covers_nothing(runtime: Runtime, clock: Clock) -> None:
    grant(runtime, 1)
    clock.advance(minutes=30)
    grant(runtime, 1)

    clock.advance(minutes=30)
    runtime.executor.tick()
    assert groups(runtime) == ["access-payroll"]

    clock.advance(minutes=30)
    runtime.executor.tick()
    assert groups(runtime) == []

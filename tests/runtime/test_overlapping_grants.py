"""Overlapping grants of the same access: the end of one removes only access that no
other live grant still covers, and says so in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.audit.records import format_time
from gateway.runtime.expiry import SKIPPED
from gateway.runtime.model import Execution, ExecutionState
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import Clock, Runtime
from tests.runtime.test_outside_failures import FailingAudit

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


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


def grant_or_fail(runtime: Runtime, lock: str) -> Execution:
    waiting = runtime.run("grant-then-maybe-lock", "omar", user="tom", system="payroll", lock=lock)
    return runtime.executor.get(runtime.approve(waiting, "priya").id)


def test_undoing_a_failed_grant_leaves_access_another_grant_still_covers(
    runtime: Runtime,
) -> None:
    live = grant_or_fail(runtime, "no")

    failed = grant_or_fail(runtime, "yes")

    assert live.state is ExecutionState.SUCCEEDED
    assert failed.state is ExecutionState.FAILED
    assert groups(runtime) == ["access-payroll"]
    (skipped,) = [r for r in runtime.records() if r.type == "compensation.skipped"]
    assert skipped.payload["execution"] == failed.id
    assert skipped.payload["step"] == "grant"
    assert skipped.payload["covered_by"][0]["execution"] == live.id
    assert not any(r.type == "compensation.started" for r in runtime.trail(failed.id))


def test_undoing_a_failed_grant_no_other_grant_covers_removes_the_access(
    runtime: Runtime,
) -> None:
    failed = grant_or_fail(runtime, "yes")

    assert failed.state is ExecutionState.COMPENSATED
    assert groups(runtime) == []


def test_a_skip_the_log_refuses_leaves_the_access_and_says_the_rollback_is_incomplete(
    make_runtime: MakeRuntime,
) -> None:
    audit = FailingAudit()
    runtime = make_runtime(audit_filter=audit)
    grant_or_fail(runtime, "no")
    audit.broken.add("compensation.skipped")

    failed = grant_or_fail(runtime, "yes")

    assert failed.state is ExecutionState.FAILED
    assert failed.error is not None
    assert "rollback incomplete: grant: " in failed.error
    assert groups(runtime) == ["access-payroll"]  # nothing revoked without a record

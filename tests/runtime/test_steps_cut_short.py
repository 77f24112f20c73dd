"""A step cut short while its process lives: the database goes away after the action ran
and before its outcome was stored.  The process keeps the outcome and stores it once the
database is back (its ``action.succeeded`` written once, the action run once); a step of
its own that no thread runs any more is recovered like one of a dead process; a step of
another host is taken over once that host's liveness lease has expired."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gateway.runtime.actions import ActionCall
from gateway.runtime.errors import ExecutionStoreError
from gateway.runtime.model import ExecutionState, StepState
from gateway.runtime.running import RunningSteps
from gateway.storage import StorageUnavailableError
from gateway.storage.leases import Leases
from tests.runtime.harness import Clock, Runtime
from tests.runtime.test_recovery import take_step

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


class DatabaseAway:
    """Makes the runtime's store unreachable: ``cut(at=...)`` fails the next transactions
    as they open, or the next one as it commits (after its audit record was appended)."""

    def __init__(self, runtime: Runtime) -> None:
        self.at: str | None = None
        store = runtime.executor.store
        real = store.transaction

        @contextmanager
        def transaction(*, write: bool = True) -> Iterator[Any]:
            if self.at == "open":
                raise self._error()
            with real(write=write) as tx:
                yield tx
                if self.at == "commit" and write:
                    self.at = "open"
                    raise self._error()

        store.transaction = transaction  # type: ignore[method-assign]

    @staticmethod
    def _error() -> ExecutionStoreError:
        error = ExecutionStoreError("execution store: the database is unavailable")
        error.__cause__ = StorageUnavailableError("postgresql: connection lost")
        return error

    def cut(self, at: str) -> None:
        self.at = at

    def cut_during(self, step: str, at: str) -> Callable[[ActionCall], None]:
        """A ``Ticketing.during`` that cuts once ``step`` has been reached."""

        def during(call: ActionCall) -> None:
            if call.step_id == step:
                self.cut(at)

        return during

    def heal(self) -> None:
        self.at = None


@pytest.mark.parametrize(
    "at",
    [
        pytest.param("open", id="the outcome's transaction cannot open"),
        pytest.param("commit", id="the outcome's commit is lost after its record was appended"),
    ],
)
def test_an_outcome_the_database_did_not_take_is_stored_once_it_is_back(
    runtime: Runtime, at: str
) -> None:
    away = DatabaseAway(runtime)
    runtime.ticketing.during = away.cut_during("close", at)
    started = runtime.executor.start("close", {"ticket": "T-1"}, actor="elena")

    with pytest.raises(ExecutionStoreError):
        runtime.executor.advance(started.id)
    away.heal()
    assert runtime.executor.get(started.id).step("close").state is StepState.STARTED
    assert runtime.executor.advance(started.id).state is ExecutionState.RUNNING, "not yet"

    assert runtime.executor.recover_own() == [started.id]
    runtime.executor.tick()

    done = runtime.executor.get(started.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert done.step("close").output == {"closed": True}
    assert runtime.ticketing.calls == ["assign T-1 by elena", "close T-1 by elena"]
    assert runtime.types(started.id) == [
        "execution.started",
        "action.started",
        "action.succeeded",
        "action.started",
        "action.succeeded",
        "execution.finished",
    ], "each action on record once"


def test_an_outcome_kept_while_another_process_took_the_step_over_is_dropped(
    runtime: Runtime,
) -> None:
    away = DatabaseAway(runtime)
    runtime.ticketing.during = away.cut_during("close", "open")
    started = runtime.executor.start("close", {"ticket": "T-2"}, actor="elena")
    with pytest.raises(ExecutionStoreError):
        runtime.executor.advance(started.id)
    away.heal()
    with runtime.executor.store.transaction() as tx:  # as the lease holder would
        tx.update_step(started.id, "close", state=StepState.UNKNOWN, owner=None)

    assert runtime.executor.recover_own() == [started.id]

    assert runtime.executor.get(started.id).step("close").state is StepState.UNKNOWN
    assert runtime.executor.recover_own() == [], "dropped, not kept"
    succeeded = [r for r in runtime.trail(started.id) if r.type == "action.succeeded"]
    assert [r.payload["step"] for r in succeeded] == ["assign"]


def test_a_step_of_this_process_that_no_thread_runs_is_recovered(runtime: Runtime) -> None:
    runtime.ticketing.down = 1
    waiting = runtime.run("close", "elena", ticket="T-3")
    take_step(runtime, waiting.id, "close", runtime.executor.owner)

    assert runtime.executor.recover_own() == [waiting.id]

    done = runtime.executor.get(waiting.id)
    assert done.state is ExecutionState.COMPENSATED
    assert done.step("close").state is StepState.UNKNOWN
    assert runtime.ticketing.calls == [
        "assign T-3 by elena",
        "close T-3 by elena",
        "unassign T-3 by svc-gateway",
    ], "not run again: what it did is unknown"


def test_a_step_whose_thread_ends_while_recovery_looks_is_left_as_it_ended(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.ticketing.down = 1
    waiting = runtime.run("close", "elena", ticket="T-6")
    take_step(runtime, waiting.id, "close", runtime.executor.owner)

    def ended_just_now(steps: RunningSteps, key: tuple[str, str]) -> bool:
        with runtime.executor.store.transaction() as tx:  # its thread stored the outcome
            tx.update_step(*key, state=StepState.SUCCEEDED)
        return False

    monkeypatch.setattr(RunningSteps, "running", ended_just_now)

    assert runtime.executor.recover_own() == []
    assert runtime.executor.get(waiting.id).step("close").state is StepState.SUCCEEDED


def test_a_step_running_in_a_thread_of_this_process_is_left_to_it(runtime: Runtime) -> None:
    started = runtime.executor.start("close", {"ticket": "T-4"}, actor="elena")
    looked: list[list[str]] = []
    runtime.ticketing.during = lambda call: looked.append(runtime.executor.recover())

    done = runtime.executor.advance(started.id)

    assert looked == [[], []], "nothing taken from under its threads"
    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["assign T-4 by elena", "close T-4 by elena"]


def test_a_step_of_another_host_is_taken_over_once_its_lease_has_expired(
    runtime: Runtime, clock: Clock
) -> None:
    other = "build-server-7:1234"
    leases = Leases(
        runtime.gateway.storage,
        runtime.config.runtime.database.with_name("leases.db"),
        holder="build-server-7:1234:ab12",
        ttl_seconds=30,
        clock=clock,
    )
    try:
        runtime.executor.watch_hosts(lambda owner: not leases.expired(f"runtime.process.{owner}"))
        started = runtime.executor.start("comment", {"ticket": "T-5"}, actor="elena")
        take_step(runtime, started.id, "comment", other)
        assert runtime.executor.recover() == [], "no lease ever: a command, taken to live"
        leases.acquire(f"runtime.process.{other}", release_on_close=False)

        assert runtime.executor.recover() == [], "its host renews its lease"
        assert runtime.executor.recover_own() == []
        clock.advance(seconds=31)
        assert runtime.executor.recover() == [started.id]
    finally:
        leases.close()

    runtime.executor.tick()
    done = runtime.executor.get(started.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["comment T-5 by elena"]
    assert "action.resumed" in runtime.types(started.id)

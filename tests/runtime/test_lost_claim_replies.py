"""A step's claim reached the database but its reply was lost (the connection dropped right
after ``COMMIT``): the step is ``started`` by this process, whose thread gave up before
calling the action.  The process knows the action was never called, since it calls it
only once the claim's commit is acknowledged: recovery records the step as claimed and
never called (``action.not_called``) and has it called exactly once, whether or not its
action is idempotent, instead of resuming it or giving it up as unknown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gateway.runtime.errors import ExecutionStoreError
from gateway.runtime.model import ExecutionState, StepState
from gateway.storage import StorageUnavailableError
from tests.runtime.harness import Runtime

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


class LostClaimReply:
    """The storage seam of the runtime's store, failing the claim of ``step``: once
    ``after`` its commit (stored, the reply lost) or ``before`` it (nothing stored)."""

    def __init__(self, runtime: Runtime, step: str, at: str) -> None:
        store = runtime.executor.store
        real = store.transaction
        self.fired = False

        @contextmanager
        def transaction(*, write: bool = True) -> Iterator[Any]:
            claimed: list[str] = []
            with real(write=write) as tx:
                claim = tx.claim_step

                def claim_step(execution_id: str, step_id: str, *args: Any, **kw: Any) -> bool:
                    won = claim(execution_id, step_id, *args, **kw)
                    if won and step_id == step and not self.fired:
                        claimed.append(step_id)
                    return won

                tx.claim_step = claim_step
                yield tx
                if claimed and at == "before":
                    self.fired = True
                    raise self._error()
            if claimed and at == "after":  # committed: only the reply is lost
                self.fired = True
                raise self._error()

        store.transaction = transaction  # type: ignore[method-assign]

    @staticmethod
    def _error() -> ExecutionStoreError:
        error = ExecutionStoreError("execution store: the database is unavailable")
        error.__cause__ = StorageUnavailableError("postgresql: connection lost")
        return error


@pytest.mark.parametrize(
    ("workflow", "step", "calls"),
    [
        pytest.param(
            "close",
            "close",
            ["assign T-1 by elena", "close T-1 by elena"],
            id="an action that is not idempotent is called once, not given up",
        ),
        pytest.param(
            "comment",
            "comment",
            ["comment T-1 by elena"],
            id="an idempotent action is called once, not resumed",
        ),
    ],
)
def test_a_step_claimed_whose_reply_was_lost_is_called_exactly_once(
    runtime: Runtime, workflow: str, step: str, calls: list[str]
) -> None:
    LostClaimReply(runtime, step, at="after")
    started = runtime.executor.start(workflow, {"ticket": "T-1"}, actor="elena")

    with pytest.raises(ExecutionStoreError):
        runtime.executor.advance(started.id)
    cut = runtime.executor.get(started.id)
    assert cut.step(step).state is StepState.STARTED, "its claim is in the database"
    assert runtime.ticketing.calls == calls[:-1], "and its action was never called"

    assert runtime.executor.recover_own() == [started.id]
    assert runtime.executor.get(started.id).step(step).state is StepState.PENDING
    runtime.executor.tick()

    done = runtime.executor.get(started.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert done.step(step).attempts == 1, "a claim never called is no attempt"
    assert runtime.ticketing.calls == calls
    trail = [r for r in runtime.trail(started.id) if r.payload.get("step") == step]
    assert [r.type for r in trail] == [
        "action.started",
        "action.not_called",
        "action.started",
        "action.succeeded",
    ]
    assert trail[1].payload["why"] == "claimed, never called: its claim's reply was lost"
    assert runtime.executor.recover_own() == [], "settled once"


def test_a_claim_that_never_reached_the_database_leaves_nothing_to_recover(
    runtime: Runtime,
) -> None:
    lost = LostClaimReply(runtime, "close", at="before")
    started = runtime.executor.start("close", {"ticket": "T-2"}, actor="elena")

    with pytest.raises(ExecutionStoreError):
        runtime.executor.advance(started.id)
    assert lost.fired
    assert runtime.executor.get(started.id).step("close").state is StepState.PENDING

    assert runtime.executor.recover_own() == []
    done = runtime.executor.advance(started.id)

    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["assign T-2 by elena", "close T-2 by elena"]
    assert "action.not_called" not in runtime.types(started.id)

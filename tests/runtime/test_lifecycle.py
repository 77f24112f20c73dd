"""Starting, reading, cancelling: idempotency keys, one execution per target, and cancels."""

from __future__ import annotations

import pytest

from gateway.approvals.model import ApprovalState
from gateway.policy.decision import Decision
from gateway.policy.request import AccessRequest
from gateway.runtime.actions import ActionCall
from gateway.runtime.errors import (
    ExecutionStateError,
    IdempotencyConflictError,
    ParameterError,
    TargetConflictError,
    UnknownExecutionError,
    UnknownWorkflowError,
)
from gateway.runtime.executor import Executor, RuntimeSettings
from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import Runtime

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


def test_the_same_idempotency_key_and_request_give_the_same_execution(runtime: Runtime) -> None:
    executor = runtime.executor
    first = executor.start("comment", {"ticket": "T-1"}, actor="elena", idempotency_key="k-1")

    again = executor.start("comment", {"ticket": "T-1"}, actor="elena", idempotency_key="k-1")
    other_actor = executor.start("escalate", {"ticket": "T-1"}, actor="omar", idempotency_key="k-1")

    assert again.id == first.id
    assert other_actor.id != first.id, "a key is the actor's own"
    assert runtime.types(first.id) == ["execution.started"]
    with pytest.raises(IdempotencyConflictError) as caught:
        executor.start("comment", {"ticket": "T-2"}, actor="elena", idempotency_key="k-1")
    assert str(caught.value) == (
        f"idempotency key 'k-1' was used for execution {first.id} with a different request; "
        "use a new key"
    )
    assert caught.value.execution_id == first.id


def test_a_second_execution_on_the_same_target_is_refused_naming_the_first(
    runtime: Runtime,
) -> None:
    first = runtime.run("password-reset", "tom", user="tom")
    assert first.state is ExecutionState.AWAITING_STEP_UP

    with pytest.raises(TargetConflictError) as caught:
        runtime.executor.start("account-unlock", {"user": "tom"}, actor="elena")

    assert str(caught.value) == (
        f"conflict: execution {first.id} is already acting on account:tom; "
        "wait for it to finish or cancel it"
    )
    assert (caught.value.target, caught.value.execution_id) == ("account:tom", first.id)
    runtime.executor.cancel(first.id, "tom")
    assert runtime.run("account-unlock", "elena", user="tom").state is ExecutionState.SUCCEEDED


def test_a_workflow_without_a_target_may_run_many_times_at_once(runtime: Runtime) -> None:
    runtime.ticketing.down = 2
    first = runtime.run("escalate", "elena", ticket="T-1")
    second = runtime.run("escalate", "elena", ticket="T-1")

    assert first.target is second.target is None
    assert first.state is second.state is ExecutionState.WAITING_FOR_TARGET
    assert runtime.executor.acting_on("escalate", {"ticket": "T-1"}) == ("", "")


def test_what_an_execution_would_lock_and_who_holds_it_now(runtime: Runtime) -> None:
    assert runtime.executor.acting_on("account-unlock", {"user": "tom"}) == ("account:tom", "")
    runtime.ticketing.down = 2
    held = runtime.executor.start("account-unlock", {"user": "tom"}, actor="elena")
    assert runtime.executor.acting_on("account-unlock", {"user": "tom"}) == (
        "account:tom",
        held.id,
    )


def test_a_target_that_renders_empty_is_no_target(runtime: Runtime) -> None:
    (runtime.config.runtime.workflows / "maybe.yaml").write_text(
        """
id: maybe
title: Comment, maybe on a target
target: "{{ has(params.desk) ? params.desk : '' }}"
parameters:
  desk: {required: false}
steps:
  - id: comment
    action: ticket.comment
    with: {ticket: T-1}
"""
    )
    runtime.restart()

    assert runtime.executor.start("maybe", {}, actor="elena").target is None
    assert runtime.executor.start("maybe", {"desk": "it"}, actor="elena").target == "it"


def test_unknown_workflows_executions_and_bad_parameters_are_named(runtime: Runtime) -> None:
    executor = runtime.executor

    with pytest.raises(UnknownWorkflowError, match=r"unknown workflow 'nope'; known: .*comment"):
        executor.start("nope", {}, actor="elena")
    with pytest.raises(UnknownExecutionError, match=r"^unknown execution 'e-1'$"):
        executor.get("e-1")
    with pytest.raises(ParameterError) as caught:
        executor.start("password-reset", {"user": "-x", "color": "red"}, actor="elena")

    assert caught.value.problems == {
        "color": "not a parameter of workflow password-reset (known: must_change, user)",
        "user": "must match [A-Za-z0-9][A-Za-z0-9._@-]{0,127}, found '-x'",
    }
    assert executor.recent() == []


def test_recent_executions_come_newest_first_and_by_actor(runtime: Runtime) -> None:
    first = runtime.run("comment", "elena", ticket="T-1")
    runtime.clock.advance(seconds=1)
    second = runtime.run("comment", "omar", ticket="T-2")

    assert [e.id for e in runtime.executor.recent()] == [second.id, first.id]
    assert [e.id for e in runtime.executor.recent(actor="elena")] == [first.id]
    assert [e.id for e in runtime.executor.recent(limit=1)] == [second.id]


def test_cancelling_an_execution_that_waits_for_approval_withdraws_the_approval(
    runtime: Runtime,
) -> None:
    waiting = runtime.run("access-grant", "omar", user="tom", system="payroll")
    approval_id = str((waiting.waiting or {})["approval_id"])

    cancelled = runtime.executor.cancel(waiting.id, "omar")

    assert cancelled.state is ExecutionState.CANCELLED
    assert cancelled.error == "cancelled by omar"
    approvals = runtime.gateway.approvals
    assert approvals is not None
    assert approvals.get(approval_id).state is ApprovalState.CANCELLED
    trail = runtime.trail(waiting.id)
    assert [r.type for r in trail][-2:] == ["execution.cancel_requested", "execution.finished"]
    assert trail[-2].payload["by"] == "omar"
    with pytest.raises(ExecutionStateError, match=r"is already cancelled$"):
        runtime.executor.cancel(waiting.id, "omar")


def test_cancelling_undoes_what_the_execution_already_did(runtime: Runtime) -> None:
    runtime.ticketing.down = 1
    waiting = runtime.run("assign-then", "elena", ticket="T-5", then="comment")
    assert waiting.state is ExecutionState.WAITING_FOR_TARGET

    cancelled = runtime.executor.cancel(waiting.id, "elena")

    assert cancelled.state is ExecutionState.CANCELLED
    assert cancelled.step("assign").state is StepState.COMPENSATED
    assert runtime.ticketing.calls[-1] == "unassign T-5 by svc-gateway"


def test_cancelling_leaves_an_approval_that_was_already_given(runtime: Runtime) -> None:
    waiting = runtime.approve(runtime.run("password-reset", "elena", user="sam"), "grace")
    assert waiting.state is ExecutionState.AWAITING_STEP_UP

    runtime.executor.cancel(waiting.id, "elena")

    approvals = runtime.gateway.approvals
    assert approvals is not None
    approval_id = waiting.step("reset").approval_id
    assert approval_id is not None
    assert approvals.get(approval_id).state is ApprovalState.APPROVED


def test_cancelling_with_approvals_turned_off_still_cancels(runtime: Runtime) -> None:
    waiting = runtime.run("access-grant", "omar", user="tom", system="payroll")
    off = runtime.config.approvals.model_copy(update={"enabled": False})
    runtime.config = runtime.config.model_copy(update={"approvals": off})
    runtime.restart()

    assert runtime.executor.cancel(waiting.id, "omar").state is ExecutionState.CANCELLED


def test_an_advance_already_under_way_is_not_started_twice(runtime: Runtime) -> None:
    seen: list[ExecutionState] = []
    runtime.ticketing.during = lambda call: seen.append(
        runtime.executor.advance(call.execution_id).state
    )

    done = runtime.run("comment", "elena", ticket="T-1")

    assert done.state is ExecutionState.SUCCEEDED
    assert seen == [ExecutionState.RUNNING]
    assert runtime.ticketing.calls == ["comment T-1 by elena"]


class DecidingSlowly:
    """The gateway's decisions, while another process runs the same step meanwhile."""

    def __init__(self, runtime: Runtime, meanwhile: list[str]) -> None:
        self._gateway = runtime.gateway
        self._runtime = runtime
        self._meanwhile = meanwhile
        self.approvals = runtime.gateway.approvals
        self.auto_approver = runtime.gateway.auto_approver
        self.stepup = runtime.gateway.stepup

    def authorize(self, request: AccessRequest) -> Decision:
        decision = self._gateway.authorize(request)
        while self._meanwhile:
            self._runtime.executor.advance(self._meanwhile.pop())
        return decision

    def confirm_approved(self, approval_id: str) -> Decision:
        return self._gateway.confirm_approved(approval_id)


def test_of_two_processes_racing_for_one_step_only_one_runs_it(runtime: Runtime) -> None:
    started = runtime.executor.start(
        "software-install", {"title": "7zip", "device": "e-1"}, actor="elena"
    )
    meanwhile = [started.id]
    other = Executor(
        DecidingSlowly(runtime, meanwhile),
        runtime.executor.workflows,
        runtime.executor.actions,
        runtime.executor.store,
        audit=None,
        clock=runtime.clock,
    )
    try:
        seen = other.advance(started.id)
    finally:
        other.close()

    assert seen.state is ExecutionState.SUCCEEDED, "the other process finished it"
    installs = [r for r in runtime.trail(started.id) if r.type == "action.started"]
    assert [r.payload["step"] for r in installs] == ["install", "tell-requester"]


def test_a_background_advance_gets_its_actions_run_even_with_one_thread(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime(settings=RuntimeSettings(workers=1))
    started = runtime.executor.start("close", {"ticket": "T-9"}, actor="elena")

    runtime.executor.wake(started.id)
    runtime.restart()  # closing waits for the background work

    done = runtime.executor.get(started.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.ticketing.calls == ["assign T-9 by elena", "close T-9 by elena"]


def test_one_failing_background_advance_does_not_stop_the_executor(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.executor.submit("no-such-execution")
    started = runtime.executor.start("comment", {"ticket": "T-1"}, actor="elena")
    runtime.executor.submit(started.id)
    runtime.restart()  # closing waits for the background work

    assert runtime.executor.get(started.id).state is ExecutionState.SUCCEEDED
    assert "execution no-such-execution could not advance" in caplog.text


def test_cancelling_while_a_step_runs_lets_it_finish_then_undoes_it(runtime: Runtime) -> None:
    outcome: list[ExecutionState] = []

    def cancel_now(call: ActionCall) -> None:
        if call.step_id == "assign" and not outcome:
            outcome.append(runtime.executor.cancel(call.execution_id, "elena").state)

    runtime.ticketing.during = cancel_now

    done = runtime.run("assign-then", "elena", ticket="T-3", then="comment")

    assert outcome == [ExecutionState.RUNNING], "the running step is not cut short"
    assert done.state is ExecutionState.CANCELLED
    assert done.error == "cancelled on request"
    assert done.step("assign").state is StepState.COMPENSATED
    assert done.step("comment").state is StepState.PENDING
    assert runtime.ticketing.calls == ["assign T-3 by elena", "unassign T-3 by svc-gateway"]


def test_a_finished_execution_does_not_move_again(runtime: Runtime) -> None:
    done = runtime.run("comment", "elena", ticket="T-1")

    assert runtime.executor.advance(done.id) == done
    assert runtime.ticketing.calls == ["comment T-1 by elena"]
    with pytest.raises(KeyError):
        done.step("no-such-step")


def test_the_ticket_an_execution_serves_is_in_every_decision(runtime: Runtime) -> None:
    started = runtime.executor.start(
        "password-reset", {"user": "tom"}, actor="elena", channel="api", ticket="INC-42"
    )
    done = runtime.executor.advance(started.id)

    decision = next(runtime.decisions("password.reset"))
    assert decision.payload["context"]["ticket"] == "INC-42"
    assert decision.payload["context"]["channel"] == "api"
    assert decision.payload["context"]["parameters"] == {"user": "tom", "must_change": True}
    assert done.as_json()["ticket"] == "INC-42"


def test_the_store_lists_every_unfinished_execution(runtime: Runtime) -> None:
    runtime.ticketing.down = 1
    waiting = runtime.run("comment", "elena", ticket="T-1")
    runtime.run("comment", "elena", ticket="T-2")

    with runtime.executor.store.transaction(write=False) as tx:
        assert tx.unfinished() == [waiting.id]
        assert tx.unfinished(due=runtime.clock()) == []
    assert runtime.executor.store.path == runtime.config.runtime.database

"""Compensation: when a later step fails, what the earlier ones did is undone, last first."""

from __future__ import annotations

import pytest

from gateway.runtime.actions import ActionSpec
from gateway.runtime.executor import RuntimeSettings
from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import TICKET, Runtime


def grant_then_lock(runtime: Runtime) -> str:
    waiting = runtime.run("grant-then-lock", "omar", user="tom", system="payroll")
    assert waiting.state is ExecutionState.PENDING_APPROVAL
    return runtime.approve(waiting, "priya").id


def test_a_grant_is_revoked_by_the_service_account_when_a_later_step_fails(
    runtime: Runtime,
) -> None:
    execution = runtime.executor.get(grant_then_lock(runtime))

    assert execution.state is ExecutionState.COMPENSATED
    assert execution.error == "step lock failed: ticketing refused: the ticket is locked"
    assert [s.state for s in execution.steps] == [
        StepState.COMPENSATED,
        StepState.SUCCEEDED,
        StepState.FAILED,
    ]
    assert runtime.directory.state("tom")["granted_groups"] == []
    revoke = next(runtime.decisions("access.revoke"))
    assert (revoke.actor, revoke.payload["decision"]) == ("svc-gateway", "allow")
    assert revoke.payload["context"]["reason"] == "compensation"
    trail = runtime.trail(execution.id)
    assert [r.type for r in trail][-5:] == [
        "action.started",
        "action.failed",
        "compensation.started",
        "compensation.succeeded",
        "execution.finished",
    ]
    started = trail[-3]
    assert started.decision_id == revoke.decision_id
    assert started.action == "access.revoke"
    assert started.payload["parameters"] == {
        "user": "tom",
        "system": "payroll",
        "reason": "compensation",
    }
    assert trail[-1].payload == {
        "execution": execution.id,
        "workflow": "grant-then-lock",
        "state": "compensated",
        "reason": execution.error,
        "compensated": ["grant"],
    }


def test_a_refused_compensation_leaves_the_execution_failed_and_says_so(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime(settings=RuntimeSettings(system_actor="tom"))

    execution = runtime.executor.get(grant_then_lock(runtime))

    assert execution.state is ExecutionState.FAILED
    assert execution.error is not None
    assert execution.error.startswith(
        "step lock failed: ticketing refused: the ticket is locked; rollback incomplete: "
        "grant: access.revoke refused: "
    )
    assert execution.step("grant").state is StepState.SUCCEEDED
    assert runtime.directory.state("tom")["granted_groups"] == ["access-payroll"]
    failed = [r for r in runtime.trail(execution.id) if r.type == "compensation.failed"]
    assert failed[0].payload["action"] == "access.revoke"


@pytest.mark.parametrize(
    ("then", "error"),
    [
        pytest.param(
            "lock",
            "step lock failed: ticketing refused: the ticket is locked",
            id="a refusal by the system is rolled back",
        ),
        pytest.param(
            "crash",
            "step crash failed: ticket.crash raised KeyError",
            id="an unexpected error is rolled back without its detail",
        ),
    ],
)
def test_a_failed_step_undoes_the_steps_before_it(runtime: Runtime, then: str, error: str) -> None:
    execution = runtime.run("assign-then", "elena", ticket="T-7", then=then)

    assert execution.state is ExecutionState.COMPENSATED
    assert execution.error == error
    assert execution.step("assign").state is StepState.COMPENSATED
    assert runtime.ticketing.calls[-1] == "unassign T-7 by svc-gateway"
    assert "internal detail" not in runtime.config.audit.log.read_text()


def test_an_undo_the_system_refuses_leaves_the_rollback_incomplete(runtime: Runtime) -> None:
    runtime.ticketing.refuse_undo = True

    execution = runtime.run("assign-then", "elena", ticket="T-7", then="lock")

    assert execution.state is ExecutionState.FAILED
    assert execution.error == (
        "step lock failed: ticketing refused: the ticket is locked; rollback incomplete: "
        "assign: ticketing refused: the ticket is closed"
    )
    assert execution.step("assign").state is StepState.SUCCEEDED


def guarded_undo(runtime: Runtime) -> list[ActionSpec]:
    """Two actions whose undo cannot run: one needs a step-up, one gets bad parameters."""
    ticketing = runtime.ticketing
    return [
        ActionSpec(
            name="ticket.assign-reset",
            description="assign; undone by resetting the service account's password",
            run=ticketing.assign,
            parameters={"ticket": TICKET},
            compensation="password.reset",
            undo=lambda _, output: {"user": output["assignee"]},
        ),
        ActionSpec(
            name="ticket.assign-badly",
            description="assign; its undo names no ticket the help desk knows",
            run=ticketing.assign,
            parameters={"ticket": TICKET},
            compensation="ticket.unassign",
            undo=lambda _, __: {"ticket": "nonsense"},
        ),
    ]


@pytest.mark.parametrize(
    ("action", "why"),
    [
        pytest.param(
            "ticket.assign-reset",
            "assign: password.reset refused: needs an obligation",
            id="an undo that would need a step-up is not run",
        ),
        pytest.param(
            "ticket.assign-badly",
            "assign: invalid parameters for action ticket.unassign: "
            "ticket: must match T-[0-9]{1,8}, found 'nonsense'",
            id="an undo with invalid parameters is not run",
        ),
    ],
)
def test_an_undo_that_cannot_run_leaves_the_rollback_incomplete(
    make_runtime: MakeRuntime, action: str, why: str
) -> None:
    runtime = make_runtime(settings=RuntimeSettings(system_actor="elena"), extra=guarded_undo)
    (runtime.config.runtime.workflows / "undo.yaml").write_text(
        f"""
id: undo
title: Assign, then fail
parameters: {{ticket: {{}}}}
steps:
  - id: assign
    action: {action}
    with: {{ticket: "{{{{ params.ticket }}}}"}}
  - id: lock
    action: ticket.lock
    with: {{ticket: "{{{{ params.ticket }}}}"}}
"""
    )
    runtime.restart()

    execution = runtime.run("undo", "elena", ticket="T-3")

    assert execution.state is ExecutionState.FAILED
    assert execution.error == (
        f"step lock failed: ticketing refused: the ticket is locked; rollback incomplete: {why}"
    )

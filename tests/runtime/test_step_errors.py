"""A step that cannot be run as defined fails its execution with a message that says why."""

from __future__ import annotations

import pytest

from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.harness import Runtime


def install(runtime: Runtime, name: str, text: str) -> None:
    (runtime.config.runtime.workflows / f"{name}.yaml").write_text(text)
    runtime.restart()


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        pytest.param(
            """
  - id: comment
    when: "params.ticket == 'T-2'"
    action: ticket.comment
    with: {ticket: "{{ params.ticket }}"}
  - id: close
    when: "steps.comment.output.ticket == 'T-1'"
    action: ticket.close
    with: {ticket: "{{ params.ticket }}"}
""",
            "step close: steps.comment.output.ticket is not defined",
            id="a condition on the output of a skipped step",
        ),
        pytest.param(
            """
  - id: comment
    action: ticket.comment
    with: {ticket: "{{ params.ticket + '0000000000' }}"}
""",
            "step comment: invalid parameters for action ticket.comment: "
            "ticket: must be 0 to 10 characters, found 13",
            id="parameters the action does not accept",
        ),
        pytest.param(
            """
  - id: later
    schedule:
      workflow: comment
      after_hours: "{{ params.ticket }}"
      with: {ticket: "{{ params.ticket }}"}
""",
            "step later: invalid parameters for step later: "
            "after_hours: expected whole hours, found 'T-1'",
            id="a delay that is not whole hours",
        ),
        pytest.param(
            """
  - id: later
    schedule:
      workflow: comment
      after_hours: -1
      with: {ticket: "{{ params.ticket }}"}
""",
            "step later: invalid parameters for step later: "
            "after_hours: expected whole hours, found -1",
            id="a delay in the past",
        ),
        pytest.param(
            """
  - id: later
    schedule:
      workflow: access-revoke
      after_hours: 1
      with: {user: tom, system: payroll, reason: "{{ params.ticket }}"}
""",
            "step later: invalid parameters for workflow access-revoke: "
            "reason: must be one of requested, grant_expired, found 'T-1'",
            id="a schedule with parameters its workflow refuses",
        ),
    ],
)
def test_a_step_that_cannot_run_fails_the_execution(
    runtime: Runtime, steps: str, error: str
) -> None:
    install(
        runtime,
        "broken",
        f"""
id: broken
title: Broken at run time
parameters: {{ticket: {{}}}}
steps:{steps}""",
    )

    execution = runtime.run("broken", "elena", ticket="T-1")

    assert execution.state is ExecutionState.FAILED
    assert execution.error == error
    assert runtime.types(execution.id)[-2:] == ["step.refused", "execution.finished"]
    assert runtime.ticketing.calls == []


def test_a_step_whose_action_is_gone_after_an_upgrade_fails(runtime: Runtime) -> None:
    runtime.ticketing.down = 1
    waiting = runtime.run("comment", "elena", ticket="T-1")
    for name in (
        "comment",
        "escalate",
        "close",
        "assign-then",
        "grant-then-lock",
        "grant-then-maybe-lock",
        "token",
    ):
        (runtime.config.runtime.workflows / f"{name}.yaml").unlink()
    runtime.with_tickets = False
    runtime.restart()
    runtime.clock.advance(seconds=2)

    failed = runtime.executor.advance(waiting.id)

    assert failed.state is ExecutionState.FAILED
    assert failed.error == (
        "step comment: invalid parameters for step comment: action: "
        "ticket.comment is not registered"
    )


def test_a_scheduled_workflow_gone_after_an_upgrade_fails_the_schedule(runtime: Runtime) -> None:
    waiting = runtime.run("grant-then-lock", "omar", user="tom", system="payroll")
    for name in ("grant-then-lock", "grant-then-maybe-lock", "access-revoke", "access-grant"):
        (runtime.config.runtime.workflows / f"{name}.yaml").unlink()
    runtime.restart()

    failed = runtime.approve(waiting, "priya")

    assert failed.state is ExecutionState.COMPENSATED
    assert failed.error is not None
    assert failed.error.startswith("step expire: unknown workflow 'access-revoke'; known: ")
    assert failed.step("grant").state is StepState.COMPENSATED
    assert runtime.directory.state("tom")["granted_groups"] == []

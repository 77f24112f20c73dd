"""No step runs, and so no looked-up fact reaches anyone, before the workflow's privileged
action on its target is allowed for the actor: the steps that come before the first
privileged one wait for that decision."""

from __future__ import annotations

import json

import pytest

from gateway.runtime.model import ExecutionState, StepState
from tests.identity.directories import Directory
from tests.runtime.harness import Clock, Runtime

SAM_FACTS = ("sam@example.com", "omar", "mfa_enrolled", "privileged", "Sam Okafor")


@pytest.mark.parametrize(
    ("actor", "user"),
    [
        pytest.param("tom", "sam", id="an employee asking about a colleague"),
        pytest.param("tom", "nobody", id="an employee asking about an account that does not exist"),
        pytest.param("ghost", "sam", id="an actor the directory does not know"),
    ],
)
def test_a_refused_reset_looks_nothing_up_and_says_the_same_whoever_asks(
    runtime: Runtime, actor: str, user: str
) -> None:
    failed = runtime.run("password-reset", actor, user=user)

    assert failed.state is ExecutionState.FAILED
    assert failed.error == (
        f"step lookup refused: {actor} is not allowed password.reset on account:{user}"
    )
    assert [(s.step_id, s.state) for s in failed.steps] == [
        ("lookup", StepState.FAILED),
        ("reset", StepState.PENDING),
        ("tell-user", StepState.PENDING),
    ]
    shown = json.dumps(failed.as_json())
    for fact in (*SAM_FACTS, "not found", "no directory facts"):
        assert fact not in shown
    assert "action.started" not in runtime.types(failed.id)
    (decision,) = runtime.decisions("password.reset")
    assert (decision.actor, decision.resource) == (actor, f"account:{user}")
    assert decision.payload["decision"] == "deny"
    assert failed.step("lookup").decision_id == decision.decision_id
    (refused,) = [r for r in runtime.trail(failed.id) if r.type == "step.refused"]
    assert refused.decision_id == decision.decision_id


def test_an_allowed_actor_sees_the_facts_after_the_decision(runtime: Runtime) -> None:
    done = runtime.run("password-reset", "elena", user="tom")

    assert done.state is ExecutionState.SUCCEEDED
    assert done.step("lookup").output["email"] == "tom@example.com"
    decisions = list(runtime.decisions("password.reset"))
    assert len(decisions) == 2, "one before the look-up, one before the reset"
    assert all(d.payload["decision"] == "allow" for d in decisions)
    trail = [
        (r.type, r.payload.get("step"))
        for r in runtime.records()
        if r.type in ("decision", "action.started")
    ]
    assert trail == [
        ("decision", None),
        ("action.started", "lookup"),
        ("decision", None),
        ("action.started", "reset"),
        ("action.started", "tell-user"),
    ]


def test_an_owner_who_must_still_step_up_may_see_their_own_facts(runtime: Runtime) -> None:
    waiting = runtime.run("password-reset", "tom", user="tom")

    assert waiting.state is ExecutionState.AWAITING_STEP_UP
    assert waiting.step("lookup").state is StepState.SUCCEEDED


def test_a_directory_down_at_the_decision_before_the_look_up_queues_it(
    runtime: Runtime,
) -> None:
    started = runtime.executor.start("password-reset", {"user": "tom"}, actor="elena")
    reachable = runtime.gateway.directory
    runtime.gateway.directory = Directory("ldap", users={}, down=True)
    try:
        waiting = runtime.executor.advance(started.id)
    finally:
        runtime.gateway.directory = reachable

    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert (waiting.waiting or {})["system"] == "directory"
    assert (waiting.waiting or {})["step"] == "lookup"
    assert waiting.step("lookup").attempts == 1
    assert waiting.step("lookup").output == {}


def test_a_privileged_step_that_needs_an_earlier_output_refuses_to_run_blind(
    runtime: Runtime,
) -> None:
    folder = runtime.config.runtime.workflows
    (folder / "reset-by-mail.yaml").write_text(
        """
id: reset-by-mail
title: Reset the password of whoever owns a mail address
parameters: {user: {}}
steps:
  - id: lookup
    action: directory.lookup
    with: {user: "{{ params.user }}"}
  - id: reset
    action: password.reset
    with: {user: "{{ steps.lookup.output.user }}"}
""".lstrip(),
        encoding="utf-8",
    )
    runtime.restart()

    failed = runtime.run("reset-by-mail", "elena", user="tom")

    assert failed.state is ExecutionState.FAILED
    assert failed.error == (
        "step lookup refused: the decision before it cannot be made: "
        "step reset: steps.lookup.output.user is not defined"
    )
    assert failed.step("lookup").output == {}
    assert list(runtime.decisions("password.reset")) == []


def test_a_directory_down_at_a_privileged_first_step_queues_it(runtime: Runtime) -> None:
    started = runtime.executor.start(
        "access-grant", {"user": "tom", "system": "payroll"}, actor="omar"
    )
    reachable = runtime.gateway.directory
    runtime.gateway.directory = Directory("ldap", users={}, down=True)
    try:
        waiting = runtime.executor.advance(started.id)
    finally:
        runtime.gateway.directory = reachable

    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert (waiting.waiting or {})["step"] == "grant"
    (decision,) = runtime.decisions("access.grant")
    assert decision.payload["decision"] == "deny"


def test_a_decision_that_cannot_be_recorded_queues_the_look_up(
    runtime: Runtime, clock: Clock
) -> None:
    started = runtime.executor.start("password-reset", {"user": "tom"}, actor="elena")
    log = runtime.config.audit.log
    intact = log.read_bytes()
    log.write_bytes(intact + b"not a record\n")

    waiting = runtime.executor.advance(started.id)

    assert waiting.state is ExecutionState.WAITING_FOR_TARGET
    assert (waiting.waiting or {})["system"] == "audit log"
    assert waiting.step("lookup").output == {}
    log.write_bytes(intact)
    clock.advance(seconds=2)
    assert runtime.executor.advance(started.id).state is ExecutionState.SUCCEEDED

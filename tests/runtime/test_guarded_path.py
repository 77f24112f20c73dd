"""The guarded path: decision, then audit, then action, then audit; a deny runs nothing."""

from __future__ import annotations

from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.harness import Runtime


def test_an_allowed_reset_is_decided_and_audited_before_it_runs(runtime: Runtime) -> None:
    execution = runtime.run("password-reset", "elena", user="tom")

    assert execution.state is ExecutionState.SUCCEEDED
    assert [s.state for s in execution.steps] == [StepState.SUCCEEDED] * 3
    reset = execution.step("reset")
    assert reset.decision_id is not None
    assert reset.sealed == ("temporary_password",)
    assert reset.output == {"changed": True, "must_change": True}
    records = runtime.records()
    kinds = [
        (r.type, r.payload.get("step"))
        for r in records
        if r.decision_id == reset.decision_id or r.payload.get("step") == "reset"
    ]
    assert kinds == [
        ("decision", None),
        ("action.started", "reset"),
        ("action.succeeded", "reset"),
    ]
    decision = next(runtime.decisions("password.reset"))
    assert (decision.actor, decision.resource) == ("elena", "account:tom")
    assert decision.payload["context"]["channel"] == "cli"
    assert runtime.types(execution.id) == [
        "execution.started",
        "action.started",
        "action.succeeded",
        "action.started",
        "action.succeeded",
        "action.started",
        "action.succeeded",
        "execution.finished",
    ]
    assert runtime.directory.state("tom")["must_change"] is True
    assert execution.status == "succeeded"


def test_a_denied_step_is_refused_and_its_action_never_runs(runtime: Runtime) -> None:
    execution = runtime.run("software-install", "elena", title="torrent-client", device="e-1")

    assert execution.state is ExecutionState.FAILED
    install = execution.step("install")
    assert install.state is StepState.FAILED
    assert install.error == (
        "step install refused: forbidden by software-install-catalog-only: "
        "only titles in the approved catalog can be installed"
    )
    assert execution.error == install.error
    assert execution.status == f"failed: {install.error}"
    assert execution.step("tell-requester").state is StepState.PENDING
    assert runtime.devices.installed("e-1") == []
    assert runtime.types(execution.id) == [
        "execution.started",
        "step.refused",
        "execution.finished",
    ]
    refused = runtime.trail(execution.id)[1]
    assert refused.decision_id == install.decision_id
    assert refused.payload["reason"] == install.error
    assert next(runtime.decisions("software.install")).payload["decision"] == "deny"


def test_a_title_the_directory_does_not_know_is_refused_saying_just_that(
    runtime: Runtime,
) -> None:
    execution = runtime.run("software-install", "elena", title="7-zip", device="e-1")

    assert execution.state is ExecutionState.FAILED
    assert execution.step("install").error == (
        "step install refused: no directory facts for software:7-zip"
    )
    assert runtime.devices.installed("e-1") == []


def test_a_false_condition_skips_its_step_and_says_why(runtime: Runtime) -> None:
    execution = runtime.run("account-unlock", "elena", user="tom")

    assert execution.state is ExecutionState.SUCCEEDED
    assert execution.step("unlock").output == {"changed": False}
    assert execution.step("tell-user").state is StepState.SKIPPED
    skipped = [r for r in runtime.trail(execution.id) if r.type == "step.skipped"]
    assert [r.payload["why"] for r in skipped] == ["its condition is false"]


def test_a_locked_account_is_unlocked_and_its_owner_told(runtime: Runtime) -> None:
    runtime.directory.lock_account("tom")

    execution = runtime.run("account-unlock", "elena", user="tom")

    assert execution.state is ExecutionState.SUCCEEDED
    assert execution.step("tell-user").output == {"sent_to": "tom"}
    assert runtime.directory.state("tom")["locked"] is False
    sent = runtime.config.notifications.file.read_text()
    assert "Your account was unlocked" in sent
    assert "requested by elena" in sent

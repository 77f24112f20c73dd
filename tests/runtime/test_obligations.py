"""Obligations: a step waits, durably, for a step-up or an approval bound to its request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.runtime.model import ExecutionState, StepState
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import Clock, Runtime

OTHER_DIGEST = "sha256:" + "0" * 64


def test_a_reset_of_ones_own_password_waits_for_a_step_up_bound_to_it(runtime: Runtime) -> None:
    seed = runtime.enrol("tom")

    waiting = runtime.run("password-reset", "tom", user="tom")

    assert waiting.state is ExecutionState.AWAITING_STEP_UP
    digest = str((waiting.waiting or {})["digest"])
    assert waiting.waiting == {
        "kind": "step_up",
        "step": "reset",
        "digest": digest,
        "max_age_seconds": 300,
    }
    assert waiting.step("reset").digest == digest
    assert waiting.status == f"waiting for tom to step up for reset (bound to {digest})"
    assert runtime.directory.state("tom")["password_set_at"] is None

    runtime.step_up("tom", seed, OTHER_DIGEST)
    still = runtime.executor.advance(waiting.id)

    assert still.state is ExecutionState.AWAITING_STEP_UP, "a step-up for another request"
    assert runtime.types(waiting.id).count("execution.awaiting_step_up") == 1

    runtime.step_up("tom", seed, digest, offset=1)
    done = runtime.executor.advance(waiting.id)

    assert done.state is ExecutionState.SUCCEEDED
    assert done.step("reset").sealed == ("temporary_password",)
    assert runtime.directory.state("tom")["password_set_at"] is not None


def grant(runtime: Runtime, **extra: object) -> str:
    execution = runtime.run("access-grant", "omar", user="tom", system="payroll", **extra)
    assert execution.state is ExecutionState.PENDING_APPROVAL
    return execution.id


def test_a_grant_waits_for_the_managers_approval_then_runs(runtime: Runtime) -> None:
    waiting = runtime.executor.get(grant(runtime))
    approval_id = str((waiting.waiting or {})["approval_id"])

    assert runtime.opened == [approval_id], "the approvers are told as it opens"
    assert waiting.status == f"waiting for approval {approval_id} (grant)"
    assert sorted(waiting.waiting or {}) == ["approval_id", "digest", "expires_at", "kind", "step"]
    assert waiting.step("grant").approval_id == approval_id
    assert runtime.executor.execution_for_approval(approval_id) == waiting.id
    assert runtime.executor.execution_for_approval("nothing") is None
    again = runtime.executor.advance(waiting.id)
    assert again.state is ExecutionState.PENDING_APPROVAL
    assert runtime.types(waiting.id).count("execution.pending_approval") == 1

    done = runtime.approve(waiting, "priya")

    assert done.state is ExecutionState.SUCCEEDED
    assert done.step("expire").state is StepState.SKIPPED, "no duration: no expiry"
    assert runtime.directory.state("tom")["granted_groups"] == ["access-payroll"]
    sent = runtime.config.notifications.file.read_text()
    assert "You now have access to payroll (granted by omar)." in sent


@pytest.mark.parametrize(
    ("ending", "reason"),
    [
        pytest.param("reject", "was rejected", id="a rejected approval fails the execution"),
        pytest.param("expire", "was expired", id="an expired approval fails the execution"),
        pytest.param("cancel", "was cancelled", id="a withdrawn approval fails the execution"),
    ],
)
def test_an_approval_that_is_not_given_fails_the_execution(
    runtime: Runtime, clock: Clock, ending: str, reason: str
) -> None:
    waiting = runtime.executor.get(grant(runtime))
    approval_id = str((waiting.waiting or {})["approval_id"])
    approvals = runtime.gateway.approvals
    assert approvals is not None
    if ending == "reject":
        approvals.reject(approval_id, "priya", digest=str((waiting.waiting or {})["digest"]))
    elif ending == "expire":
        approvals.tick(now=clock() + timedelta(hours=25))
    else:
        approvals.cancel(approval_id, "omar")

    failed = runtime.executor.advance(waiting.id)

    assert failed.state is ExecutionState.FAILED
    assert failed.error == f"step grant refused: approval {approval_id} {reason}"
    assert runtime.directory.state("tom")["granted_groups"] == []
    assert runtime.types(waiting.id)[-2:] == ["step.refused", "execution.finished"]


def test_an_approval_no_longer_suffices_when_the_managers_changed(runtime: Runtime) -> None:
    waiting = runtime.executor.get(grant(runtime))
    approvals = runtime.gateway.approvals
    assert approvals is not None
    approvals.approve(
        str((waiting.waiting or {})["approval_id"]),
        "priya",
        digest=str((waiting.waiting or {})["digest"]),
    )
    directory = runtime.config.identity.static_file
    directory.write_text(
        directory.read_text().replace("    manager: priya\n    mfa", "    manager: grace\n    mfa")
    )
    runtime.restart()

    failed = runtime.executor.advance(waiting.id)

    assert failed.state is ExecutionState.FAILED
    assert failed.error == (
        f"step grant refused: approval {waiting.step('grant').approval_id} no longer suffices: "
        "approval of access-grant-with-manager-approval needs 1 of [manager]; "
        "approvals that still count: []"
    )
    assert runtime.directory.state("tom")["granted_groups"] == []
    refused = [r for r in runtime.trail(waiting.id) if r.type == "step.refused"]
    assert refused[0].payload["reason"] == failed.error


def test_an_approval_is_refused_when_the_policy_no_longer_allows_the_grant(
    runtime: Runtime,
) -> None:
    waiting = runtime.executor.get(grant(runtime))
    approvals = runtime.gateway.approvals
    assert approvals is not None
    approvals.approve(
        str((waiting.waiting or {})["approval_id"]),
        "priya",
        digest=str((waiting.waiting or {})["digest"]),
    )
    access = runtime.config.policy.dir / "cedar" / "access.cedar"
    access.write_text(access.read_text().replace("context has system };", "false };", 1))
    assert runtime.gateway.policies.reload().changed

    failed = runtime.executor.advance(waiting.id)

    assert failed.state is ExecutionState.FAILED
    assert failed.error == "step grant refused: no policy permits access.grant on account:tom"
    assert runtime.directory.state("tom")["granted_groups"] == []


def test_an_approval_opens_and_waits_with_nobody_to_tell(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime(tell_approvers=False)

    waiting = runtime.executor.get(grant(runtime))

    assert runtime.opened == []
    approvals = runtime.gateway.approvals
    assert approvals is not None
    assert [item.id for item in approvals.list_pending("priya")] == [
        (waiting.waiting or {})["approval_id"]
    ]


def test_a_privileged_reset_needs_security_approval_and_then_a_step_up(runtime: Runtime) -> None:
    seed = runtime.enrol("elena")
    waiting = runtime.run("password-reset", "elena", user="sam")
    assert waiting.state is ExecutionState.PENDING_APPROVAL

    approved = runtime.approve(waiting, "grace")

    assert approved.state is ExecutionState.AWAITING_STEP_UP
    runtime.step_up("elena", seed, str((approved.waiting or {})["digest"]))
    done = runtime.executor.advance(waiting.id)
    assert done.state is ExecutionState.SUCCEEDED
    assert runtime.directory.state("sam")["password_set_at"] is not None


@pytest.mark.parametrize(
    ("change", "state"),
    [
        pytest.param(
            "standard", ExecutionState.SUCCEEDED, id="a standard change is approved by policy"
        ),
        pytest.param(
            "normal", ExecutionState.PENDING_APPROVAL, id="a normal change waits for the manager"
        ),
    ],
)
def test_the_on_call_technicians_standard_install_is_approved_by_policy(
    runtime: Runtime, change: str, state: ExecutionState
) -> None:
    execution = runtime.run(
        "install-change", "elena", title="visio", device="elena-laptop", change=change
    )

    assert execution.state is state
    auto = [r for r in runtime.records() if r.type == "approval.auto_approved"]
    if state is ExecutionState.SUCCEEDED:
        assert runtime.devices.installed("elena-laptop") == ["visio"]
        assert len(auto) == 1
        assert runtime.opened == [], "nobody is asked"
    else:
        assert runtime.devices.installed("elena-laptop") == []
        assert auto == []
        assert len(runtime.opened) == 1


def test_with_approvals_turned_off_a_step_that_needs_one_is_refused(runtime: Runtime) -> None:
    earlier = grant(runtime)
    approvals = runtime.config.approvals.model_copy(update={"enabled": False})
    runtime.config = runtime.config.model_copy(update={"approvals": approvals})
    runtime.restart()

    resumed = runtime.executor.advance(earlier)
    fresh = runtime.run("access-grant", "omar", user="tom", system="crm")

    assert resumed.state is ExecutionState.FAILED
    assert resumed.error == (
        "step grant refused: approvals are disabled, so the approval cannot be checked"
    )
    assert fresh.state is ExecutionState.FAILED
    assert fresh.error == (
        "step grant refused: the policy demands an approval but approvals are disabled"
    )


def test_with_step_up_turned_off_a_step_that_needs_one_is_refused(
    runtime: Runtime,
) -> None:
    stepup = runtime.config.stepup.model_copy(update={"enabled": False})
    runtime.config = runtime.config.model_copy(update={"stepup": stepup})
    runtime.restart()

    execution = runtime.run("password-reset", "tom", user="tom")

    assert execution.state is ExecutionState.FAILED
    assert execution.error == (
        "step reset refused: the policy demands a step-up but step-up is disabled"
    )


def test_a_step_up_wakes_only_the_executions_of_that_person_that_wait_for_one(
    runtime: Runtime,
) -> None:
    seed = runtime.enrol("tom")
    waiting = runtime.run("password-reset", "tom", user="tom")
    runtime.run("software-install", "tom", title="7zip", device="tom-pc")  # finishes at once
    digest = str((waiting.waiting or {})["digest"])
    runtime.step_up("tom", seed, digest)

    woken = runtime.executor.wake_stepped_up("tom")
    nobody = runtime.executor.wake_stepped_up("elena")
    runtime.restart()  # closing waits for the background work

    assert woken == [waiting.id]
    assert nobody == []
    assert runtime.executor.get(waiting.id).state is ExecutionState.SUCCEEDED

"""Running catalog items: through the guarded runtime, within every guardrail."""

from __future__ import annotations

import pytest

from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.runtime.errors import IdempotencyConflictError, ParameterError
from gateway.selfservice import RunRefusedError, RunState, RunStateError, UnknownItemError
from gateway.selfservice.errors import UnknownRunError
from tests.selfservice.harness import Stack

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


def installed(stack: Stack, device: str) -> list[str]:
    manager = EmbeddedDeviceManager(stack.config.runtime.embedded_systems / "devices.db")
    try:
        return manager.installed(device)
    finally:
        manager.close()


def test_tom_installs_an_approved_title_on_his_own_laptop(stack: Stack) -> None:
    run = stack.service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    assert run.state is RunState.SUCCEEDED
    assert run.department == "Finance"
    assert run.minutes_saved == 20
    assert installed(stack, "tom-laptop") == ["7zip"]
    execution = stack.executor.get(run.executions[0])
    assert execution.channel == "self_service"
    assert [s.step_id for s in execution.steps] == ["install", "tell-requester"]
    types = stack.audit_types()
    assert types.index("selfservice.run_admitted") < types.index("action.started")
    assert "selfservice.run_finished" in types
    assert stack.service.get(run.id).state is RunState.SUCCEEDED


def test_someone_elses_laptop_is_refused_with_the_reason_and_nothing_runs(stack: Stack) -> None:
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run("tom", "install-software", {"title": "7zip", "devices": "priya-laptop"})
    assert caught.value.reason == "target_not_allowed"
    assert "priya-laptop is not one of your devices (yours: tom-desktop, tom-laptop)" in str(
        caught.value
    )
    assert installed(stack, "priya-laptop") == []
    assert stack.executor.recent() == []
    refused = stack.audit_records("selfservice.refused")
    assert refused[-1]["reason"] == "target_not_allowed"
    assert stack.service.usage().total.refusals == {"target_not_allowed": 1}


def test_an_unapproved_title_is_an_invalid_parameter_naming_what_is_allowed(
    stack: Stack,
) -> None:
    with pytest.raises(ParameterError) as caught:
        stack.service.run(
            "tom", "install-software", {"title": "torrent-client", "devices": "tom-laptop"}
        )
    assert "title: 'torrent-client' is not an approved title of the software catalog" in str(
        caught.value
    )
    assert "(allowed: 7zip, visio)" in str(caught.value)
    assert stack.service.usage().total.refusals == {"invalid_parameters": 1}


def test_an_unknown_item_is_refused_and_counted(stack: Stack) -> None:
    with pytest.raises(UnknownItemError, match="unknown catalog item 'nope'"):
        stack.service.run("tom", "nope", {})
    assert stack.service.usage().items["nope"].refusals == {"unknown_item": 1}


def test_the_fourth_run_of_the_day_is_refused_by_the_quota(stack: Stack) -> None:
    for title in ("7zip", "7zip", "7zip"):
        stack.service.run("tom", "install-software", {"title": title, "devices": "tom-laptop"})
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    assert caught.value.reason == "quota"
    assert "your quota of 3 runs per day is used up (3 of 3); it renews next day" in str(
        caught.value
    )
    stack.clock.advance(days=1)
    again = stack.service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    assert again.state is RunState.SUCCEEDED


def test_a_rate_limit_refuses_until_the_window_passes(stack: Stack) -> None:
    first = stack.service.run("tom", "reset-my-password", {})
    assert first.state is RunState.RUNNING  # the reset waits for Tom's step-up
    # asked again while it waits: that run; once it is over, a new one is rate limited
    assert stack.service.run("tom", "reset-my-password", {}).id == first.id
    stack.service.cancel(first.id, "tom")
    with pytest.raises(RunRefusedError, match=r"at most 1 runs per 10m for each person"):
        stack.service.run("tom", "reset-my-password", {})
    stack.clock.advance(minutes=11)
    assert stack.service.run("tom", "reset-my-password", {}).state is RunState.RUNNING


def test_more_devices_than_the_blast_radius_are_refused(stack: Stack) -> None:
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run(
            "sam",
            "install-software",
            {
                "title": "7zip",
                "devices": ["sam-laptop", "sam-workstation", "tom-laptop", "elena-laptop"],
            },
        )
    assert caught.value.reason == "blast_radius"
    assert "at most 3 targets in one run, found 4" in str(caught.value)


def test_a_maintenance_window_refuses_and_says_when_to_come_back(stack: Stack) -> None:
    stack.clock.now = stack.clock.now.replace(day=9, hour=3)  # a Sunday, 03:00 UTC
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    assert caught.value.reason == "maintenance"
    assert "device manager patching (02:00-04:00 UTC); try again after 04:00 UTC" in str(
        caught.value
    )


def test_the_account_items_act_on_the_own_account_only(stack: Stack) -> None:
    with pytest.raises(RunRefusedError, match="priya is not your account"):
        stack.service.run("tom", "reset-my-password", {"account": "priya"})


def test_the_policy_refuses_it_tools_outside_it_and_the_refusal_is_recorded(
    stack: Stack,
) -> None:
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run("tom", "grant-temporary-access", {"users": "tom", "system": "crm"})
    assert caught.value.reason == "denied"
    assert "IT tools in the catalog are for the IT department only" in str(caught.value)
    (run,) = stack.service.recent(actor="tom")
    assert run.state is RunState.REFUSED
    assert run.decision_id is not None
    assert stack.executor.recent() == []
    # a refused run does not use the quota
    assert stack.service.usage().total.runs == 0


def test_above_the_threshold_the_run_waits_for_the_managers_approval(stack: Stack) -> None:
    service = stack.service
    run = service.run(
        "tom", "install-software", {"title": "7zip", "devices": "tom-laptop,tom-desktop"}
    )
    assert run.state is RunState.PENDING_APPROVAL
    assert run.executions == ()
    waiting = run.waiting or {}
    assert service.resume(run.id).state is RunState.PENDING_APPROVAL
    approvals = stack.gateway.approvals
    assert approvals is not None
    approvals.approve(str(waiting["approval_id"]), "priya", digest=str(waiting["digest"]))
    done = service.resume(run.id)
    assert done.state is RunState.SUCCEEDED
    assert len(done.executions) == 2
    assert installed(stack, "tom-desktop") == ["7zip"]
    assert done.minutes_saved == 40


def test_a_run_waiting_for_approval_says_what_for_and_records_it_once(stack: Stack) -> None:
    service = stack.service
    run = service.run(
        "tom", "install-software", {"title": "7zip", "devices": "tom-laptop,tom-desktop"}
    )
    waiting = run.waiting or {}
    assert sorted(waiting) == ["approval_id", "digest", "expires_at", "kind"]
    assert waiting["kind"] == "approval"
    assert run.approval_id == waiting["approval_id"]
    assert run.status == f"waiting for approval {waiting['approval_id']}"
    assert service.resume(run.id).waiting == waiting
    (recorded,) = stack.audit_records("selfservice.pending_approval")
    assert recorded["approval_id"] == waiting["approval_id"]
    assert recorded["digest"] == waiting["digest"]


def test_a_rejected_approval_refuses_the_run(stack: Stack) -> None:
    run = stack.service.run(
        "tom", "install-software", {"title": "7zip", "devices": "tom-laptop,tom-desktop"}
    )
    waiting = run.waiting or {}
    approvals = stack.gateway.approvals
    assert approvals is not None
    approvals.reject(str(waiting["approval_id"]), "priya", digest=str(waiting["digest"]))
    with pytest.raises(RunRefusedError, match="was rejected"):
        stack.service.resume(run.id)
    assert stack.service.get(run.id).state is RunState.REFUSED


def test_a_pending_run_is_cancelled_with_its_approval(stack: Stack) -> None:
    run = stack.service.run(
        "tom", "install-software", {"title": "7zip", "devices": "tom-laptop,tom-desktop"}
    )
    with pytest.raises(RunStateError, match="only tom may cancel"):
        stack.service.cancel(run.id, "priya")
    cancelled = stack.service.cancel(run.id, "tom")
    assert cancelled.state is RunState.CANCELLED
    approvals = stack.gateway.approvals
    assert approvals is not None
    assert approvals.get(str(run.approval_id)).state == "cancelled"
    with pytest.raises(RunStateError, match="already cancelled"):
        stack.service.cancel(run.id, "tom")
    assert stack.service.resume(run.id).state is RunState.CANCELLED


def test_a_licensed_title_waits_in_the_runtime_and_cancelling_undoes_it(stack: Stack) -> None:
    run = stack.service.run("tom", "install-software", {"title": "visio", "devices": "tom-laptop"})
    assert run.state is RunState.RUNNING
    assert "waiting for approval" in run.status
    assert (run.waiting or {})["kind"] == "approval"
    assert stack.service.tick() == 1
    cancelled = stack.service.cancel(run.id, "tom")
    assert cancelled.state is RunState.CANCELLED
    assert stack.service.usage().total.cancelled == 1


def test_a_licensed_title_installs_once_the_manager_approves(stack: Stack) -> None:
    run = stack.service.run("tom", "install-software", {"title": "visio", "devices": "tom-laptop"})
    execution = stack.executor.get(run.executions[0])
    waiting = execution.waiting or {}
    approvals = stack.gateway.approvals
    assert approvals is not None
    approvals.approve(str(waiting["approval_id"]), "priya", digest=str(waiting["digest"]))
    assert stack.service.resume(run.id).state is RunState.SUCCEEDED
    assert installed(stack, "tom-laptop") == ["visio"]


def test_the_same_idempotency_key_gives_the_same_run(stack: Stack) -> None:
    given = {"title": "7zip", "devices": "tom-laptop"}
    first = stack.service.run("tom", "install-software", given, idempotency_key="k1")
    again = stack.service.run("tom", "install-software", given, idempotency_key="k1")
    assert again.id == first.id
    with pytest.raises(IdempotencyConflictError):
        stack.service.run(
            "tom",
            "install-software",
            {"title": "visio", "devices": "tom-laptop"},
            idempotency_key="k1",
        )
    assert stack.service.usage().total.runs == 1


def test_a_target_already_being_acted_on_is_refused_before_the_run_is_charged(
    stack: Stack,
) -> None:
    visio = {"title": "visio", "devices": "tom-laptop"}
    first = stack.service.run("tom", "install-software", visio)
    assert first.state is RunState.RUNNING
    assert stack.service.run("tom", "install-software", visio).id == first.id
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run(
            "tom", "install-software", {"title": "visio", "devices": "tom-laptop,tom-desktop"}
        )
    assert caught.value.reason == "target_busy"
    assert f"execution {first.executions[0]} is already acting on device:tom-laptop:visio" in (
        str(caught.value)
    )
    assert [run.id for run in stack.service.recent("tom")] == [first.id]


def test_a_failing_execution_fails_the_run(stack: Stack) -> None:
    run = stack.service.run("tom", "install-software", {"title": "visio", "devices": "tom-laptop"})
    execution = stack.executor.get(run.executions[0])
    waiting = execution.waiting or {}
    approvals = stack.gateway.approvals
    assert approvals is not None
    approvals.reject(str(waiting["approval_id"]), "priya", digest=str(waiting["digest"]))
    failed = stack.service.resume(run.id)
    assert failed.state is RunState.FAILED
    assert failed.error is not None
    assert "rejected" in failed.error
    assert stack.service.usage().total.failed == 1


def test_a_step_up_holds_the_run_until_the_person_steps_up(stack: Stack) -> None:
    run = stack.service.run("tom", "reset-my-password", {})
    assert run.state is RunState.RUNNING
    assert (run.waiting or {})["kind"] == "step_up"


def test_unknown_runs_are_refused(stack: Stack) -> None:
    with pytest.raises(UnknownRunError, match="unknown catalog run 'x'"):
        stack.service.get("x")

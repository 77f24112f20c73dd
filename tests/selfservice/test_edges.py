"""Less travelled paths: step-ups at the run, background runs, caches, periods, sources."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest

from gateway.app import listed_software
from gateway.config import GatewayConfig, IdentityConfig
from gateway.runtime.errors import ParameterError
from gateway.selfservice import RunRefusedError, RunState
from gateway.selfservice.admission import LimitCheck, period_start
from gateway.selfservice.browsing import CatalogBrowser
from gateway.selfservice.definitions import Quota
from gateway.selfservice.model import RefusalReason, Run
from tests.selfservice.harness import Clock, Stack

STEP_UP_POLICY = """
@id("selfservice-accounts-step-up")
@step_up("max_age=5m")
permit (principal in Group::"staff", action == Action::"selfservice.run", resource is CatalogItem)
when { context has category && context.category == "accounts" };
"""

ODD_ITEM = """
id: odd-install
title: Install with spaces
category: software
owner: it-support
workflow: software-install
parameters:
  device: {pattern: "[a-z -]+"}
with: {title: 7zip, device: "{{ params.device }}"}
"""


def test_a_run_level_step_up_holds_the_run_until_the_person_steps_up(
    config: GatewayConfig,
) -> None:
    (config.policy.dir / "cedar" / "zz-test-step-up.cedar").write_text(STEP_UP_POLICY)
    stack = Stack(config, Clock(datetime.now(UTC)))
    try:
        run = stack.service.run("tom", "unlock-my-account", {})
        assert run.state is RunState.AWAITING_STEP_UP
        assert run.status.startswith("waiting for tom to step up (bound to sha256:")
        assert stack.service.resume(run.id).state is RunState.AWAITING_STEP_UP
        stepup = stack.gateway.stepup
        assert stepup is not None
        seed = stepup.enrol("tom").seed.get_secret_value()
        stepup.verify("tom", pyotp.TOTP(seed).now(), bound_to=str((run.waiting or {})["digest"]))
        resumed = stack.service.resume(run.id)
        assert resumed.state is not RunState.AWAITING_STEP_UP
        assert len(resumed.executions) == 1
        other = stack.service.run("omar", "unlock-my-account", {})
        assert stack.service.cancel(other.id, "omar").state is RunState.CANCELLED
    finally:
        stack.close()


def test_a_value_the_workflow_refuses_is_an_invalid_parameter(config: GatewayConfig) -> None:
    (config.selfservice.catalog / "odd-install.yaml").write_text(ODD_ITEM)
    stack = Stack(config)
    try:
        with pytest.raises(
            ParameterError, match="invalid parameters for workflow software-install"
        ):
            stack.service.run("tom", "odd-install", {"device": "my laptop"})
        assert stack.service.usage().items["odd-install"].refusals == {"invalid_parameters": 1}
    finally:
        stack.close()


def test_a_background_run_finishes_on_the_executors_threads(stack: Stack) -> None:
    run = stack.service.run(
        "tom",
        "install-software",
        {"title": "7zip", "devices": "tom-laptop"},
        background=True,
        ticket="T-1",
    )
    deadline = time.monotonic() + 30
    while not stack.service.get(run.id).state.finished and time.monotonic() < deadline:
        time.sleep(0.02)
    done = stack.service.get(run.id)
    assert done.state is RunState.SUCCEEDED
    assert done.ticket == "T-1"
    assert stack.executor.get(done.executions[0]).ticket == "T-1"


def test_cancelling_a_run_halfway_undoes_only_what_is_unfinished(stack: Stack) -> None:
    approvals = stack.gateway.approvals
    assert approvals is not None
    run = stack.service.run(
        "tom", "install-software", {"title": "visio", "devices": "tom-laptop,tom-desktop"}
    )
    waiting = run.waiting or {}
    approvals.approve(str(waiting["approval_id"]), "priya", digest=str(waiting["digest"]))
    started = stack.service.resume(run.id)
    assert started.state is RunState.RUNNING
    first = stack.executor.get(started.executions[0]).waiting or {}
    approvals.approve(str(first["approval_id"]), "priya", digest=str(first["digest"]))
    halfway = stack.service.resume(run.id)
    assert halfway.state is RunState.RUNNING
    assert stack.executor.get(started.executions[0]).state == "succeeded"
    cancelled = stack.service.cancel(run.id, "tom")
    assert cancelled.state is RunState.CANCELLED


def test_the_own_account_is_allowed(stack: Stack) -> None:
    run = stack.service.run("tom", "reset-my-password", {"account": "tom"})
    assert run.targets == ("tom",)


def test_a_missing_list_is_named(stack: Stack) -> None:
    with pytest.raises(ParameterError, match="devices: required"):
        stack.service.run("tom", "install-software", {"title": "7zip"})


def test_visibility_is_kept_for_its_time_then_decided_again(stack: Stack) -> None:
    now = [0.0]
    browser = CatalogBrowser(
        stack.service.catalog, stack.gateway, {}, ttl=60, monotonic=lambda: now[0]
    )
    assert len(browser.browse("tom")) == 3
    (stack.config.policy.dir / "cedar" / "selfservice.cedar").write_text(
        (stack.config.policy.dir / "cedar" / "selfservice.cedar")
        .read_text()
        .replace('context.category == "it-tools"', 'context.category == "software"')
    )
    stack.gateway.policies.reload()
    assert len(browser.browse("tom")) == 3  # kept
    now[0] = 61
    assert [i.id for i in browser.browse("tom")] == [
        "grant-temporary-access",
        "reset-my-password",
        "unlock-my-account",
    ]
    item = stack.service.catalog.get("reset-my-password")
    assert browser.choices("tom", stack.service.catalog.get("install-software")) == {}
    assert stack.service.browser.choices("tom", item) == {}
    assert browser.show("tom", item.id) is item


@pytest.mark.parametrize(
    ("period", "start"),
    [
        ("day", datetime(2024, 6, 5, tzinfo=UTC)),
        ("week", datetime(2024, 6, 3, tzinfo=UTC)),
        ("month", datetime(2024, 6, 1, tzinfo=UTC)),
    ],
)
def test_quota_periods_start_on_the_calendar(period: str, start: datetime) -> None:
    quota = Quota.model_validate({"max": 1, "period": period})
    assert period_start(quota, datetime(2024, 6, 5, 13, 30, tzinfo=UTC)) == start


def test_the_first_breached_limit_is_the_reason() -> None:
    check = LimitCheck()
    check.breach(RefusalReason.RATE_LIMIT, "first")
    check.breach(RefusalReason.QUOTA, "second")
    assert check.refusal is not None
    assert check.refusal.message == "first"


def test_software_choices_come_from_the_static_file_only(
    config: GatewayConfig, tmp_path: Path
) -> None:
    assert listed_software(config) == ["7zip", "torrent-client", "visio"]
    okta = config.model_copy(update={"identity": IdentityConfig.model_construct(sources=["okta"])})
    assert listed_software(okta) == []


def test_a_quota_refusal_through_a_dry_run_and_a_run_agree(stack: Stack) -> None:
    for _ in range(5):  # each waits for Tom's step-up; cancelled, it still counts
        stack.service.cancel(stack.service.run("tom", "unlock-my-account", {}).id, "tom")
    with pytest.raises(RunRefusedError, match="quota"):
        stack.service.run("tom", "unlock-my-account", {})


def test_a_run_whose_approval_was_rejected_can_still_be_cancelled(stack: Stack) -> None:
    run = stack.service.run(
        "tom", "install-software", {"title": "7zip", "devices": "tom-laptop,tom-desktop"}
    )
    waiting = run.waiting or {}
    approvals = stack.gateway.approvals
    assert approvals is not None
    approvals.reject(str(waiting["approval_id"]), "priya", digest=str(waiting["digest"]))
    assert stack.service.cancel(run.id, "tom").state is RunState.CANCELLED


def test_without_a_device_inventory_no_device_is_a_valid_target(config: GatewayConfig) -> None:
    (config.selfservice.catalog / config.selfservice.inventory).unlink()
    stack = Stack(config)
    try:
        with pytest.raises(ParameterError, match="'tom-laptop' is not a managed device"):
            stack.service.run("tom", "install-software", {"title": "7zip", "devices": "tom-laptop"})
    finally:
        stack.close()


def _left_admitted(stack: Stack, given: dict[str, str], actor: str = "tom") -> Run:
    """What a process that died between admission and decision leaves in the store."""
    now = stack.clock()
    run = Run(
        id="0" * 31 + "1",
        item="install-software",
        item_version=1,
        actor=actor,
        department="Finance",
        state=RunState.ADMITTED,
        created_at=now,
        updated_at=now,
        parameters=given,
        targets=(given["devices"],),
    )
    with stack.service.store.transaction() as tx:
        tx.insert(run)
    return run


def test_a_run_left_admitted_by_a_dead_process_is_decided_after_the_grace(
    stack: Stack, clock: Clock
) -> None:
    run = _left_admitted(stack, {"title": "7zip", "devices": "tom-laptop"})

    soon = stack.service.resume(run.id)
    clock.advance(seconds=61)
    stack.service.tick()
    later = stack.service.get(run.id)

    assert soon.state is RunState.ADMITTED, "it may still be deciding elsewhere"
    assert later.state is RunState.SUCCEEDED
    assert [stack.executor.get(e).state for e in later.executions] == ["succeeded"]


def test_a_run_left_admitted_that_policy_refuses_is_recorded_as_refused(
    stack: Stack, clock: Clock
) -> None:
    run = _left_admitted(stack, {"title": "7zip", "devices": "lena-laptop"}, actor="lena")
    clock.advance(seconds=61)

    resumed = stack.service.resume(run.id)

    assert resumed.state is RunState.REFUSED  # lena's account is disabled
    assert resumed.decision_id is not None
    assert not str(resumed.error).startswith("could not be decided")


def test_a_run_left_admitted_whose_parameters_no_longer_hold_is_refused_with_why(
    stack: Stack, clock: Clock
) -> None:
    run = _left_admitted(stack, {"title": "7zip", "devices": "priya-laptop"})
    clock.advance(seconds=61)

    resumed = stack.service.resume(run.id)

    assert resumed.state is RunState.REFUSED
    assert str(resumed.error).startswith("could not be decided after an interruption: ")
    assert "selfservice.run_refused" in stack.audit_types()

"""What a double or triple click produces: the same submission while one is in flight
gives back that run, and a target something else is acting on is refused at admission,
before it costs any quota or rate limit."""

from __future__ import annotations

import threading

import pytest

from gateway.selfservice import RunRefusedError, RunState, SelfService
from gateway.selfservice.store import RunStore
from tests.selfservice.harness import Stack

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL

VISIO = {"title": "visio", "devices": "tom-laptop"}  # licensed: waits for the manager
SEVEN_ZIP = {"title": "7zip", "devices": "tom-laptop"}


def test_the_same_submission_while_it_waits_gives_back_that_run(stack: Stack) -> None:
    first = stack.service.run("tom", "install-software", VISIO)
    assert not first.state.finished
    again = stack.service.run("tom", "install-software", VISIO)
    assert again.id == first.id
    assert [run.id for run in stack.service.recent("tom")] == [first.id]
    assert stack.audit_types().count("selfservice.run_admitted") == 1
    # Only one run was charged: two more fit in Tom's quota of three a day.
    assert stack.service.run("tom", "install-software", SEVEN_ZIP).state is RunState.SUCCEEDED
    other = {"title": "7zip", "devices": "tom-desktop"}
    assert stack.service.run("tom", "install-software", other).state is RunState.SUCCEEDED


def test_another_submission_of_the_same_person_is_a_new_run(stack: Stack) -> None:
    first = stack.service.run("tom", "install-software", VISIO)
    second = stack.service.run("tom", "install-software", {**VISIO, "devices": "tom-desktop"})
    assert second.id != first.id


def test_a_finished_run_is_not_given_back_to_the_same_submission(stack: Stack) -> None:
    first = stack.service.run("tom", "install-software", SEVEN_ZIP)
    assert first.state is RunState.SUCCEEDED
    second = stack.service.run("tom", "install-software", SEVEN_ZIP)
    assert second.id != first.id


def test_forty_identical_submissions_at_once_make_one_run(stack: Stack) -> None:
    services = [
        SelfService(
            stack.service.catalog,
            stack.gateway,
            stack.executor,
            RunStore(stack.config.selfservice.database, backend=stack.gateway.storage),
            stack.service.inventory,
            stack.service.sources,
            audit=None,
        )
        for _ in range(4)
    ]
    barrier = threading.Barrier(40)
    ids: list[str] = []
    lock = threading.Lock()

    def submit(index: int) -> None:
        barrier.wait()
        run = services[index % 4].run("tom", "install-software", VISIO)
        with lock:
            ids.append(run.id)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for service in services:
        service.store.close()
    assert len(ids) == 40
    assert len(set(ids)) == 1
    assert [run.id for run in stack.service.recent("tom")] == ids[:1]


def test_a_busy_target_is_refused_before_it_is_charged_to_the_quota(stack: Stack) -> None:
    busy = stack.executor.start(
        "software-install", {"device": "tom-laptop", "title": "7zip"}, actor="elena"
    )
    for _ in range(4):  # more than Tom's quota of three: none of them is charged
        with pytest.raises(RunRefusedError) as caught:
            stack.service.run("tom", "install-software", SEVEN_ZIP)
        assert caught.value.reason == "target_busy"
        assert f"execution {busy.id} is already acting on device:tom-laptop:7zip" in str(
            caught.value
        )
    assert stack.service.recent("tom") == []
    assert stack.service.usage().items["install-software"].refusals == {"target_busy": 4}
    stack.executor.cancel(busy.id, "elena")
    for device in ("tom-laptop", "tom-desktop", "tom-laptop"):
        run = stack.service.run("tom", "install-software", {"title": "7zip", "devices": device})
        assert run.state is RunState.SUCCEEDED


def test_a_target_another_run_holds_is_refused_before_it_is_charged(stack: Stack) -> None:
    both = {"title": "7zip", "devices": "tom-laptop,tom-desktop"}
    waiting = stack.service.run("tom", "install-software", both)  # two devices: the manager
    assert waiting.executions == ()
    assert waiting.approval_id is not None
    with pytest.raises(RunRefusedError) as caught:
        stack.service.run("tom", "install-software", SEVEN_ZIP)
    assert caught.value.reason == "target_busy"
    assert f"run {waiting.id} is already acting on device:tom-laptop:7zip" in str(caught.value)
    assert [run.id for run in stack.service.recent("tom")] == [waiting.id]
    stack.service.cancel(waiting.id, "tom")
    assert stack.service.run("tom", "install-software", SEVEN_ZIP).state is RunState.SUCCEEDED


def test_a_run_whose_executions_ended_elsewhere_is_not_given_back(stack: Stack) -> None:
    first = stack.service.run("tom", "install-software", VISIO)  # waits for the manager
    stack.executor.cancel(first.executions[0], "elena")  # ended outside the catalog
    again = stack.service.run("tom", "install-software", VISIO)
    assert again.id != first.id
    assert stack.service.get(first.id).state is RunState.CANCELLED


def test_a_run_holding_a_target_that_ended_elsewhere_no_longer_holds_it(stack: Stack) -> None:
    first = stack.service.run("tom", "install-software", VISIO)
    stack.executor.cancel(first.executions[0], "elena")
    both = {"title": "visio", "devices": "tom-laptop,tom-desktop"}
    assert stack.service.run("tom", "install-software", both).id != first.id


def test_a_target_taken_while_the_run_waited_fails_that_target_with_the_conflict(
    stack: Stack,
) -> None:
    both = {"title": "7zip", "devices": "tom-laptop,tom-desktop"}
    waiting = stack.service.run("tom", "install-software", both)  # two devices: the manager
    busy = stack.executor.start(
        "software-install", {"device": "tom-laptop", "title": "7zip"}, actor="elena"
    )
    shown = waiting.waiting or {}
    approvals = stack.gateway.approvals
    assert approvals is not None
    approvals.approve(str(shown["approval_id"]), "priya", digest=str(shown["digest"]))
    resumed = stack.service.resume(waiting.id)
    assert resumed.state is RunState.FAILED
    assert resumed.error is not None
    assert f"execution {busy.id} is already acting on device:tom-laptop:7zip" in resumed.error
    assert len(resumed.executions) == 1  # tom-desktop was installed

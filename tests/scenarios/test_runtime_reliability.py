"""Reliability stories of the guarded runtime, as an operator lives them.

* The gateway process is killed while an action runs; on restart an idempotent step runs
  again and the execution succeeds, a non-idempotent one is marked unknown and what the
  execution did is undone; the audit log verifies, a torn last record is quarantined.
* The audit log cannot be written: nothing is reset and nothing succeeds; once it can be
  written again the queued execution finishes.
* The directory (a real slapd) goes down in the middle of a password reset: the reset
  waits, names the directory and its next try, and finishes once the directory is back,
  with a password that really binds.
* A thousand executions at once on the embedded defaults: each succeeds exactly once, the
  audit chain verifies, and replaying the requests with their idempotency keys starts
  nothing new.  Executions handed to the executor's background all at once all finish.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from gateway.config import EMBEDDED_DIRECTORY
from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.errors import ExitCode
from gateway.identity.embedded_actions import EmbeddedDirectoryActions
from gateway.identity.static import StaticDirectory
from gateway.runtime.model import Execution, ExecutionState, StepState
from tests.integration.slapd import (
    ADMIN_PASSWORD,
    INSTALL_HINT,
    Slapd,
    in_ci,
    missing,
    running_slapd,
)
from tests.scenarios.runtime_child import (
    gate_file,
    open_scenario_runtime,
    write_wait_workflows,
)
from tests.scenarios.runtime_support import (
    CHILD,
    LDAP_PASSWORD_ENV,
    PATIENCE_SECONDS,
    REPO,
    audit_records,
    binds,
    invoke,
    kill_while_waiting,
    ldap_identity,
    open_gateway,
    runs,
    sleep_until,
    step_records,
    step_up,
    verify_audit,
    write_config,
)

CONCURRENT_EXECUTIONS = 1_000
DRIVING_THREADS = 16
# A device every write to which fails for lack of space, for root too (file modes do not
# stop root).
DISK_FULL = Path("/dev/full")
needs_disk_full = pytest.mark.skipif(not DISK_FULL.exists(), reason="no /dev/full here")


# -- 1. the process is killed while an action runs ----------------------------------------


@pytest.fixture
def crash_site(tmp_path: Path) -> Path:
    """A configuration whose workflows install 7zip and then wait for a gate."""
    write_wait_workflows(tmp_path / "workflows")
    return write_config(tmp_path, workflows=tmp_path / "workflows")


def test_killed_during_an_idempotent_action_it_runs_again_and_the_execution_succeeds(
    crash_site: Path,
) -> None:
    execution_id, child_pid = kill_while_waiting(crash_site, "install-then-wait", "pc-0001")

    restarted = open_scenario_runtime(crash_site)
    try:
        gate_file(crash_site).touch()
        recovered = restarted.executor.recover()
        restarted.executor.tick()
        execution = restarted.executor.get(execution_id)
        installed = restarted.devices.installed("pc-0001")
    finally:
        restarted.close()

    assert recovered == [execution_id]
    assert execution.state is ExecutionState.SUCCEEDED
    assert [(s.step_id, s.state, s.attempts) for s in execution.steps] == [
        ("install", StepState.SUCCEEDED, 1),
        ("wait", StepState.SUCCEEDED, 2),
    ]
    assert runs(crash_site) == [(child_pid, execution_id, 1), (os.getpid(), execution_id, 2)]
    assert installed == ["7zip"]
    records = audit_records(crash_site.parent)
    assert step_records(records, execution_id, "wait") == [
        "action.started",
        "action.resumed",
        "action.started",
        "action.succeeded",
    ]
    assert verify_audit(crash_site.parent) == len(records)


def test_killed_during_a_non_idempotent_action_its_outcome_is_unknown_and_the_install_undone(
    crash_site: Path,
) -> None:
    execution_id, child_pid = kill_while_waiting(crash_site, "install-then-wait-once", "pc-0002")

    restarted = open_scenario_runtime(crash_site)
    try:
        gate_file(crash_site).touch()
        recovered = restarted.executor.recover()
        restarted.executor.tick()
        execution = restarted.executor.get(execution_id)
        installed = restarted.devices.installed("pc-0002")
    finally:
        restarted.close()

    assert recovered == [execution_id]
    assert execution.state is ExecutionState.COMPENSATED
    assert execution.status == "compensated: step wait was interrupted and its outcome is unknown"
    assert [(s.step_id, s.state) for s in execution.steps] == [
        ("install", StepState.COMPENSATED),
        ("wait", StepState.UNKNOWN),
    ]
    assert runs(crash_site) == [(child_pid, execution_id, 1)]  # never run a second time
    assert installed == []
    records = audit_records(crash_site.parent)
    assert step_records(records, execution_id, "wait") == ["action.started", "action.failed"]
    assert step_records(records, execution_id, "install") == [
        "action.started",
        "action.succeeded",
        "compensation.started",
        "compensation.succeeded",
    ]
    (undo,) = [r for r in records if r.type == "decision" and r.action == "software.uninstall"]
    assert (undo.actor, undo.payload["decision"]) == ("svc-gateway", "allow")
    (finished,) = [
        r for r in records if r.type == "execution.finished" and r.resource == "device:pc-0002:7zip"
    ]
    assert finished.payload["state"] == "compensated"
    assert finished.payload["compensated"] == ["install"]
    assert verify_audit(crash_site.parent) == len(records)


def test_a_record_torn_by_the_kill_is_quarantined_and_the_log_still_verifies(
    crash_site: Path,
) -> None:
    execution_id, _ = kill_while_waiting(crash_site, "install-then-wait", "pc-0003")
    log = crash_site.parent / "var" / "audit.log"
    last = log.read_bytes().splitlines()[-1]
    torn = last[: len(last) // 2]  # what a writer killed in the middle of an append leaves
    with log.open("ab") as handle:
        handle.write(torn)

    restarted = open_scenario_runtime(crash_site)
    try:
        gate_file(crash_site).touch()
        restarted.executor.tick()
        execution = restarted.executor.get(execution_id)
    finally:
        restarted.close()

    (quarantine,) = log.parent.glob("audit.log.torn-*")
    assert quarantine.read_bytes() == torn
    records = audit_records(crash_site.parent)
    (note,) = [r for r in records if r.type == "audit.tail_quarantined"]
    assert note.payload["bytes"] == len(torn)
    assert note.payload["sha256"] == hashlib.sha256(torn).hexdigest()
    assert note.payload["file"] == quarantine.name
    assert execution.state is ExecutionState.SUCCEEDED
    assert verify_audit(crash_site.parent) == len(records)


# -- 2. the audit log cannot be written -------------------------------------------------


def tom(folder: Path) -> dict[str, object]:
    """What the embedded directory holds for tom."""
    directory = EmbeddedDirectoryActions(
        folder / "var" / "embedded" / "directory.db", StaticDirectory.load(EMBEDDED_DIRECTORY)
    )
    try:
        return directory.state("tom")
    finally:
        directory.close()


def _disk_full(folder: Path) -> Path:
    return DISK_FULL


def _folder_is_a_file(folder: Path) -> Path:
    blocker = folder / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    return blocker / "audit.log"  # fails for root too, unlike file modes


@pytest.mark.parametrize(
    "broken_log",
    [
        pytest.param(_disk_full, id="the disk under the log is full", marks=needs_disk_full),
        pytest.param(_folder_is_a_file, id="the log's folder is a regular file"),
    ],
)
def test_with_an_unwritable_audit_log_a_password_reset_does_nothing(
    tmp_path: Path, broken_log: Callable[[Path], Path]
) -> None:
    good = write_config(tmp_path)
    log = broken_log(tmp_path)
    broken = write_config(tmp_path, "broken.toml", audit_log=log)

    code, _, errors = invoke(
        "--config", str(broken), "run", "password-reset", "-p", "user=tom", "--actor", "elena"
    )

    assert code == ExitCode.UNAVAILABLE
    assert errors.startswith(f"error: {log}: ")
    assert tom(tmp_path)["password_set_at"] is None
    code, listed, _ = invoke("--config", str(good), "executions", "list", "--json")
    assert code == 0
    assert json.loads(listed) == []  # not even started: no record, no execution


@needs_disk_full
def test_an_execution_whose_audit_log_fails_waits_and_finishes_once_it_can_be_written(
    tmp_path: Path,
) -> None:
    good = write_config(tmp_path)
    full = write_config(tmp_path, "disk-full.toml", audit_log=DISK_FULL)
    runtime = open_gateway(good)
    try:
        started = runtime.executor.start("password-reset", {"user": "tom"}, actor="elena")
    finally:
        runtime.close()

    code, out, _ = invoke("--config", str(full), "executions", "resume", started.id, "--json")

    shown = json.loads(out)
    assert code == ExitCode.UNAVAILABLE
    assert shown["state"] == "waiting_for_target"
    assert shown["status"].startswith(
        "audit log is unavailable; step lookup is queued, attempt 1 failed, next try at "
    )
    assert [step["state"] for step in shown["steps"]] == ["pending", "pending", "pending"]
    assert tom(tmp_path)["password_set_at"] is None

    sleep_until(datetime.fromisoformat(shown["steps"][0]["next_attempt_at"]))
    code, out, _ = invoke("--config", str(good), "executions", "resume", started.id, "--json")

    assert code == 0
    assert json.loads(out)["state"] == "succeeded"
    assert tom(tmp_path)["password_set_at"] is not None
    records = audit_records(tmp_path)
    for step in ("lookup", "reset", "tell-user"):
        assert step_records(records, started.id, step) == ["action.started", "action.succeeded"]
    assert verify_audit(tmp_path) == len(records)


# -- 3. the directory goes down mid-workflow ----------------------------------------------


@pytest.fixture(scope="module")
def ldap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """This module's own slapd, so that the outages can stop and start it."""
    binary = missing()
    if binary is not None:
        if in_ci():
            pytest.fail(f"{binary} not found: the scenarios need it in CI; {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    yield from running_slapd(tmp_path_factory.mktemp("reliability-slapd"))


@pytest.fixture
def directory(ldap_server: Slapd, monkeypatch: pytest.MonkeyPatch) -> Slapd:
    """The server, running whatever the test before did with it."""
    if ldap_server.process is None:
        ldap_server.start()
    monkeypatch.setenv(LDAP_PASSWORD_ENV, ADMIN_PASSWORD)
    return ldap_server


def assert_waits_for_the_directory(execution: Execution, step: str) -> None:
    assert execution.state is ExecutionState.WAITING_FOR_TARGET
    waiting = execution.waiting or {}
    assert (waiting.get("kind"), waiting.get("step"), waiting.get("system")) == (
        "target",
        step,
        "directory",
    )
    assert execution.status == (
        f"directory is unavailable; step {step} is queued, attempt 1 failed, "
        f"next try at {waiting['next_at']}"
    )
    assert execution.step(step).state is StepState.PENDING


def test_a_reset_started_while_the_directory_goes_down_finishes_once_it_is_back(
    tmp_path: Path, directory: Slapd
) -> None:
    runtime = open_gateway(write_config(tmp_path, extra=ldap_identity(directory)))
    try:
        started = runtime.executor.start("password-reset", {"user": "bob"}, actor="elena")
        directory.stop()
        waiting = runtime.executor.advance(started.id)
        directory.start()
        sleep_until(waiting.step("lookup").next_attempt_at)
        runtime.executor.tick()
        finished = runtime.executor.get(started.id)
        password = runtime.executor.reveal(started.id, "temporary_password", "elena")
    finally:
        runtime.close()

    assert_waits_for_the_directory(waiting, "lookup")
    assert finished.state is ExecutionState.SUCCEEDED
    assert binds(directory, "bob", password)
    assert not binds(directory, "bob", "bob-Old-pw1")
    assert verify_audit(tmp_path) == len(audit_records(tmp_path))


def test_a_reset_whose_directory_goes_down_before_the_reset_step_finishes_once_it_is_back(
    tmp_path: Path, directory: Slapd
) -> None:
    user = "user00042"  # resets their own password: the reset step waits for a step-up
    runtime = open_gateway(write_config(tmp_path, extra=ldap_identity(directory)))
    try:
        started = runtime.executor.start("password-reset", {"user": user}, actor=user)
        awaiting = runtime.executor.advance(started.id)
        step_up(runtime, user, awaiting)
        directory.stop()
        waiting = runtime.executor.advance(started.id)
        directory.start()
        sleep_until(waiting.step("reset").next_attempt_at)
        runtime.executor.tick()
        finished = runtime.executor.get(started.id)
        password = runtime.executor.reveal(started.id, "temporary_password", user)
    finally:
        runtime.close()

    assert awaiting.state is ExecutionState.AWAITING_STEP_UP
    assert awaiting.step("lookup").state is StepState.SUCCEEDED
    assert_waits_for_the_directory(waiting, "reset")
    assert finished.state is ExecutionState.SUCCEEDED
    assert binds(directory, user, password)
    assert verify_audit(tmp_path) == len(audit_records(tmp_path))


def test_a_gateway_restarted_during_the_outage_queues_the_reset_until_the_directory_is_back(
    tmp_path: Path, directory: Slapd
) -> None:
    """Restarted, the gateway has no cached facts to decide the reset on."""
    user = "user00043"
    config = write_config(tmp_path, extra=ldap_identity(directory))
    before = open_gateway(config)
    try:
        started = before.executor.start("password-reset", {"user": user}, actor=user)
        step_up(before, user, before.executor.advance(started.id))
    finally:
        before.close()
    directory.stop()

    restarted = open_gateway(config)
    try:
        waiting = restarted.executor.advance(started.id)
        directory.start()
        sleep_until(waiting.step("reset").next_attempt_at)
        restarted.executor.tick()
        finished = restarted.executor.get(started.id)
        password = restarted.executor.reveal(started.id, "temporary_password", user)
    finally:
        restarted.close()

    assert_waits_for_the_directory(waiting, "reset")
    assert finished.state is ExecutionState.SUCCEEDED
    assert binds(directory, user, password)
    assert verify_audit(tmp_path) == len(audit_records(tmp_path))


# -- 4. a thousand executions at once -------------------------------------------------------


def test_a_thousand_concurrent_executions_each_succeed_exactly_once(tmp_path: Path) -> None:
    runtime = open_gateway(write_config(tmp_path))
    executor = runtime.executor
    requests = [
        ({"title": "7zip", "device": f"pc-{number:04d}"}, f"install-7zip-{number:04d}")
        for number in range(CONCURRENT_EXECUTIONS)
    ]

    def run(request: tuple[dict[str, str], str]) -> Execution:
        parameters, key = request
        started = executor.start("software-install", parameters, actor="elena", idempotency_key=key)
        return executor.advance(started.id)

    def replay(request: tuple[dict[str, str], str]) -> Execution:
        parameters, key = request
        return executor.start("software-install", parameters, actor="elena", idempotency_key=key)

    try:
        with ThreadPoolExecutor(DRIVING_THREADS) as pool:
            finished = list(pool.map(run, requests))
        left = executor.tick()
        with ThreadPoolExecutor(DRIVING_THREADS) as pool:
            replayed = list(pool.map(replay, requests))
        stored = executor.recent(limit=CONCURRENT_EXECUTIONS * 2)
    finally:
        runtime.close()

    ids = {execution.id for execution in finished}
    assert len(ids) == CONCURRENT_EXECUTIONS
    assert Counter(execution.state for execution in finished) == {
        ExecutionState.SUCCEEDED: CONCURRENT_EXECUTIONS
    }
    assert left == 0
    records = audit_records(tmp_path)
    steps = {(i, step) for i in ids for step in ("install", "tell-requester")}
    for kind in ("action.started", "action.succeeded"):
        done = Counter(
            (str(r.payload["execution"]), str(r.payload["step"])) for r in records if r.type == kind
        )
        assert set(done) == steps
        assert set(done.values()) == {1}
    devices = EmbeddedDeviceManager(tmp_path / "var" / "embedded" / "devices.db")
    try:
        assert {devices.installed(p["device"])[0] for p, _ in requests} == {"7zip"}
    finally:
        devices.close()
    assert verify_audit(tmp_path) == len(records)
    assert [execution.id for execution in replayed] == [execution.id for execution in finished]
    assert len(stored) == CONCURRENT_EXECUTIONS
    assert len(audit_records(tmp_path)) == len(records)  # the replay recorded nothing new


def test_executions_handed_to_the_background_all_finish(tmp_path: Path) -> None:
    """More executions than the executor has workers, all submitted at once."""
    config = write_config(tmp_path)
    count = 64

    finished = subprocess.run(
        [*CHILD, "submit", str(config), str(count), "20"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=PATIENCE_SECONDS * 2,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr[-2000:]
    assert json.loads(finished.stdout) == {"succeeded": count}

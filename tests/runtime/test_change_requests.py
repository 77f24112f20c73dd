"""Workflows bound to a change request: the gateway checks the change before each
privileged step, refuses when it may not be acted under, and records its number."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.changes.errors import ChangeSourceError
from gateway.changes.requests import ChangeRegister, ChangeRequestStatus
from gateway.runtime.change_notes import ChangeNotes, queue_note
from gateway.runtime.errors import ChangeRequestError
from gateway.runtime.model import Execution, ExecutionState, StepState
from gateway.runtime.store import ExecutionStore
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import Clock, Runtime

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


WORKFLOW = """
id: reset-under-change
title: Reset a password under a change request
change_request: {binding}
parameters: {{user: {{}}}}
steps:
  - id: lookup
    action: directory.lookup
    with: {{user: "{{{{ params.user }}}}"}}
  - id: reset
    action: password.reset
    with: {{user: "{{{{ params.user }}}}"}}
"""


def _stamp(clock: Clock, hours: float) -> str:
    return (clock() + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def register(tmp_path: Path, clock: Clock) -> Path:
    entries = [
        ("CHG0030001", "approved", "-1", -1, 2),
        ("CHG0030002", "requested", "-1", -1, 2),
        ("CHG0030003", "approved", "-2", -1, 2),
        ("CHG0030004", "approved", "implement", 1, 2),
    ]
    lines = ["changes:"]
    for number, approval, state, start, end in entries:
        lines += [
            f"  - number: {number}",
            f"    approval: {approval}",
            f'    state: "{state}"',
            f'    start_date: "{_stamp(clock, start)}"',
            f'    end_date: "{_stamp(clock, end)}"',
        ]
    path = tmp_path / "changes.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _runtime(make_runtime: MakeRuntime, register: Path, clock: Clock, binding: str) -> Runtime:
    runtime = make_runtime(changes=ChangeRegister(register, clock=clock))
    folder = runtime.config.runtime.workflows
    (folder / "reset-under-change.yaml").write_text(
        WORKFLOW.format(binding=binding), encoding="utf-8"
    )
    runtime.restart()
    return runtime


def _run(runtime: Runtime, change: str | None) -> object:
    started = runtime.executor.start(
        "reset-under-change", {"user": "tom"}, actor="elena", channel="cli", change_request=change
    )
    return runtime.executor.advance(started.id)


def test_an_approved_change_in_its_window_lets_the_step_run_and_is_recorded(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "required")
    execution = _run(runtime, "CHG0030001")

    assert execution.state is ExecutionState.SUCCEEDED
    assert execution.change_request == "CHG0030001"
    assert runtime.directory.state("tom")["must_change"] is True
    decision = next(runtime.decisions("password.reset"))
    assert decision.payload["context"]["change_request"] == {
        "number": "CHG0030001",
        "approved": True,
        "implementing": True,
        "in_window": True,
    }
    started = [r for r in runtime.trail(execution.id) if r.type == "action.started"]
    assert started
    assert all(r.payload["change_request"] == "CHG0030001" for r in started)
    assert runtime.trail(execution.id)[0].payload["change_request"] == "CHG0030001"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("CHG0030002", "change CHG0030002 is not approved (approval = requested)"),
        ("CHG0030003", "change CHG0030003 is not in the Implement state (state = -2)"),
        ("CHG0030004", "change CHG0030004 is outside its planned window"),
        ("CHG0039999", "change CHG0039999 is not known to the change register"),
    ],
    ids=["not approved", "not implementing", "outside its window", "unknown number"],
)
def test_a_change_that_may_not_be_acted_under_refuses_before_anything_changes(
    make_runtime: MakeRuntime, register: Path, clock: Clock, number: str, reason: str
) -> None:
    runtime = _runtime(make_runtime, register, clock, "optional")
    execution = _run(runtime, number)

    assert execution.state is ExecutionState.FAILED
    assert execution.error == f"step lookup refused: {reason}"
    assert execution.step("reset").state is StepState.PENDING
    assert runtime.directory.state("tom").get("must_change") is not True
    decision = next(runtime.decisions("password.reset"))
    assert decision.payload["decision"] == "deny"
    assert decision.payload["context"]["change_request"]["number"] == number


def test_the_privileged_step_itself_is_refused_when_the_change_lapses(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "required")
    started = runtime.executor.start(
        "reset-under-change", {"user": "tom"}, actor="elena", change_request="CHG0030001"
    )
    lapsing = _Lapsing(runtime.executor, started.id)
    execution = lapsing.advance()

    assert execution.state is ExecutionState.FAILED
    assert execution.step("reset").error == "step reset refused: change CHG0030001 lapsed"
    assert runtime.directory.state("tom").get("must_change") is not True


class _Lapsing:
    """A change source that says ready for the first check and lapsed afterwards."""

    def __init__(self, executor: object, execution_id: str) -> None:
        self.executor = executor
        self.execution_id = execution_id
        self.checks = 0

    def check(self, number: str) -> ChangeRequestStatus:
        self.checks += 1
        if self.checks == 1:
            return ChangeRequestStatus(number, True, True, True)
        return ChangeRequestStatus(number, True, True, False, problem=f"change {number} lapsed")

    def advance(self) -> object:
        decider = self.executor._advancer._pipeline._decider  # type: ignore[attr-defined]
        decider._changes = self
        return self.executor.advance(self.execution_id)  # type: ignore[attr-defined]


def test_a_required_change_that_is_missing_is_refused_at_start(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "required")
    with pytest.raises(ChangeRequestError, match="workflow reset-under-change requires a change"):
        _run(runtime, None)
    assert runtime.executor.recent() == []


def test_a_change_for_a_workflow_not_bound_to_changes_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ChangeRequestError, match="password-reset is not bound to change"):
        runtime.executor.start(
            "password-reset", {"user": "tom"}, actor="elena", change_request="CHG0030001"
        )


def test_a_malformed_change_number_is_refused(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "optional")
    with pytest.raises(ChangeRequestError, match="is not a change number"):
        _run(runtime, "CHG^state=-1")


def test_an_optional_change_may_be_left_out(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "optional")
    execution = _run(runtime, None)
    assert execution.state is ExecutionState.SUCCEEDED
    assert "change_request" not in next(runtime.decisions("password.reset")).payload["context"]


def test_without_a_change_source_a_named_change_is_refused(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "optional")
    runtime.changes = None
    runtime.restart()
    execution = _run(runtime, "CHG0030001")
    assert execution.error == "step lookup refused: no change request source is configured"


def test_the_summary_is_appended_to_the_register_notes(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "required")
    execution = _run(runtime, "CHG0030001")

    notes = register.with_name("changes-notes.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["number"] for line in notes] == ["CHG0030001"]
    assert execution.id in json.loads(notes[0])["work_notes"]


def test_a_refused_execution_reports_its_refusal_on_the_change(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    runtime = _runtime(make_runtime, register, clock, "optional")
    _run(runtime, "CHG0030002")

    notes = register.with_name("changes-notes.jsonl").read_text(encoding="utf-8")
    assert "failed: step lookup refused: change CHG0030002 is not approved" in notes


class _DownOnce:
    """A change source whose notes cannot be written until ``up`` is set."""

    def __init__(self, inner: ChangeRegister) -> None:
        self.inner = inner
        self.up = False
        self.tries = 0

    def check(self, number: str) -> ChangeRequestStatus:
        return self.inner.check(number)

    def add_note(self, number: str, text: str) -> None:
        self.tries += 1
        if not self.up:
            raise ChangeSourceError("ServiceNow PATCH /api/now/table/change_request: HTTP 503")
        self.inner.add_note(number, text)


def test_a_note_the_change_system_cannot_take_is_kept_and_delivered_later(
    make_runtime: MakeRuntime, register: Path, clock: Clock
) -> None:
    source = _DownOnce(ChangeRegister(register, clock=clock))
    runtime = _runtime(make_runtime, register, clock, "required")
    runtime.changes = source
    runtime.restart()
    first = _run(runtime, "CHG0030001")
    second = _run(runtime, "CHG0030001")  # noted after the first: never overtakes it
    notes = register.with_name("changes-notes.jsonl")

    assert (first.state, second.state) == (ExecutionState.SUCCEEDED,) * 2
    assert not notes.exists()
    assert source.tries == 1
    runtime.restart()  # what is queued survives a restart
    source.up = True
    runtime.executor.tick()  # not yet due
    assert not notes.exists()
    clock.advance(seconds=6)
    runtime.executor.tick()

    written = [json.loads(line) for line in notes.read_text(encoding="utf-8").splitlines()]
    assert [first.id in w["work_notes"] for w in written] == [True, False]
    assert [second.id in w["work_notes"] for w in written] == [False, True]
    recorded = [r for r in runtime.records() if r.type == "change.note_written"]
    assert [r.payload["execution"] for r in recorded] == [first.id, second.id]
    runtime.executor.tick()
    assert len(notes.read_text(encoding="utf-8").splitlines()) == 2


def test_notes_are_delivered_without_an_audit_log_too(tmp_path: Path, clock: Clock) -> None:
    store = ExecutionStore(tmp_path / "runtime.db")
    register = ChangeRegister(tmp_path / "changes.yaml", clock=clock)
    execution = Execution(
        id="e-1", workflow="w", workflow_version=1, workflow_digest="d", actor="elena",
        parameters={}, channel="cli", state=ExecutionState.SUCCEEDED, created_at=clock(),
        updated_at=clock(), change_request="CHG0030001",
    )  # fmt: skip
    try:
        with store.transaction() as tx:
            queue_note(tx, execution, "done", clock())
        assert ChangeNotes(store, register, None, clock).flush() == 1
        assert ChangeNotes(store, None, None, clock).flush() == 0
    finally:
        store.close()
    assert json.loads(register.notes.read_text(encoding="utf-8"))["work_notes"] == "done"

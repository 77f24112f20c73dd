"""Sessions: started, answered, skipped, undone, interrupted and resumed, never corrupted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.records import AuditEvent
from gateway.enforcement import PolicyDeniedError
from gateway.troubleshooting.diagnostics import CheckReport, DiagnosticRunner
from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.errors import (
    AnswerError,
    FactError,
    SessionStateError,
    SessionStoreError,
    TroubleshootingError,
    UnknownSessionError,
)
from gateway.troubleshooting.session import SessionStatus, StepKind
from gateway.troubleshooting.store import SessionStore
from gateway.troubleshooting.tree import TreeCatalog
from tests.troubleshooting.lab_tree import LAB_TREE
from tests.troubleshooting.support import NOW, ScriptedChecks, ScriptedRuntime, make_engine


@pytest.fixture
def trees(tmp_path: Path) -> TreeCatalog:
    folder = tmp_path / "trees"
    folder.mkdir()
    (folder / "lab.yaml").write_text(LAB_TREE, encoding="utf-8")
    return TreeCatalog.load(folder, ["account-unlock"])


@pytest.fixture
def engine(tmp_path: Path, trees: TreeCatalog) -> Iterator[TroubleshootingEngine]:
    made = make_engine(tmp_path, trees, runtime=ScriptedRuntime())
    yield made
    made.close()


def test_a_session_asks_branches_and_ends_with_a_rendered_outcome(
    engine: TroubleshootingEngine,
) -> None:
    view = engine.start("lab", technician="elena", ticket="INC1")
    assert view.prompt is not None
    assert view.prompt.text == "Which kind?"
    view = engine.answer(view.session.id, "num")
    view = engine.answer(view.session.id, "2")
    session = view.session
    assert session.status is SessionStatus.RESOLVED
    assert view.prompt is None
    assert session.path == ["ask-kind", "ask-count", "pick-fix", "fix-a"]
    assert session.outcome == {"result": "resolved", "node": "fix-a",
                               "summary": "fixed with a for 2", "escalate_to": None}  # fmt: skip
    assert session.as_json()["steps"][0]["value"] == "num"
    assert view.as_json()["tree_title"] == "Lab"


def test_facts_from_the_ticket_and_from_diagnostics_skip_their_questions(
    engine: TroubleshootingEngine,
) -> None:
    view = engine.start("lab", technician="elena", facts={"kind": "net", "host": "printer-3f"})
    session = view.session
    assert [(s.node, s.kind) for s in session.steps] == [
        ("ask-kind", StepKind.SKIPPED),
        ("ask-host", StepKind.SKIPPED),
        ("ping", StepKind.CHECKED),
        ("ask-reachable", StepKind.SKIPPED),  # the ping provided the fact
        ("resolved-net", StepKind.FINISHED),
    ]
    assert session.outcome is not None
    assert session.outcome["summary"] == "printer-3f answers"


def test_facts_the_tree_does_not_take_or_of_the_wrong_type_are_refused(
    engine: TroubleshootingEngine,
) -> None:
    with pytest.raises(
        FactError, match=r"tree lab takes no fact 'colour' \(inputs: count, host, kind\)"
    ):
        engine.start("lab", technician="elena", facts={"colour": "red"})
    with pytest.raises(FactError, match="fact kind: expected one of net, acct, num, found 'tv'"):
        engine.start("lab", technician="elena", facts={"kind": "tv"})
    assert engine.store.recent() == []


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (["num", "many"], "count: expected a integer answer, found 'many'"),
        (["num", "0"], "count: must be at least 1, found 0"),
        (["num", "11"], "count: must be at most 10, found 11"),
        (["acct", "a-very-long-name"], "user: at most 8 characters, found 16"),
        (["tv"], "kind: expected one of net, acct, num, found 'tv'"),
    ],
    ids=[
        "a word for a number",
        "below the minimum",
        "above the maximum",
        "too long",
        "outside the choices",
    ],
)
def test_a_wrong_answer_is_refused_and_changes_nothing(
    engine: TroubleshootingEngine, answers: list[str], message: str
) -> None:
    view = engine.start("lab", technician="elena")
    for value in answers[:-1]:
        view = engine.answer(view.session.id, value)
    before = engine.show(view.session.id).session
    with pytest.raises(AnswerError, match=message):
        engine.answer(view.session.id, answers[-1])
    assert engine.show(view.session.id).session == before


def test_a_condition_that_cannot_be_evaluated_leaves_the_session_where_it_was(
    engine: TroubleshootingEngine,
) -> None:
    view = engine.start("lab", technician="elena", facts={"kind": "num"})
    with pytest.raises(
        TroubleshootingError, match=r"node ask-count: condition .* cannot be evaluated"
    ):
        engine.answer(view.session.id, 7)
    assert engine.show(view.session.id).session.current == "ask-count"


def test_a_guarded_loop_leaves_by_its_exit_after_max_visits(engine: TroubleshootingEngine) -> None:
    view = engine.start("lab", technician="elena", facts={"kind": "num"})
    view = engine.answer(view.session.id, 5)  # pick-fix sends it back to ask-count
    assert view.prompt is not None
    assert view.prompt.node == "ask-count"
    view = engine.answer(view.session.id, 5)
    assert view.session.path[-3:] == ["pick-fix", "ask-count", "escalate-net"]
    assert view.session.steps[-2].kind is StepKind.EXHAUSTED


def test_undo_takes_back_the_last_answer_even_after_the_outcome(
    engine: TroubleshootingEngine,
) -> None:
    view = engine.start("lab", technician="elena")
    view = engine.answer(view.session.id, "num")
    view = engine.answer(view.session.id, 2)
    assert view.session.status is SessionStatus.RESOLVED
    view = engine.undo(view.session.id)
    assert view.session.status is SessionStatus.ACTIVE
    assert view.session.outcome is None
    assert view.prompt is not None
    assert view.prompt.node == "ask-count"
    assert view.session.facts == {"kind": "num"}
    view = engine.undo(view.session.id)
    assert view.session.facts == {}
    assert view.session.path == []
    with pytest.raises(SessionStateError, match="nothing to undo, no answer was given"):
        engine.undo(view.session.id)


def test_undo_is_refused_once_a_workflow_ran_after_the_answer(
    engine: TroubleshootingEngine,
) -> None:
    view = engine.start("lab", technician="elena", facts={"kind": "acct"})
    view = engine.answer(view.session.id, "tom")
    assert view.session.status is SessionStatus.RESOLVED
    with pytest.raises(SessionStateError, match="workflow execution exec-1 ran after it"):
        engine.undo(view.session.id)


def test_a_finished_session_takes_no_answers(engine: TroubleshootingEngine) -> None:
    view = engine.start("lab", technician="elena", facts={"kind": "num", "count": 9})
    assert view.session.status is SessionStatus.ESCALATED
    with pytest.raises(SessionStateError, match="is escalated; undo the last answer"):
        engine.answer(view.session.id, 1)
    assert engine.resume(view.session.id).session == view.session


def test_an_action_starts_its_workflow_through_the_runtime_and_branches_on_it(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    runtime = ScriptedRuntime(["failed"])
    engine = make_engine(tmp_path, trees, runtime=runtime)
    view = engine.start("lab", technician="elena", ticket="INC7", facts={"kind": "acct"})
    view = engine.answer(view.session.id, "tom")
    engine.close()
    key = f"troubleshooting:{view.session.id}:unlock:0"
    assert runtime.started == [("account-unlock", {"user": "tom"}, key)]
    assert view.session.outcome is not None
    assert view.session.outcome["summary"] == "unlock failed"


def test_a_waiting_workflow_makes_the_session_wait_until_resumed(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    runtime = ScriptedRuntime(["waiting"])
    engine = make_engine(tmp_path, trees, runtime=runtime)
    view = engine.start("lab", technician="elena", facts={"kind": "acct"})
    view = engine.answer(view.session.id, "tom")
    assert view.session.status is SessionStatus.WAITING
    assert view.session.execution == "exec-1"
    for call in (engine.answer, engine.undo):
        args: tuple[Any, ...] = (
            (view.session.id, "x") if call == engine.answer else (view.session.id,)
        )
        with pytest.raises(SessionStateError, match="waits for workflow execution exec-1"):
            call(*args)
    assert engine.resume(view.session.id).session.status is SessionStatus.WAITING
    engine.close()
    runtime.finish("exec-1", "succeeded")
    restarted = make_engine(tmp_path, trees, runtime=runtime)
    view = restarted.resume(view.session.id)
    restarted.close()
    assert view.session.status is SessionStatus.RESOLVED
    assert view.session.steps[-2].value == {"state": "succeeded", "execution": "exec-1",
                                            "error": None}  # fmt: skip


def test_resume_gets_the_outcome_of_an_execution_that_finished_meanwhile(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    runtime = ScriptedRuntime(["waiting"])
    engine = make_engine(tmp_path, trees, runtime=runtime)
    view = engine.start("lab", technician="elena", facts={"kind": "acct"})
    view = engine.answer(view.session.id, "tom")
    runtime.executions["exec-1"] = runtime.advance("exec-1")
    runtime.finish("exec-1", "failed")
    runtime.executions["exec-1"] = runtime.advance("exec-1")
    view = engine.resume(view.session.id)
    engine.close()
    assert view.session.outcome is not None
    assert view.session.outcome["node"] == "escalate-acct"


@pytest.mark.parametrize(
    ("runtime", "user", "error"),
    [
        (None, "tom", "no automation runtime is configured"),
        (ScriptedRuntime(), "tom ann", "invalid parameters for workflow account-unlock: user: "
         "must not hold spaces"),
    ],
    ids=["without a runtime", "with parameters the runtime refuses"],
)  # fmt: skip
def test_an_action_that_cannot_start_takes_the_failed_branch(
    tmp_path: Path, trees: TreeCatalog, runtime: ScriptedRuntime | None, user: str, error: str
) -> None:
    engine = make_engine(tmp_path, trees, runtime=runtime)
    view = engine.start("lab", technician="elena", facts={"kind": "acct"})
    view = engine.answer(view.session.id, user)
    engine.close()
    assert view.session.outcome is not None
    assert view.session.outcome["summary"] == "unlock not_started"
    assert view.session.steps[-2].value == {"state": "not_started", "execution": None,
                                            "error": error}  # fmt: skip


def test_diagnostics_that_raise_time_out_or_are_offline_take_their_fallbacks(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    engine = make_engine(tmp_path, trees, checks=ScriptedChecks([("error", {})]))
    view = engine.start("lab", technician="elena", facts={"kind": "net", "host": "h"})
    assert view.session.outcome is not None
    assert view.session.outcome["summary"] == "check failed: error"
    engine.close()

    release = threading.Event()

    def hangs(params: Any, timeout: float) -> CheckReport:
        release.wait(5)
        return CheckReport(True, "late")

    runner = DiagnosticRunner({"ping": hangs}, timeout_seconds=5)
    hanging = TroubleshootingEngine(trees, SessionStore(tmp_path / "other.db"), runner)
    view = hanging.start("lab", technician="elena", facts={"kind": "net", "host": "h"})
    release.set()
    hanging.close()
    assert view.session.steps[2].value["status"] == "timeout"
    assert view.session.steps[2].value["detail"] == "ping gave no answer within 0.5s"

    offline = make_engine(tmp_path, trees, offline=True)
    view = offline.start("lab", technician="elena", facts={"kind": "net", "host": "h"})
    offline.close()
    assert view.session.outcome is not None
    assert view.session.outcome["node"] == "offline-out"


def test_a_session_resumes_after_a_restart_exactly_where_it_stopped(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    first = make_engine(tmp_path, trees)
    view = first.start("lab", technician="elena")
    view = first.answer(view.session.id, "num")
    first.close()
    second = make_engine(tmp_path, trees)
    resumed = second.resume(view.session.id)
    assert resumed.session == view.session
    assert resumed.prompt == view.prompt
    assert resumed.notice is None
    view = second.answer(view.session.id, 1)
    second.close()
    assert view.session.status is SessionStatus.RESOLVED


def test_a_session_whose_tree_changed_goes_on_with_its_own_version_and_says_so(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    first = make_engine(tmp_path, trees)
    view = first.start("lab", technician="elena", facts={"kind": "num"})
    first.close()
    folder = tmp_path / "trees"
    changed = LAB_TREE.replace("version: 1", "version: 2").replace("maximum: 10", "maximum: 3")
    (folder / "lab.yaml").write_text(changed, encoding="utf-8")
    second = make_engine(tmp_path, TreeCatalog.load(folder))
    view = second.show(view.session.id)
    assert view.notice is not None
    assert view.notice.startswith("tree lab changed since this session started (the file is now "
                                  "version 2, sha256:")  # fmt: skip
    assert "the session goes on with version 1" in view.notice
    view = second.answer(view.session.id, 8)  # allowed by version 1, not by version 2
    assert view.session.outcome is not None
    assert view.session.outcome["node"] == "many"
    second.close()
    (folder / "lab.yaml").unlink()
    third = make_engine(tmp_path, TreeCatalog.load(folder))
    assert third.show(view.session.id).notice is not None
    assert str(third.show(view.session.id).notice).startswith("tree lab is no longer in the folder")
    third.close()


def test_a_session_whose_tree_snapshot_is_gone_is_reported(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    engine = make_engine(tmp_path, trees)
    view = engine.start("lab", technician="elena")
    engine.store._db.connection.execute("DELETE FROM trees")
    engine.close()
    empty = tmp_path / "none"
    empty.mkdir()
    other = make_engine(tmp_path, TreeCatalog.load(empty))
    with pytest.raises(SessionStoreError, match=r"the tree it started with .* is not in the store"):
        other.show(view.session.id)
    with pytest.raises(UnknownSessionError, match="unknown session 'nope'"):
        other.show("nope")
    other.close()


def test_history_orders_choices_and_picks_among_matching_branches(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    engine = make_engine(tmp_path, trees, runtime=ScriptedRuntime())
    for kind, answer in (("num", 1), ("acct", "tom"), ("acct", "ann")):
        view = engine.start("lab", technician="elena", facts={"kind": kind})
        engine.answer(view.session.id, answer)
    view = engine.start("lab", technician="elena")
    assert view.prompt is not None
    assert view.prompt.choices == ("acct", "num", "net")
    assert engine.store.success_rates("lab", "ask-kind") == {"ask-count": 1.0, "ask-user": 1.0}
    engine.close()


def test_a_session_stops_at_the_step_limit_where_it_got_to(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    engine = make_engine(tmp_path, trees, max_steps=2)
    view = engine.start("lab", technician="elena", facts={"kind": "num"})
    with pytest.raises(SessionStateError, match="passed 2 steps; it stops here"):
        engine.answer(view.session.id, 1)
    assert engine.show(view.session.id).session.current == "pick-fix"
    with pytest.raises(SessionStateError, match="is at decision node pick-fix, not a question"):
        engine.answer(view.session.id, 1)
    engine.close()


def test_start_and_outcome_are_audited_before_they_are_stored(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    events: list[AuditEvent] = []
    engine = make_engine(tmp_path, trees, audit=events.append, clock=lambda: NOW,
                         new_id=lambda: "s1")  # fmt: skip
    engine.start("lab", technician="elena", ticket="INC9", facts={"kind": "num", "count": 1})
    engine.close()
    assert [(e.type, e.actor, e.resource) for e in events] == [
        ("troubleshooting.started", "elena", "tree:lab"),
        ("troubleshooting.finished", "elena", "tree:lab"),
    ]
    assert events[1].payload == {"session": "s1", "result": "resolved", "node": "fix-a",
                                 "steps": 4, "ticket": "INC9"}  # fmt: skip


def test_a_failing_audit_append_stores_nothing(tmp_path: Path, trees: TreeCatalog) -> None:
    def refuse(event: AuditEvent) -> None:
        raise SessionStoreError("audit log is down")

    engine = make_engine(tmp_path, trees, audit=refuse)
    with pytest.raises(SessionStoreError, match="audit log is down"):
        engine.start("lab", technician="elena")
    assert engine.store.recent() == []
    assert engine.store.trees() == []
    engine.close()


def test_recent_sessions_are_listed_newest_first(tmp_path: Path, trees: TreeCatalog) -> None:
    times = iter([NOW + timedelta(minutes=i) for i in range(100)])
    engine = make_engine(tmp_path, trees, clock=lambda: next(times))
    first = engine.start("lab", technician="elena").session
    second = engine.start("lab", technician="omar").session
    assert [s.id for s in engine.store.recent(tree="lab")] == [second.id, first.id]
    assert engine.store.recent(tree="other") == []
    assert engine.store.trees() == ["lab"]
    engine.close()


def test_without_a_decision_point_only_the_technician_drives_a_session(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    engine = make_engine(tmp_path, trees)
    sid = engine.start("lab", technician="elena").session.id
    with pytest.raises(PolicyDeniedError, match="no policy decision point is configured"):
        engine.answer(sid, "num", by="tom")
    with pytest.raises(PolicyDeniedError, match=f"troubleshooting_session:{sid}"):
        engine.show(sid, by="tom")
    assert engine.answer(sid, "num", by="elena").session.current == "ask-count"
    engine.close()


def test_a_refused_answer_or_undo_audit_changes_nothing(tmp_path: Path, trees: TreeCatalog) -> None:
    events: list[AuditEvent] = []
    down = {"answered", "undone"}

    def audit(event: AuditEvent) -> None:
        if event.type.removeprefix("troubleshooting.") in down:
            raise SessionStoreError("audit log is down")
        events.append(event)

    engine = make_engine(tmp_path, trees, audit=audit)
    sid = engine.start("lab", technician="elena").session.id
    with pytest.raises(SessionStoreError, match="audit log is down"):
        engine.answer(sid, "num")
    assert engine.show(sid).session.steps == ()
    down.clear()
    engine.answer(sid, "num")
    down.add("undone")
    with pytest.raises(SessionStoreError, match="audit log is down"):
        engine.undo(sid)
    assert engine.show(sid).session.current == "ask-count"
    engine.close()


def test_no_workflow_starts_when_its_request_cannot_be_audited(
    tmp_path: Path, trees: TreeCatalog
) -> None:
    runtime = ScriptedRuntime()

    def audit(event: AuditEvent) -> None:
        if event.type == "troubleshooting.action_requested":
            raise SessionStoreError("audit log is down")

    engine = make_engine(tmp_path, trees, runtime=runtime, audit=audit)
    sid = engine.start("lab", technician="elena", facts={"kind": "acct"}).session.id
    with pytest.raises(SessionStoreError, match="audit log is down"):
        engine.answer(sid, "tom")
    assert runtime.started == []
    engine.close()

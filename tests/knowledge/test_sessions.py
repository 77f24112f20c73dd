"""A troubleshooting session, documented: its path, checks, actions and outcome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.knowledge.collect import collect_session
from gateway.knowledge.sessions import session_trail
from gateway.troubleshooting.engine import TroubleshootingEngine
from gateway.troubleshooting.tree import TreeCatalog
from tests.troubleshooting.lab_tree import LAB_TREE
from tests.troubleshooting.support import ScriptedChecks, ScriptedRuntime, make_engine


@pytest.fixture
def trees(tmp_path: Path) -> TreeCatalog:
    folder = tmp_path / "trees"
    folder.mkdir()
    (folder / "lab.yaml").write_text(LAB_TREE, encoding="utf-8")
    return TreeCatalog.load(folder, ["account-unlock"])


@pytest.fixture
def checks() -> ScriptedChecks:
    return ScriptedChecks()


@pytest.fixture
def runtime() -> ScriptedRuntime:
    return ScriptedRuntime(["succeeded"])


@pytest.fixture
def engine(
    tmp_path: Path, trees: TreeCatalog, checks: ScriptedChecks, runtime: ScriptedRuntime
) -> Iterator[TroubleshootingEngine]:
    made = make_engine(tmp_path, trees, checks=checks, runtime=runtime)
    yield made
    made.close()


def test_a_resolved_network_session_keeps_its_questions_check_and_outcome(
    engine: TroubleshootingEngine,
) -> None:
    view = engine.start("lab", technician="elena", ticket="INC7")
    for answer in ("net", "printer-3f"):  # the check answers "does it answer?" itself
        view = engine.answer(view.session.id, answer)

    trail = session_trail(*engine.session_and_tree(view.session.id))

    assert [(n.node, n.kind) for n in trail.path] == [
        ("ask-kind", "question"),
        ("ask-host", "question"),
        ("ping", "diagnostic"),
        ("ask-reachable", "question"),
        ("resolved-net", "outcome"),
    ]
    assert trail.path[0].text == "Which kind?"
    assert trail.path[0].answer == "net"
    assert trail.path[2].answer is None
    assert trail.path[3].answer is True
    assert trail.path[4].text == "{{ facts.host }} answers"
    assert [(d.name, d.target, d.result) for d in trail.diagnostics] == [("ping", "ping", "passed")]
    assert trail.outcome is not None
    assert (trail.outcome.result, trail.outcome.summary) == ("resolved", "printer-3f answers")
    assert (trail.title, trail.technician, trail.ticket) == ("Lab", "elena", "INC7")
    assert trail.finished_at is not None
    assert collect_session(trail).missing == ()


def test_an_action_names_the_execution_it_started(
    engine: TroubleshootingEngine, runtime: ScriptedRuntime
) -> None:
    view = engine.start("lab", technician="elena")
    for answer in ("acct", "tom"):
        view = engine.answer(view.session.id, answer)

    trail = session_trail(*engine.session_and_tree(view.session.id))

    started = list(runtime.executions)
    assert trail.executions == started
    assert [n.execution for n in trail.path if n.kind == "action"] == started
    missing = collect_session(trail).missing
    assert missing == (f"the record of execution {started[0]}",)


def test_known_facts_skips_decisions_and_escalations_are_kept(
    engine: TroubleshootingEngine,
) -> None:
    view = engine.start("lab", technician="elena", facts={"kind": "num"})
    view = engine.answer(view.session.id, "4")

    trail = session_trail(*engine.session_and_tree(view.session.id))

    assert [(n.node, n.kind, n.answer) for n in trail.path] == [
        ("ask-kind", "question", "num"),
        ("ask-count", "question", 4),
        ("pick-fix", "decision", None),
        ("fix-b", "outcome", None),
    ]
    assert trail.outcome is not None
    assert (trail.outcome.result, trail.outcome.escalate_to) == ("escalated", "team-b")


def test_a_failed_check_and_a_session_still_running(
    engine: TroubleshootingEngine, checks: ScriptedChecks
) -> None:
    checks.queue.append(("error", {}))
    broken = engine.start("lab", technician="elena")
    for answer in ("net", "printer-3f"):
        broken = engine.answer(broken.session.id, answer)
    running = engine.start("lab", technician="omar")

    failed = session_trail(*engine.session_and_tree(broken.session.id))
    unfinished = session_trail(*engine.session_and_tree(running.session.id))

    assert [d.result for d in failed.diagnostics] == ["error"]
    assert unfinished.outcome is None
    assert unfinished.finished_at is None
    assert unfinished.path == []


def test_an_action_without_a_runtime_names_no_execution(tmp_path: Path, trees: TreeCatalog) -> None:
    engine = make_engine(tmp_path, trees)
    try:
        view = engine.start("lab", technician="elena")
        for answer in ("acct", "tom"):
            view = engine.answer(view.session.id, answer)
        trail = session_trail(*engine.session_and_tree(view.session.id))
    finally:
        engine.close()

    assert trail.executions == []
    assert [n.execution for n in trail.path if n.kind == "action"] == [None]

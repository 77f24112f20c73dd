"""Trigger files: what loads, and every problem named with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import SourceError
from gateway.tickets.rules import load_triggers
from tests.tickets.conftest import TRIGGERS

WORKFLOWS = {"password-reset": frozenset({"user", "must_change"})}
GOOD = """\
id: t1
title: T
signals:
  - {keywords: [vpn], weight: 0.9}
routes:
  - id: r1
    humans: {note: "hi"}
"""


def _load(tmp_path: Path, text: str, name: str = "t.yaml") -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as raised:
        load_triggers(tmp_path, WORKFLOWS)
    return [str(problem) for problem in raised.value.problems]


def test_the_shipped_triggers_load_against_the_shipped_workflows() -> None:
    workflows = {
        "password-reset": frozenset({"user"}),
        "account-unlock": frozenset({"user"}),
        "software-install": frozenset({"title", "device"}),
        "alert-notify": frozenset({"user", "alertname", "instance", "summary"}),
    }
    triggers = load_triggers(TRIGGERS, workflows)

    assert triggers.ids() == [
        "password-reset",
        "account-unlock",
        "software-install",
        "access-request",
        "target-down",
    ]
    assert [t.id for t in triggers] == triggers.ids()


def test_a_missing_folder_has_no_triggers(tmp_path: Path) -> None:
    assert load_triggers(tmp_path / "none").ids() == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(GOOD.replace("{keywords: [vpn], weight: 0.9}", "{keywords: [a], pattern: x}"),
                     "t.yaml:4: signals.0: Value error, a signal has exactly one of keywords, "
                     "pattern or field", id="a signal of two kinds"),
        pytest.param(GOOD.replace("{keywords: [vpn], weight: 0.9}", "{field: category}"),
                     "signals.0: Value error, field and equals go together", id="field alone"),
        pytest.param(GOOD.replace("{keywords: [vpn], weight: 0.9}", "{pattern: '(x'}"),
                     "signals.0: Value error, pattern does not compile", id="a bad pattern"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', "workflow: password-reset\n"
                                  "    humans: {note: hi}"),
                     "routes.0: Value error, a route has either a workflow or humans",
                     id="a route of two kinds"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', 'humans: {note: "hi"}\n    note: x'),
                     "a humans route takes only humans.queue and humans.note",
                     id="a humans route with a note"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', "workflow: nope"),
                     "t.yaml:7: unknown workflow 'nope'", id="an unknown workflow"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', "workflow: password-reset\n"
                                  "    with: {user: x, colour: red}"),
                     "t.yaml:8: workflow password-reset has no parameter colour",
                     id="an unknown parameter"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', 'humans: {note: "{{ (}}"}'),
                     "t.yaml:7: template does not parse", id="a bad template"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', 'humans: {note: "hi"}\n'
                                  "    when: 'a and'"),
                     "t.yaml:8: condition does not parse", id="a bad condition"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', 'humans: {note: "hi"}\n'
                                  "    when: 'secrets.x'"),
                     "secrets.x refers to 'secrets'; known: classification, extracted, requester, "
                     "target, ticket", id="an unknown name"),
        pytest.param(GOOD.replace('humans: {note: "hi"}', "workflow: password-reset\n"
                                  "    done_note: '{{ ticket.subject }}'"),
                     "ticket.subject refers to 'ticket'; known: execution, params",
                     id="a done note reads only the execution"),
        pytest.param(GOOD + '  - id: r1\n    humans: {note: "again"}\n',
                     "t.yaml:8: route id 'r1' is used twice", id="a route id twice"),
    ],
)  # fmt: skip
def test_problems_name_the_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    problems = _load(tmp_path, text)

    assert any(problem in found for found in problems), problems


def test_a_trigger_id_used_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    problems = _load(tmp_path, GOOD, "b.yaml")

    assert problems == [f"{tmp_path / 'b.yaml'}:1: trigger id 't1' is also defined in "
                        f"{tmp_path / 'a.yaml'}:1"]  # fmt: skip


def test_without_a_workflow_list_workflows_are_not_checked(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(GOOD.replace('humans: {note: "hi"}', "workflow: x"))

    assert load_triggers(tmp_path).ids() == ["t1"]

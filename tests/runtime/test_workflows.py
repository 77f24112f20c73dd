"""Loading workflow definitions: every problem a run would trip on, with file and line."""

from __future__ import annotations

import textwrap
from functools import partial
from pathlib import Path

import pytest

from gateway.app import open_knowledge
from gateway.config import EMBEDDED_DIRECTORY, KnowledgeConfig
from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.errors import SourceError
from gateway.identity.embedded_actions import EmbeddedDirectoryActions
from gateway.identity.static import StaticDirectory
from gateway.knowledge.actions import knowledge_actions
from gateway.notify.file import FileNotifier
from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.builtin import directory_actions, notification_actions, software_actions
from gateway.runtime.errors import UnknownWorkflowError
from gateway.runtime.parameters import ParameterSpec
from gateway.runtime.workflows import Workflow, WorkflowCatalog, load_workflow
from tests.runtime.harness import SHIPPED_WORKFLOWS


def _nothing(_: ActionCall) -> ActionOutput:
    return ActionOutput()


ACTIONS = ActionRegistry(
    [
        ActionSpec(
            name="ticket.comment",
            description="comment on a ticket",
            run=_nothing,
            parameters={"ticket": ParameterSpec(), "note": ParameterSpec(required=False)},
        )
    ]
)

HEAD = """\
id: sample
title: A sample
parameters:
  ticket: {}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "sample.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(SourceError) as caught:
        load_workflow(path, ACTIONS)
    prefix = f"{path}:"
    return [str(problem).removeprefix(prefix) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.nope
            """,
            ["7: unknown action 'ticket.nope'"],
            id="an unknown action",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                with:
                  ticket: T-1
                  colour: red
            """,
            ["10: action ticket.comment has no parameter 'colour' (known: note, ticket)"],
            id="a parameter the action does not have",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                with: {note: hi}
            """,
            ["8: action ticket.comment needs ticket"],
            id="a required action parameter left out",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                with:
                  ticket: "{{ params.ticket +"
            """,
            ["9: template does not parse: "],
            id="a template that does not parse",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                when: "params.ticket =="
                with: {ticket: T-1}
            """,
            ["8: condition does not parse: "],
            id="a condition that does not parse",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                with: {ticket: "{{ steps.b.output.ticket }}"}
              - id: b
                action: ticket.comment
                with: {ticket: T-1}
            """,
            ["6: step a: steps.b.output.ticket: no earlier step has that id"],
            id="a reference to a later step",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                with: {ticket: "{{ params.tikcet }}", note: "{{ steps }}"}
              - id: b
                action: ticket.comment
                when: "params"
                with: {ticket: "{{ request.ticket }}"}
            """,
            [
                "6: step a: params.tikcet: the workflow has no such parameter",
                "6: step a: steps: no earlier step has that id",
                "9: step b: params: the workflow has no such parameter",
                "9: step b: request.ticket: templates may use params, steps and execution only",
            ],
            id="references to names that do not exist",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                with:
                  ticket: T-1
                  note:
                    - fine
                    - "{{ oops("
            """,
            ["12: template does not parse: "],
            id="a bad template inside a list",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                with: {ticket: T-1}
              - id: a
                action: ticket.comment
                with: {ticket: T-2}
            """,
            ["9: step id 'a' is used twice"],
            id="a step id used twice",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                action: ticket.comment
                schedule: {workflow: sample, after_hours: 1}
              - id: b
                with: {ticket: T-1}
              - id: c
                schedule: {workflow: sample, after_hours: 1}
                with: {ticket: T-1}
            """,
            [
                "6: steps.0: Value error, a step has either an action or a schedule",
                "9: steps.1: Value error, a step has either an action or a schedule",
                "11: steps.2: Value error, a schedule step takes its parameters under "
                "schedule.with",
            ],
            id="steps that are not one kind",
        ),
        pytest.param(
            """\
            steps:
              - id: a
                schedule:
                  workflow: sample
                  after_hours: "{{ params.hours"
                  with: {ticket: "{{ params.nope }}"}
            """,
            [
                "9: template does not parse: ",
                "6: step a: params.nope: the workflow has no such parameter",
            ],
            id="a schedule with bad templates",
        ),
        pytest.param(
            """\
            colour: red
            steps: []
            """,
            ["6: steps: List should have at least", "5: colour: Extra inputs are not permitted"],
            id="unknown keys and no steps",
        ),
    ],
)
def test_each_problem_is_named_with_its_line(
    tmp_path: Path, body: str, expected: list[str]
) -> None:
    found = problems(tmp_path, HEAD + textwrap.dedent(body))

    assert len(found) == len(expected)
    for problem, start in zip(found, expected, strict=True):
        assert problem.startswith(start), problem


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param(
            "account:{{ params.user }}",
            "2: target: params.user: the workflow has no such parameter",
            id="a target naming an unknown parameter",
        ),
        pytest.param(
            "account:{{ execution.actor }}",
            "2: target: execution.actor: use params only",
            id="a target naming the actor",
        ),
        pytest.param(
            "account:{{ steps.a.output.user }}",
            "2: target: steps.a.output.user: no earlier step has that id",
            id="a target naming a step",
        ),
        pytest.param(
            "account:{{ params.ticket",
            "2: target does not parse: ",
            id="a target that does not parse",
        ),
    ],
)
def test_a_bad_target_template_is_named_with_its_line(
    tmp_path: Path, target: str, expected: str
) -> None:
    text = f"""\
id: sample
target: "{target}"
title: A sample
parameters:
  ticket: {{}}
steps:
  - id: a
    action: ticket.comment
    with: {{ticket: T-1}}
"""
    assert problems(tmp_path, text)[0].startswith(expected)


def test_a_workflow_takes_no_secret_parameters(tmp_path: Path) -> None:
    text = """\
id: sample
title: A sample
parameters:
  ticket: {}
  password: {secret: true}
steps:
  - id: a
    action: ticket.comment
    with: {ticket: T-1}
"""
    assert problems(tmp_path, text) == [
        "5: parameter password: workflows take no secret parameters; "
        "an action that needs a secret makes or fetches it itself"
    ]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_two_files_defining_one_workflow_id_are_refused_naming_both_lines(
    tmp_path: Path,
) -> None:
    body = HEAD + "steps:\n  - id: a\n    action: ticket.comment\n    with: {ticket: T-1}\n"
    first = write(tmp_path / "wf", "a.yaml", body)
    second = write(tmp_path / "wf", "b.yaml", "# a copy of a.yaml\n\n" + body)

    with pytest.raises(SourceError) as caught:
        WorkflowCatalog.load(tmp_path / "wf", ACTIONS)

    assert [str(p) for p in caught.value.problems] == [
        f"{second}:3: workflow id 'sample' is also defined in {first}:1"
    ]


def test_a_schedule_naming_a_workflow_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "wf",
        "a.yaml",
        HEAD + "steps:\n  - id: later\n    schedule: {workflow: revoke, after_hours: 1}\n",
    )

    with pytest.raises(SourceError) as caught:
        WorkflowCatalog.load(tmp_path / "wf", ACTIONS)

    assert [str(p) for p in caught.value.problems] == [
        f"{path}:7: step later schedules workflow 'revoke', which does not exist"
    ]


def test_every_invalid_file_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path / "wf", "a.yaml", HEAD + "steps:\n  - id: a\n    action: x\n")
    write(tmp_path / "wf", "b.yaml", "id: [unclosed\n")

    with pytest.raises(SourceError) as caught:
        WorkflowCatalog.load(tmp_path / "wf", ACTIONS)

    assert [p.file.rsplit("/", 1)[-1] for p in caught.value.problems] == ["a.yaml", "b.yaml"]
    assert caught.value.diagnostics().startswith("invalid workflows:\n  ")


def test_no_folder_is_no_workflows(tmp_path: Path) -> None:
    catalog = WorkflowCatalog.load(tmp_path / "missing", ACTIONS)

    assert catalog.ids() == []
    with pytest.raises(UnknownWorkflowError, match=r"^unknown workflow 'x'; known: none$"):
        catalog.get("x")


def test_the_shipped_workflows_load_and_keep_an_exact_snapshot(tmp_path: Path) -> None:
    directory = StaticDirectory.load(EMBEDDED_DIRECTORY)
    changes = EmbeddedDirectoryActions(tmp_path / "directory.db", directory)
    devices = EmbeddedDeviceManager(tmp_path / "devices.db")
    actions = ActionRegistry(
        [
            *directory_actions(directory, changes),
            *software_actions(devices),
            *notification_actions(FileNotifier(tmp_path / "notifications.jsonl")),
            *knowledge_actions(
                partial(
                    open_knowledge,
                    KnowledgeConfig(articles=tmp_path / "kb", index=tmp_path / "kb.db"),
                )
            ),
        ]
    )

    catalog = WorkflowCatalog.load(SHIPPED_WORKFLOWS, actions)

    assert catalog.ids() == [
        "access-grant",
        "access-revoke",
        "account-unlock",
        "alert-notify",
        "kb-publish",
        "password-reset",
        "software-install",
    ]
    for workflow in catalog:
        again = Workflow.from_snapshot(workflow.snapshot(), workflow.source, workflow.digest)
        assert again.definition == workflow.definition
        assert workflow.digest.startswith("sha256:")
    changes.close()
    devices.close()

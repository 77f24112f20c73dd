"""Loading the catalog: the shipped items, and every problem named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.devices.installer import InstallResult
from gateway.errors import SourceError
from gateway.runtime.actions import ActionRegistry
from gateway.runtime.builtin import software_actions
from gateway.runtime.workflows import WorkflowCatalog
from gateway.selfservice import Catalog, UnknownItemError
from gateway.selfservice.definitions import parse_duration
from tests.selfservice.harness import REPO

GOOD = """\
id: sample
title: Sample
category: software
owner: it-support
workflow: software-install
parameters:
  title: {pattern: "[a-z0-9]+"}
  device: {pattern: "[a-z0-9-]+"}
with: {title: "{{ params.title }}", device: "{{ params.device }}"}
"""


@pytest.fixture
def workflows(config: GatewayConfig) -> WorkflowCatalog:
    actions = ActionRegistry(software_actions(_NoInstaller()))
    folder = config.runtime.workflows
    only = folder.parent / "only-install"
    only.mkdir()
    (only / "software-install.yaml").write_text(
        (folder / "software-install.yaml").read_text().split("  - id: tell-requester")[0]
    )
    return WorkflowCatalog.load(only, actions)


class _NoInstaller:
    name = "none"

    def install(self, device: str, title: str) -> InstallResult:  # pragma: no cover - never run
        raise NotImplementedError

    def uninstall(self, device: str, title: str) -> InstallResult:  # pragma: no cover - never run
        raise NotImplementedError


def _load(tmp_path: Path, workflows: WorkflowCatalog, **files: str) -> Catalog:
    folder = tmp_path / "items"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text)
    return Catalog.load(folder, workflows)


def test_the_shipped_catalog_loads_and_searches(config: GatewayConfig) -> None:
    from tests.selfservice.harness import Stack

    stack = Stack(config)
    try:
        catalog = stack.service.catalog
        assert [item.id for item in catalog] == [
            "grant-temporary-access",
            "install-software",
            "reset-my-password",
            "unlock-my-account",
        ]
        assert [i.id for i in catalog.search("PASSWORD reset")] == ["reset-my-password"]
        assert [i.id for i in catalog.search(category="accounts")] == [
            "reset-my-password",
            "unlock-my-account",
        ]
        assert catalog.get("install-software").summary()["minutes_saved"] == 20
        assert len(catalog) == 4
        assert catalog.digest.startswith("sha256:")
    finally:
        stack.close()
    assert (REPO / "automations" / "catalog" / "inventory" / "devices.yaml").is_file()


def test_a_missing_folder_is_an_empty_catalog(tmp_path: Path, workflows: WorkflowCatalog) -> None:
    catalog = Catalog.load(tmp_path / "none", workflows)
    assert len(catalog) == 0
    with pytest.raises(UnknownItemError):
        catalog.get("sample")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(GOOD.replace("owner: it-support\n", ""), 1, "owner", id="a missing field"),
        pytest.param(
            GOOD.replace("software-install", "nope"),
            5,
            "unknown workflow 'nope'",
            id="an unknown workflow",
        ),
        pytest.param(
            GOOD.replace("with: {", "with: {extra: x, "),
            9,
            "workflow software-install has no parameter 'extra'",
            id="a key the workflow does not take",
        ),
        pytest.param(
            GOOD.replace(', device: "{{ params.device }}"', ""),
            9,
            "workflow software-install needs device",
            id="a workflow parameter left out",
        ),
        pytest.param(
            GOOD.replace("{{ params.device }}", "{{ params.nope }}"),
            9,
            "params.nope: the item has no such parameter",
            id="an unknown parameter in a template",
        ),
        pytest.param(
            GOOD.replace("{{ params.device }}", "{{ secrets.x }}"),
            9,
            "templates may use params, actor and target only",
            id="an unknown root in a template",
        ),
        pytest.param(
            GOOD.replace("{{ params.device }}", "{{ target }}"),
            9,
            "the item has no target parameter",
            id="a target without a target parameter",
        ),
        pytest.param(
            GOOD.replace("{{ params.device }}", "{{ params.device"),
            9,
            "template does not parse",
            id="a template that does not parse",
        ),
        pytest.param(
            GOOD.replace(
                'device: {pattern: "[a-z0-9-]+"}', 'device: {pattern: "[a-z]+", secret: true}'
            ),
            9,
            "secret parameters are never handed to a workflow",
            id="a secret handed to a workflow",
        ),
    ],
)
def test_invalid_items_name_the_file_line_and_problem(
    tmp_path: Path, workflows: WorkflowCatalog, text: str, line: int, message: str
) -> None:
    with pytest.raises(SourceError) as caught:
        _load(tmp_path, workflows, sample=text)
    problem = caught.value.problems[0]
    assert problem.file.endswith("sample.yaml")
    assert problem.line == line
    assert message in problem.message


def test_an_id_used_twice_is_refused(tmp_path: Path, workflows: WorkflowCatalog) -> None:
    with pytest.raises(SourceError, match=r"^invalid catalog: .*/b\.yaml:1: catalog item id "
                       r"'sample' is also defined in .*/a\.yaml:1$"):  # fmt: skip
        _load(tmp_path, workflows, a=GOOD, b=GOOD)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(("target: x\n", ""), "target 'x' is not a parameter", id="an unknown target"),
        pytest.param(
            ("guardrails: {max_targets: 2}\n", ""),
            "need a target parameter",
            id="a blast radius without targets",
        ),
        pytest.param(
            ("parameters:\n", "parameters:\n  Bad: {}\n"),
            "parameter name 'Bad' must match",
            id="a parameter name with capitals",
        ),
    ],
)
def test_definition_rules(
    tmp_path: Path, workflows: WorkflowCatalog, change: tuple[str, str], message: str
) -> None:
    extra, replacement = change
    text = GOOD + extra if not replacement else GOOD.replace(extra, replacement)
    with pytest.raises(SourceError, match=message):
        _load(tmp_path, workflows, sample=text)


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ("{type: list, default: a}", "a list parameter has no default"),
        ("{type: integer, source: devices}", "source applies to string and list"),
        ("{secret: true, source: devices}", "cannot take its values from a source"),
        ("{pattern: '('}", "pattern does not compile"),
        ("{secret: true}", "target must be a string or list parameter, not secret"),
    ],
)
def test_parameter_rules(
    tmp_path: Path, workflows: WorkflowCatalog, parameter: str, message: str
) -> None:
    text = GOOD.replace("parameters:\n", f"parameters:\n  x: {parameter}\n") + "target: x\n"
    with pytest.raises(SourceError, match=message):
        _load(tmp_path, workflows, sample=text)


@pytest.mark.parametrize(
    ("guardrails", "message"),
    [
        ("{rate_limits: [{max: 1, per: soon}]}", "expected a duration like 30s"),
        ("{rate_limits: [{max: 1, per: 0m}]}", "expected a duration like 30s"),
        (
            "{maintenance_windows: [{start: '01:00', end: '01:00'}]}",
            "start and end are the same time",
        ),
    ],
)
def test_guardrail_rules(
    tmp_path: Path, workflows: WorkflowCatalog, guardrails: str, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        _load(tmp_path, workflows, sample=GOOD + f"guardrails: {guardrails}\n")


def test_durations() -> None:
    assert [parse_duration(t) for t in ("30s", "10m", "1h", "2d")] == [30, 600, 3600, 172800]


def test_nested_values_in_with_are_checked_too(tmp_path: Path, workflows: WorkflowCatalog) -> None:
    nested = GOOD.replace(
        'device: "{{ params.device }}"}', 'device: {x: ["{{ params.device }}", 5]}}'
    )
    assert len(_load(tmp_path, workflows, sample=nested)) == 1
    broken = GOOD.replace('device: "{{ params.device }}"}', 'device: {x: ["{{ params.nope }}"]}}')
    with pytest.raises(SourceError, match=r"params\.nope: the item has no such parameter"):
        _load(tmp_path, workflows, sample=broken)

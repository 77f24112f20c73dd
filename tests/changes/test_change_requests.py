"""Change requests read from ServiceNow's change_request table or the change register
file: a workflow bound to a change runs only under a change that is approved, being
implemented and inside its planned window; anything else, ServiceNow down included, is
refused with the reason."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit.log import read_lines
from gateway.audit.records import AuditRecord, parse_record
from gateway.changes.errors import ChangeSourceError
from gateway.changes.requests import ChangeRegister, ServiceNowChangeRequests
from gateway.changes.servicenow import ServiceNowTables
from gateway.changes.servicenow_settings import ServiceNowChangeSettings
from gateway.changes.setup import open_change_requests
from gateway.cli import cli
from tests.changes.servicenow_change_server import PASSWORD, USER, ServiceNowChangeServer

REPO = Path(__file__).resolve().parents[2]
STAMP = "%Y-%m-%d %H:%M:%S"  # ServiceNow's UTC date-time values
WORKFLOW = """
id: reset-under-change
title: Reset a password under a change request
change_request: required
parameters: {user: {}}
steps:
  - id: reset
    action: password.reset
    with: {user: "{{ params.user }}"}
"""


def window(start_hours: float = -1, end_hours: float = 2) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "start_date": f"{now + timedelta(hours=start_hours):{STAMP}}",
        "end_date": f"{now + timedelta(hours=end_hours):{STAMP}}",
    }


@pytest.fixture
def servicenow() -> Iterator[ServiceNowChangeServer]:
    server = ServiceNowChangeServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, servicenow: ServiceNowChangeServer
) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    workflows = tmp_path / "automations" / "workflows"
    shutil.copytree(REPO / "automations" / "workflows", workflows)
    (workflows / "reset-under-change.yaml").write_text(WORKFLOW.lstrip(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SN_CHANGES_PASSWORD", PASSWORD)
    (tmp_path / "gateway.toml").write_text(
        f'[changes.servicenow]\ninstance_url = "{servicenow.base_url}"\nusername = "{USER}"\n'
        'password_env = "SN_CHANGES_PASSWORD"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    return tmp_path


def run(*extra: str) -> tuple[int, str, str]:
    args = ["run", "reset-under-change", "-p", "user=tom", "--actor", "elena", *extra]
    result = CliRunner().invoke(cli, args, prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def records(workdir: Path) -> list[AuditRecord]:
    lines = read_lines(workdir / "var" / "audit.log")
    return [parse_record(line, n) for n, line in enumerate(lines)]


def test_an_approved_servicenow_change_in_its_window_runs_and_is_audited(
    workdir: Path, servicenow: ServiceNowChangeServer
) -> None:
    servicenow.change("CHG0030001", **window())

    code, out, err = run("--change", "CHG0030001", "--json")

    assert code == 0, err
    assert json.loads(out)["change_request"] == "CHG0030001"
    trail = records(workdir)
    decision = next(r for r in trail if r.type == "decision" and r.action == "password.reset")
    assert decision.payload["decision"] == "allow"
    assert decision.payload["context"]["change_request"] == {
        "number": "CHG0030001", "approved": True, "implementing": True, "in_window": True,
    }  # fmt: skip
    acted = [r for r in trail if r.type.startswith("action.")]
    assert acted
    assert all(r.payload["change_request"] == "CHG0030001" for r in acted)
    asked = {
        r.query["sysparm_query"]
        for r in servicenow.requests
        if r.path == "/api/now/table/change_request"
    }
    assert asked == {"number=CHG0030001"}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"approval": "requested"}, "is not approved (approval = requested)"),
        ({"state": "-2"}, "is not in the Implement state (state = -2)"),
        (window(-3, -1), "is outside its planned window"),
    ],
    ids=["not approved", "scheduled, not implementing", "window already over"],
)
def test_a_servicenow_change_that_may_not_be_acted_under_is_refused(
    workdir: Path, servicenow: ServiceNowChangeServer, fields: dict[str, str], reason: str
) -> None:
    servicenow.change("CHG0030002", **{**window(), **fields})

    code, out, _ = run("--change", "CHG0030002")

    assert code == 3
    assert f"change CHG0030002 {reason}" in out
    denied = [r for r in records(workdir) if r.type == "decision"]
    assert [r.payload["decision"] for r in denied] == ["deny"]
    assert not [r for r in records(workdir) if r.type == "action.started"]


def test_an_unknown_change_number_is_refused(workdir: Path) -> None:
    code, out, _ = run("--change", "CHG0039999")
    assert code == 3
    assert "change CHG0039999 is not known to ServiceNow" in out


def test_servicenow_down_refuses_with_the_reason(
    workdir: Path, servicenow: ServiceNowChangeServer
) -> None:
    servicenow.change("CHG0030001", **window())
    servicenow.fail(5, status=503)

    code, out, _ = run("--change", "CHG0030001")

    assert code == 3
    assert "change CHG0030001 cannot be checked: ServiceNow GET" in out
    assert PASSWORD not in out
    assert not [r for r in records(workdir) if r.type == "action.started"]


def test_a_required_change_that_is_missing_is_refused(workdir: Path) -> None:
    code, _, err = run()
    assert code == 4
    assert "workflow reset-under-change requires a change request" in err
    assert not (workdir / "var" / "audit.log").exists() or not [
        r for r in records(workdir) if r.type == "execution.started"
    ]


def test_a_number_that_is_not_a_change_number_is_not_sent(
    servicenow: ServiceNowChangeServer,
) -> None:
    settings = ServiceNowChangeSettings.model_validate(
        {"instance_url": servicenow.base_url, "username": USER, "password": PASSWORD}
    )
    source = ServiceNowChangeRequests(ServiceNowTables(settings))
    try:
        status = source.check("CHG1^approval=approved")
    finally:
        source.close()
    assert status.problem == "change 'CHG1^approval=approved' is not a change number"
    assert servicenow.requests == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("changes: {}\n", "'changes' is not a list"),
        ("- 1\n", "'changes' is not a list"),
        ("changes: [\n", "cannot be read"),
    ],
    ids=["changes not a list", "not a mapping", "broken YAML"],
)
def test_a_broken_register_refuses_every_change(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "changes.yaml"
    path.write_text(text, encoding="utf-8")
    status = open_change_requests(path).check("CHG0030001")
    assert not status.ready
    assert status.problem is not None
    assert problem in status.problem


def test_a_register_entry_without_dates_is_outside_its_window(tmp_path: Path) -> None:
    path = tmp_path / "changes.yaml"
    path.write_text(
        "changes:\n  - {number: CHG0030001, approval: approved, state: '-1', end_date: soon}\n",
        encoding="utf-8",
    )
    status = ChangeRegister(path).check("CHG0030001")
    assert status.problem == "change CHG0030001 is outside its planned window"
    assert status.audit()["in_window"] is False


def test_the_embedded_register_knows_no_change() -> None:
    status = open_change_requests(REPO / "gateway" / "defaults" / "changes.yaml").check("CHG1")
    assert status.problem == "change CHG1 is not known to the change register"


def test_register_dates_written_as_yaml_timestamps_are_read_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "changes.yaml"
    path.write_text(
        "changes:\n  - {number: CHG0030000}\n  - number: CHG0030001\n    approval: approved\n"
        "    state: implement\n"
        "    start_date: 2020-01-01 00:00:00\n    end_date: 2999-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    status = ChangeRegister(path).check("CHG0030001")
    assert status.ready
    assert status.audit() == {
        "number": "CHG0030001", "approved": True, "implementing": True, "in_window": True,
        "problem": None,
    }  # fmt: skip


def test_a_caller_cannot_send_the_change_request_context(workdir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["authorize", "--actor", "omar", "--action", "access.grant", "--resource",
         "account:tom", "--context", "change_request=CHG0030001", "--json"],
        prog_name="gateway",
    )  # fmt: skip
    assert result.exit_code == 3
    assert "context change_request is set by the gateway, not by the caller" in result.stdout


def test_the_execution_summary_is_written_on_the_servicenow_change(
    workdir: Path, servicenow: ServiceNowChangeServer
) -> None:
    record = servicenow.change("CHG0030001", **window())

    code, out, _ = run("--change", "CHG0030001", "--json")

    assert code == 0
    execution = json.loads(out)["id"]
    assert record["journal"] == [
        f"IT support gateway: execution {execution} of workflow reset-under-change, "
        "started by elena, succeeded."
    ]
    patches = [r for r in servicenow.requests if r.method == "PATCH"]
    assert [r.path for r in patches] == [f"/api/now/table/change_request/{record['sys_id']}"]
    written = [r for r in records(workdir) if r.type == "change.note_written"]
    assert [r.payload["change_request"] for r in written] == ["CHG0030001"]


def test_a_register_note_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    register = ChangeRegister(tmp_path / "changes.yaml", notes=blocker / "notes.jsonl")
    with pytest.raises(ChangeSourceError, match=r"change notes .*notes.jsonl: cannot be written"):
        register.add_note("CHG0030001", "done")

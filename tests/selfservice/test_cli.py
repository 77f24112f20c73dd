"""``gateway catalog``: what a person at a terminal sees."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.selfservice.harness import REPO


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations" / "workflows", tmp_path / "automations" / "workflows")
    shutil.copytree(REPO / "automations" / "catalog", tmp_path / "automations" / "catalog")
    item = tmp_path / "automations" / "catalog" / "install-software.yaml"
    text = item.read_text()  # the wall clock decides here: no maintenance window in tests
    item.write_text(text.split("  maintenance_windows:")[0])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["catalog", *args], prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def test_list_and_show_what_a_person_may_see(workdir: Path) -> None:
    code, out, _ = invoke("list", "--actor", "tom")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "install-software",
        "reset-my-password",
        "unlock-my-account",
    ]
    code, out, _ = invoke("list", "--actor", "elena", "--search", "access", "--json")
    assert [i["id"] for i in json.loads(out)] == ["grant-temporary-access"]
    code, out, _ = invoke("show", "install-software", "--actor", "tom")
    assert code == 0
    assert "runs workflow software-install; saves about 20 minutes" in out
    assert '"choices": ["tom-desktop", "tom-laptop"]' in out
    code, out, _ = invoke("show", "install-software", "--actor", "tom", "--json")
    body = json.loads(out)
    assert body["parameters"]["title"]["choices"] == ["7zip", "visio"]
    assert body["guardrails"]["max_targets"] == 3
    code, _, err = invoke("show", "grant-temporary-access", "--actor", "tom")
    assert code == 4
    assert "unknown catalog item 'grant-temporary-access'" in err


def test_dry_run_then_run_then_usage(workdir: Path) -> None:
    code, out, _ = invoke(
        "run",
        "install-software",
        "--actor",
        "tom",
        "-p",
        "title=7zip",
        "-p",
        "devices=tom-laptop",
        "--dry-run",
    )
    assert code == 0
    assert (
        out.splitlines()[0] == "DRY RUN  install-software for tom: would run; nothing was executed"
    )
    assert 'would start software-install with {"title": "7zip", "device": "tom-laptop"}' in out
    code, out, _ = invoke(
        "run",
        "install-software",
        "--actor",
        "tom",
        "-p",
        "title=7zip",
        "-p",
        "devices=tom-laptop,tom-desktop",
        "--dry-run",
        "--json",
    )
    assert json.loads(out)["needs_approval"] is True
    code, out, _ = invoke(
        "run",
        "install-software",
        "--actor",
        "tom",
        "-p",
        "title=7zip",
        "-p",
        "devices=tom-laptop,tom-desktop",
        "--dry-run",
    )
    assert "  an approval would be needed first" in out
    code, out, _ = invoke(
        "run", "install-software", "--actor", "tom", "-p", "title=7zip", "-p", "devices=tom-laptop"
    )
    assert code == 0
    assert out.startswith("SUCCEEDED  install-software run ")
    run_id = out.split()[3]
    code, out, _ = invoke("status", run_id, "--json")
    assert json.loads(out)["state"] == "succeeded"
    code, _, err = invoke(
        "run",
        "install-software",
        "--actor",
        "tom",
        "-p",
        "title=7zip",
        "-p",
        "devices=priya-laptop",
    )
    assert code == 3
    assert "refused (target_not_allowed): priya-laptop is not one of your devices" in err
    code, _, err = invoke("run", "install-software", "--actor", "tom", "-p", "title")
    assert code == 2
    assert "expected KEY=VALUE" in err
    code, out, _ = invoke("usage")
    assert (
        out.splitlines()[0]
        == "runs 1  succeeded 1  failed 0  minutes saved 20  tickets deflected 1"
    )
    assert "refused: target_not_allowed 1" in out
    code, out, _ = invoke("usage", "--csv")
    assert next(csv.DictReader(io.StringIO(out)))["refused_target_not_allowed"] == "1"
    code, out, _ = invoke("usage", "--json")
    assert json.loads(out)["total"]["minutes_saved"] == 20
    code, out, _ = invoke("usage", "--prometheus")
    assert "gateway_selfservice_tickets_deflected_total" in out


def test_waiting_runs_show_the_next_step_and_can_be_cancelled(workdir: Path) -> None:
    code, out, _ = invoke(
        "run",
        "install-software",
        "--actor",
        "tom",
        "-p",
        "title=7zip",
        "-p",
        "devices=tom-laptop,tom-desktop",
    )
    assert code == 6
    assert "next: an approver runs: gateway approvals approve" in out
    run_id = out.split()[3]
    code, out, _ = invoke("resume", run_id)
    assert code == 6
    code, out, _ = invoke("cancel", run_id, "--by", "tom")
    assert out.startswith("CANCELLED")
    code, out, _ = invoke("resume", run_id, "--json")
    assert code == 1
    code, out, _ = invoke("run", "reset-my-password", "--actor", "tom", "--json")
    assert code == 6
    assert json.loads(out)["waiting"]["kind"] == "step_up"
    code, out, _ = invoke("status", json.loads(out)["id"])
    assert "next: tom steps up with: gateway stepup verify --user tom" in out
    code, out, _ = invoke(
        "run", "install-software", "--actor", "tom", "-p", "title=visio", "-p", "devices=tom-laptop"
    )
    assert "executions: " in out


def test_a_dry_run_that_would_be_refused_exits_3(workdir: Path) -> None:
    code, out, _ = invoke(
        "run",
        "grant-temporary-access",
        "--actor",
        "tom",
        "-p",
        "users=tom",
        "-p",
        "system=crm",
        "--dry-run",
    )
    assert code == 3
    assert "would be refused" in out
    assert "IT tools in the catalog are for the IT department only" in out
    for _ in range(5):  # each waits for Tom's step-up; cancelled, it still counts
        _, started, _ = invoke("run", "unlock-my-account", "--actor", "tom", "--json")
        invoke("cancel", json.loads(started)["id"], "--by", "tom")
    code, out, _ = invoke("run", "unlock-my-account", "--actor", "tom", "--dry-run")
    assert code == 3
    assert "refusal: quota: your quota of 5 runs per day is used up" in out

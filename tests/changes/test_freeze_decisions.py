"""A change freeze is what the change calendar says, never what a caller claims: it
applies to decisions, workflows and every HTTP caller alike."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.cli import cli
from gateway.cli.demo import frozen_calendar

REPO = Path(__file__).resolve().parents[2]
GRANT = ("--actor", "omar", "--action", "access.grant", "--resource", "account:tom")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations" / "workflows", tmp_path / "automations" / "workflows")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def freeze_now(workdir: Path) -> None:
    """Point the configuration at a calendar with a freeze in force."""
    frozen_calendar(workdir / "calendar")
    (workdir / "gateway.toml").write_text(
        '[changes]\ncalendar = "calendar/demo-freeze.ics"\n', encoding="utf-8"
    )


def decision_records(workdir: Path) -> list[dict[str, object]]:
    lines = read_lines(workdir / "var" / "audit.log")
    records = [parse_record(line, n) for n, line in enumerate(lines)]
    return [record.payload for record in records if record.type == "decision"]


@pytest.mark.parametrize("claimed", ["false", "true"])
def test_a_caller_cannot_claim_or_deny_a_freeze(workdir: Path, claimed: str) -> None:
    code, out, _ = invoke(
        "authorize", *GRANT, "--context", "system=payroll", "--context",
        f"change_freeze={claimed}", "--json",
    )  # fmt: skip

    decision = json.loads(out)
    assert code == 3
    assert decision["reasons"][0]["message"] == (
        "context change_freeze is set by the gateway, not by the caller"
    )
    (recorded,) = decision_records(workdir)
    assert recorded["decision"] == "deny"


def test_without_a_freeze_in_the_calendar_the_grant_is_decided_as_usual(workdir: Path) -> None:
    code, out, _ = invoke("authorize", *GRANT, "--context", "system=payroll", "--json")

    decision = json.loads(out)
    assert code == 0
    assert decision["request"]["context"]["change_freeze"] is False
    (recorded,) = decision_records(workdir)
    assert recorded["context"] == {
        "system": "payroll",
        "change_freeze": False,
        "change_window": False,
    }


def test_a_freeze_in_the_calendar_denies_a_grant_and_is_recorded(workdir: Path) -> None:
    freeze_now(workdir)

    code, out, _ = invoke("authorize", *GRANT, "--context", "system=payroll", "--json")

    decision = json.loads(out)
    assert code == 3
    assert "change-freeze" in {reason["policy"] for reason in decision["reasons"]}
    (recorded,) = decision_records(workdir)
    assert recorded["context"] == {
        "system": "payroll",
        "change_freeze": True,
        "change_window": False,
    }


def test_a_freeze_in_the_calendar_refuses_a_workflow(workdir: Path) -> None:
    freeze_now(workdir)

    code, out, err = invoke(
        "run", "access-grant", "-p", "user=tom", "-p", "system=payroll",
        "-p", "duration_hours=8", "--actor", "omar", "--json",
    )  # fmt: skip

    assert code == 3, err
    assert "non-standard changes are frozen during a change freeze" in out


def test_a_freeze_does_not_stop_standard_work(workdir: Path) -> None:
    freeze_now(workdir)

    code, _, _ = invoke(
        "authorize", "--actor", "elena", "--action", "password.reset", "--resource", "account:tom"
    )

    assert code == 0


def test_a_calendar_that_cannot_be_read_stops_the_gateway(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text('[changes]\ncalendar = "nowhere.ics"\n', encoding="utf-8")

    code, _, err = invoke("authorize", *GRANT)

    assert code == 4
    assert "nowhere.ics: cannot read" in err


def test_automatic_approval_is_asked_with_the_calendar_state(workdir: Path) -> None:
    code, _, err = invoke(
        "run", "software-install", "-p", "title=visio", "-p", "device=elena-laptop",
        "--actor", "elena", "--json",
    )  # fmt: skip

    lines = read_lines(workdir / "var" / "audit.log")
    records = [parse_record(line, n) for n, line in enumerate(lines)]
    asked = [r for r in records if r.type == "decision" and r.action == "approval.auto"]
    assert code == 0, err
    assert asked  # when approved, and again just before the install runs
    assert all(r.payload["decision"] == "allow" for r in asked)
    assert all(r.payload["context"]["change_freeze"] is False for r in asked)


def window_now(workdir: Path) -> None:
    """Point the configuration at a calendar with a maintenance window open now."""
    now = datetime.now(UTC)
    stamp = "%Y%m%dT%H%M%SZ"
    (workdir / "window.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//window//EN\r\n"
        "BEGIN:VEVENT\r\nUID:open-window\r\nSUMMARY:Patch window\r\n"
        f"CATEGORIES:MAINTENANCE\r\nDTSTAMP:{now:{stamp}}\r\n"
        f"DTSTART:{now - timedelta(minutes=5):{stamp}}\r\n"
        f"DTEND:{now + timedelta(hours=1):{stamp}}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    (workdir / "gateway.toml").write_text('[changes]\ncalendar = "window.ics"\n', encoding="utf-8")


def test_an_open_maintenance_window_is_told_to_the_policies_and_recorded(workdir: Path) -> None:
    window_now(workdir)

    code, out, _ = invoke("authorize", *GRANT, "--context", "system=payroll", "--json")

    decision = json.loads(out)
    assert code == 0
    assert decision["request"]["context"]["change_window"] is True
    (recorded,) = decision_records(workdir)
    assert recorded["context"] == {
        "system": "payroll",
        "change_freeze": False,
        "change_window": True,
    }


def test_a_caller_cannot_claim_a_maintenance_window(workdir: Path) -> None:
    code, out, _ = invoke(
        "authorize", *GRANT, "--context", "system=payroll", "--context", "change_window=true",
        "--json",
    )  # fmt: skip

    assert code == 3
    assert json.loads(out)["reasons"][0]["message"] == (
        "context change_window is set by the gateway, not by the caller"
    )

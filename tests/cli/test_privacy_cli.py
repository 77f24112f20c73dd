"""``gateway privacy export`` and ``erase``, as a security officer answers a person's
requests, and the auditor's view afterwards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.app import open_knowledge
from gateway.cli import cli
from gateway.config import load_config
from gateway.knowledge.trail import EventKind, Trail, TrailEvent, TrailKind

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gateway.toml").write_text("")
    return tmp_path


def _resolution(workdir: Path) -> None:
    """Tom resets his password; a helpdesk note about him; an article mentions him."""
    code, _, err = invoke(
        "authorize", "--actor", "tom", "--action", "password.reset", "--resource", "account:tom"
    )
    assert code == 0, err
    note = {
        "type": "manual.action", "actor": "elena", "action": "laptop.handover",
        "resource": "user:tom", "payload": {"note": "Handed Tom Becker a new laptop", "n": 1},
    }  # fmt: skip
    code, _, err = invoke(
        "audit", "record", "--log", "var/audit.log", "--key", "keys/audit-signing.key",
        "--event", json.dumps(note),
    )  # fmt: skip
    assert code == 0, err
    base = open_knowledge(load_config().knowledge)
    try:
        base.record(
            Trail(
                kind=TrailKind.SESSION, subject="s-1", title="Outlook keeps asking for a password",
                category="outlook", problem="Tom Becker (tom) cannot open Outlook",
                outcome="resolved", people=("tom",), symptoms=("password prompt loops",),
                events=(TrailEvent(EventKind.STEP, "Reset the password", "succeeded"),),
                fix="Your password was reset",
            )
        )  # fmt: skip
    finally:
        base.close()


def test_export_lists_what_is_held_with_sealed_fields_opened(workdir: Path) -> None:
    _resolution(workdir)
    code, out, err = invoke("privacy", "export", "--person", "tom", "--by", "grace", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["directory"]["email"] == "tom@example.com"
    types = [record["type"] for record in result["audit_records"]]
    assert "decision" in types
    assert "manual.action" in types
    note = next(r for r in result["audit_records"] if r["type"] == "manual.action")
    assert note["payload"]["note"] == "Handed Tom Becker a new laptop"
    assert note["sealed"] == {"payload.note": "opened"}
    assert result["sources"]["knowledge_base"]
    assert set(result["sources"]) == {
        "approvals", "selfservice_runs", "troubleshooting_sessions", "tickets",
        "notifications", "knowledge_base",
    }  # fmt: skip
    code, out, _ = invoke("privacy", "export", "--person", "tom", "--by", "grace")
    assert code == 0
    assert "audit records:" in out
    assert "payload.note opened" in out


def test_erase_shreds_the_person_and_the_log_still_verifies(workdir: Path) -> None:
    _resolution(workdir)
    log = (workdir / "var" / "audit.log").read_bytes()
    code, out, err = invoke("privacy", "erase", "--person", "tom", "--by", "grace")
    assert code == 0, err
    assert out.startswith("erased tom: ")
    assert "knowledge_base: " in out
    after = (workdir / "var" / "audit.log").read_bytes()
    assert after.startswith(log)  # nothing before the erasure changed
    records = [json.loads(line) for line in after.splitlines()]
    erased = [r for r in records if r["type"] == "privacy.erased"]
    assert erased[-1]["resource"] == "account:tom"
    assert erased[-1]["actor"] == "grace"
    assert erased[-1]["payload"]["data_keys"] >= 1
    code, out, err = invoke(
        "audit", "verify", "--log", "var/audit.log", "--key", "keys/audit-signing.pub"
    )
    assert code == 0, err
    code, out, _ = invoke("audit", "show", "--log", "var/audit.log")
    assert "payload.note: erased" in out
    assert "Tom Becker" not in out
    articles = "".join(p.read_text() for p in (workdir / "var" / "knowledge").rglob("*.md"))
    assert "Tom Becker" not in articles
    assert "tom@example.com" not in articles
    assert "Your password was reset" in articles  # what is not about the person stays
    code, out, _ = invoke("privacy", "export", "--person", "tom", "--by", "grace", "--json")
    note = next(r for r in json.loads(out)["audit_records"] if r["type"] == "manual.action")
    assert note["payload"]["note"] == "erased"
    assert json.loads(out)["sources"]["knowledge_base"] == []


def test_erasing_twice_is_allowed_and_recorded_again(workdir: Path) -> None:
    _resolution(workdir)
    assert invoke("privacy", "erase", "--person", "tom", "--by", "grace")[0] == 0
    code, out, err = invoke("privacy", "erase", "--person", "tom", "--by", "grace", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["again"] is True
    assert result["data_keys_erased"] == 0
    records = (workdir / "var" / "audit.log").read_text().splitlines()
    assert sum('"type":"privacy.erased"' in line for line in records) == 2


def test_erasing_an_unknown_person_is_a_clear_error(workdir: Path) -> None:
    code, _, err = invoke("privacy", "erase", "--person", "nobody", "--by", "grace")
    assert code == 4
    assert "unknown person 'nobody': not in the directory and no data key" in err


def test_a_person_cannot_erase_themselves_and_nothing_is_erased(workdir: Path) -> None:
    _resolution(workdir)
    code, _, err = invoke("privacy", "erase", "--person", "tom", "--by", "tom")
    assert code == 3, err
    code, out, _ = invoke("audit", "show", "--log", "var/audit.log")
    assert "Handed Tom Becker a new laptop" in out
    assert "privacy.erased" not in out


def test_the_helpdesk_cannot_export_a_persons_data(workdir: Path) -> None:
    code, _, err = invoke("privacy", "export", "--person", "tom", "--by", "elena")
    assert code == 3, err


def test_sweep_shreds_what_aged_out_as_policy_allows(workdir: Path) -> None:
    _resolution(workdir)
    (workdir / "gateway.toml").write_text('[privacy]\nretention = {"manual.action" = 1}\n')
    code, out, err = invoke("privacy", "sweep", "--json")
    assert code == 0, err
    (swept,) = json.loads(out)
    assert swept["event_type"] == "manual.action"
    assert swept["data_keys_shredded"] == 0  # this month's key is not a whole month old
    code, out, _ = invoke("privacy", "sweep")
    assert out.startswith("manual.action: 0 data keys shredded (months before ")


def test_a_sweep_over_records_under_legal_hold_is_refused(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text(
        '[privacy]\nretention = {decision = 30, "approval.approved" = 30}\n'
    )
    code, _, err = invoke("privacy", "sweep", "--by", "grace")
    assert code == 4
    assert "retention rule for approval.approved refused" in err
    assert "legal hold" in err


def test_without_retention_the_sweep_has_nothing_to_do(workdir: Path) -> None:
    code, out, err = invoke("privacy", "sweep")
    assert code == 0, err
    assert out == "no retention configured ([privacy] retention)\n"


def test_the_servers_worker_sweeps_when_retention_is_configured(workdir: Path) -> None:
    from gateway.app.services import Services

    (workdir / "gateway.toml").write_text("[privacy]\nretention = {decision = 30}\n")
    services = Services(load_config())
    try:
        jobs = services.background_jobs()
        jobs[-1]()
    finally:
        services.close()
    log = (workdir / "var" / "audit.log").read_text()
    assert '"action":"privacy.sweep"' in log
    assert '"actor":"svc-gateway"' in log

"""``gateway tree``: what a technician at a terminal sees, on the guarded runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.troubleshooting.support import REPO

SELF_RESET = """\
id: self-reset
title: Self reset
start: reset
nodes:
  reset:
    type: action
    workflow: password-reset
    with: {user: tom}
    fact: reset
    succeeded: done
    failed: done
  done:
    type: outcome
    result: resolved
    summary: done
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway", input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_validate_lists_the_shipped_trees(workdir: Path) -> None:
    code, out, _ = invoke("tree", "validate")
    assert code == 0
    assert out.splitlines()[1].startswith("ok  network-connectivity v1  95 nodes, 139 branches  (")
    code, out, _ = invoke("tree", "validate", "automations/troubleshooting/email.yaml", "--json")
    assert code == 0
    assert json.loads(out)[0]["tree"] == "email"


def test_validate_exits_4_with_every_problem_and_its_line(workdir: Path) -> None:
    broken = workdir / "broken.yaml"
    broken.write_text("id: x\ntitle: X\nstart: a\nnodes:\n  a: {type: outcome, result: fine,"
                      " summary: s}\n", encoding="utf-8")  # fmt: skip
    code, _, err = invoke("tree", "validate", str(broken))
    assert code == 4
    assert f"{broken}:5: nodes.a.outcome.result: Input should be 'resolved' or 'escalate'" in err


def test_paths_lists_every_path_of_a_tree(workdir: Path) -> None:
    code, out, _ = invoke("tree", "paths", "email")
    assert code == 0
    assert out.splitlines()[-1] == "28 paths"
    code, out, _ = invoke("tree", "paths", "automations/troubleshooting/printer.yaml", "--json")
    assert code == 0
    assert json.loads(out)[0]["nodes"][0] == "ask-symptom"


def test_a_session_is_started_answered_undone_resumed_and_reported(workdir: Path) -> None:
    code, out, _ = invoke("tree", "start", "network-connectivity", "--technician", "elena",
                          "--ticket", "INC1", "--fact", "connection=wired", "--json")  # fmt: skip
    assert code == 0
    session = json.loads(out)
    assert session["prompt"]["text"] == "Who is affected?"
    sid = session["id"]
    code, out, _ = invoke("tree", "answer", sid, "this_device")
    assert code == 0
    assert "? Are the lights next to the network port lit" in out
    assert "    Look at the port on the device and at the wall." in out
    assert 'skipped   ask-connection = "wired"' in out
    code, _, err = invoke("tree", "answer", sid, "maybe")
    assert code == 4
    assert "link_lights: expected a boolean answer, found 'maybe'" in err
    code, out, _ = invoke("tree", "undo", sid)
    assert code == 0
    assert "? Who is affected?" in out
    for answer in ("this_device", "no", "no", "yes"):
        code, out, _ = invoke("tree", "answer", sid, answer)
    assert "RESOLVED" in out
    assert "outcome resolved-bad-cable: A faulty cable or wall port" in out
    code, out, _ = invoke("tree", "resume", sid, "--json")
    assert json.loads(out)["status"] == "resolved"
    code, out, _ = invoke("tree", "show", sid)
    assert code == 0
    assert out.startswith("RESOLVED  " + sid)
    code, out, _ = invoke("tree", "report")
    assert "network-connectivity  1 sessions (1 resolved)" in out
    assert "outcome      1  resolved-bad-cable" in out
    code, out, _ = invoke("tree", "report", "network-connectivity", "--json", "--stale-hours", "0")
    assert json.loads(out)[0]["average_steps"] == 6


def test_offline_diagnostics_take_the_offline_branch_and_escalations_name_the_team(
    workdir: Path,
) -> None:
    (workdir / "gateway.toml").write_text("[troubleshooting]\noffline = true\n")
    _, out, _ = invoke("tree", "start", "email", "--technician", "elena")
    sid = out.split()[1]
    assert "checked   check-mail-service" in out
    assert '"status": "unavailable"' in out
    for answer in ("outlook", "cannot_send", "no"):
        _code, out, _ = invoke("tree", "answer", sid, answer)
    assert "outcome escalate-mail-flow -> messaging-team: Mail flow problem (cannot_send)" in out


def test_report_without_sessions_says_so(workdir: Path) -> None:
    assert invoke("tree", "report")[1] == "no sessions yet\n"


def test_facts_must_be_name_value_pairs(workdir: Path) -> None:
    code, _, err = invoke("tree", "start", "email", "--technician", "elena", "--fact", "oops")
    assert code == 2
    assert "Invalid value for '--fact': expected KEY=VALUE, found 'oops'" in err


def test_a_session_waiting_for_a_step_up_exits_6_and_says_what_next(workdir: Path) -> None:
    (workdir / "automations/troubleshooting/self-reset.yaml").write_text(SELF_RESET)
    code, out, _ = invoke("tree", "start", "self-reset", "--technician", "tom")
    assert code == 6
    assert "waiting for workflow execution" in out
    assert "gateway tree resume" in out


def test_run_guides_a_session_interactively(workdir: Path) -> None:
    code, out, err = invoke("tree", "run", "printer", "--technician", "elena",
                            stdin="paper_jam\nmaybe\nundo\npaper_jam\nyes\n")  # fmt: skip
    assert code == 0
    assert "error: jam_cleared: expected a boolean answer, found 'maybe'" in err
    assert "outcome resolved-jam: A paper jam; cleared." in out
    code, out, _ = invoke("tree", "run", "printer", "--technician", "elena", stdin="\n")
    assert code == 0
    assert "stopped; resume with: gateway tree resume" in out


def test_show_says_when_the_tree_changed_and_report_lists_dead_ends(workdir: Path) -> None:
    _, out, _ = invoke("tree", "start", "email", "--technician", "elena")
    sid = out.split()[1]
    tree = workdir / "automations/troubleshooting/email.yaml"
    tree.write_text(tree.read_text().replace("version: 1", "version: 2"))
    _, out, _ = invoke("tree", "show", sid)
    assert "notice: tree email changed since this session started" in out
    (workdir / "gateway.toml").write_text("[troubleshooting]\noffline = true\n")
    _, out, _ = invoke("tree", "start", "network-connectivity", "--technician", "elena")
    sid = out.split()[1]
    invoke("tree", "answer", sid, "everyone_nearby")
    _, out, _ = invoke("tree", "report", "network-connectivity")
    assert "dead end     1  escalate-site-outage (escalated)" in out


def _audited(kind: str) -> list[dict[str, object]]:
    lines = Path("var/audit.log").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    return [record for record in records if record["type"] == kind]


def test_someone_else_drives_a_session_only_when_policy_allows_it(workdir: Path) -> None:
    _, out, _ = invoke("tree", "start", "email", "--technician", "elena", "--fact",
                       "client=outlook", "--json")  # fmt: skip
    sid = json.loads(out)["id"]

    code, _, err = invoke("tree", "answer", sid, "cannot_sign_in", "--by", "tom")
    refused_show, _, _ = invoke("tree", "show", sid, "--by", "tom")
    unchanged = json.loads(invoke("tree", "show", sid, "--json")[1])
    code_omar, out_omar, _ = invoke("tree", "answer", sid, "cannot_sign_in", "--by", "omar")

    assert (code, refused_show) == (3, 3)
    assert "troubleshooting.session.drive on troubleshooting_session:" in err
    assert unchanged["current"] == "ask-symptom"
    assert code_omar == 0
    assert "technician elena" in out_omar
    answered = _audited("troubleshooting.answered")
    assert [(r["actor"], r["payload"]["technician"]) for r in answered] == [  # type: ignore[index]
        ("omar", "elena")
    ]

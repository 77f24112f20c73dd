"""``gateway kb``: summarize, record, search, show, reindex and publish at a terminal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations" / "workflows", tmp_path / "automations" / "workflows")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def _unlock() -> str:
    code, out, err = invoke(
        "run", "account-unlock", "-p", "user=tom", "--actor", "elena", "--ticket", "T-7", "--json"
    )
    assert code == 0, err
    return str(json.loads(out)["id"])


def test_an_execution_is_summarised_the_same_way_every_time(workdir: Path) -> None:
    execution = _unlock()
    code, first, _ = invoke("kb", "summarize", execution)
    assert code == 0
    assert first.startswith("# Account unlock \\(account:tom\\)\n")
    assert "reason: helpdesk may unlock a non-privileged account" in first
    assert "tom@example.com" not in first
    assert invoke("kb", "summarize", execution)[1] == first
    code, user, _ = invoke("kb", "summarize", execution, "--audience", "user")
    assert "About your request T-7." in user
    assert "reason:" not in user


def test_an_unknown_execution_is_an_error(workdir: Path) -> None:
    code, _, err = invoke("kb", "summarize", "0" * 32)
    assert code != 0
    assert "error:" in err


def test_record_search_show_and_reindex(workdir: Path) -> None:
    execution = _unlock()
    code, out, _ = invoke("kb", "record", execution)
    assert code == 0
    article = out.split()[2]
    assert out.startswith(f"created article {article} version 1: Account unlock")
    code, out, _ = invoke("kb", "record", _unlock(), "--json")
    recorded = json.loads(out)
    assert recorded["change"] == "updated"
    assert recorded["article"]["version"] == 2

    code, out, _ = invoke("kb", "search", "unlock account")
    assert code == 0
    assert f"  {article}  v2  Account unlock" in out
    code, out, _ = invoke("kb", "search", "unlock", "--json")
    assert json.loads(out)[0]["id"] == article
    code, out, err = invoke("kb", "search", "zebra")
    assert code == 1
    assert "no article matches" in err
    code, out, _ = invoke("kb", "search", "zebra", "--json")
    assert code == 1
    assert json.loads(out) == []

    code, out, _ = invoke("kb", "show", article)
    assert out.startswith("---\n")
    assert "version: 2\n" in out
    assert "\n# Account unlock" in out
    code, out, _ = invoke("kb", "show", article, "--version", "1", "--json")
    assert json.loads(out)["version"] == 1
    code, _, err = invoke("kb", "show", "nope")
    assert code == 4
    assert "unknown article 'nope'" in err
    assert invoke("kb", "reindex")[1] == "indexed 1 article(s)\n"


def test_publish_goes_through_the_runtime(workdir: Path) -> None:
    code, out, _ = invoke("kb", "record", _unlock())
    article = out.split()[2]
    code, out, _ = invoke("kb", "publish", article, "--actor", "tom")
    assert code == 3
    assert out.startswith("FAILED  kb-publish")
    code, out, _ = invoke("kb", "publish", article, "--actor", "elena", "--json")
    assert code == 0
    assert json.loads(out)["state"] == "succeeded"
    assert "status: published" in invoke("kb", "show", article)[1]


def test_a_troubleshooting_session_is_summarised_and_recorded(workdir: Path) -> None:
    shutil.copytree(
        REPO / "automations" / "troubleshooting", workdir / "automations" / "troubleshooting"
    )
    code, out, err = invoke(
        "tree", "start", "printer", "--technician", "elena", "--ticket", "INC42", "--json"
    )
    assert code == 0, err
    session = json.loads(out)["id"]

    code, summary, err = invoke("kb", "summarize", "--session", session)
    recorded, document, _ = invoke("kb", "record", "--session", session, "--json")

    assert code == 0, err
    assert f"session {session}" in summary
    assert "its outcome \\(it has not ended\\)" in summary
    assert recorded == 0
    assert json.loads(document)["change"] == "created"


def test_summarize_needs_an_execution_or_a_session(workdir: Path) -> None:
    code, _, err = invoke("kb", "summarize")

    assert code == 2
    assert "name an EXECUTION_ID or a --session" in err

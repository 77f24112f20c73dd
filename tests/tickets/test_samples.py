"""The sample tickets the README uses ship with the gateway and do what it says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout


def test_the_sample_ticket_is_routed_to_an_unlock_in_a_dry_run(workdir: Path) -> None:
    code, out = invoke("tickets", "route", "automations/samples/ticket.json")

    assert code == 0
    assert out.startswith("WORKFLOW  account-unlock user=tom  as tom")


def test_the_sample_tickets_replay_into_a_reset_an_install_and_one_for_people(
    workdir: Path,
) -> None:
    code, out = invoke("tickets", "replay", "automations/samples/tickets.jsonl")

    assert code == 0
    assert "started password-reset as tom" in out
    assert "started software-install as tom" in out
    assert out.rstrip().endswith("3 events from 3 lines: 1 humans, 2 started")

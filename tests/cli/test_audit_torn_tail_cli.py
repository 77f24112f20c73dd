"""Reading a live audit log while a record is being appended: the last line has no newline
yet, so it is not a record; every reading command answers as if it were not there, and
only ``gateway audit verify`` reports a log that ends so (a truncated log)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.cli.conftest import record_action

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def in_policies_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The working directory holds the policies and the keys (``policy impact`` replays
    the log on those policies, checking it started with ``keys/audit-signing.pub``)."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)


def _append_half_a_record(log: Path, keys: Path) -> None:
    """What a reader sees while another process appends a fourth record."""
    later = log.with_name("later.log")
    shutil.copyfile(log, later)
    record_action(later, keys, "priya")
    fourth = later.read_bytes().splitlines()[-1]
    with log.open("ab") as handle:
        handle.write(fourth[: len(fourth) // 2])


LOG, SIGNING_KEY = "<log>", "<signing key>"
READERS = {
    "audit show": ("audit", "show", "--log", LOG, "--json"),
    "audit checkpoint": ("audit", "checkpoint", "--log", LOG, "--key", SIGNING_KEY),
    "audit prove": ("audit", "prove", "--log", LOG, "--index", "2", "--size", "3", "--json"),
    "audit consistency": ("audit", "consistency", "--log", LOG, "--from", "1", "--to", "3"),
    "policy history": ("policy", "history", "--log", LOG, "--json"),
    "policy impact": ("policy", "impact", "--candidate", "policies", "--log", LOG),
}


def _args(command: str, log: Path, keys: Path) -> list[str]:
    given = {LOG: str(log), SIGNING_KEY: str(keys / "audit-signing.key")}
    return [given.get(arg, arg) for arg in READERS[command]]


@pytest.mark.parametrize("command", list(READERS), ids=lambda name: f"{name} reads it")
@pytest.mark.usefixtures("in_policies_folder")
def test_a_record_being_appended_is_not_read_yet(command: str, log: Path, keys: Path) -> None:
    args = _args(command, log, keys)
    before = invoke(*args)
    assert before[0] == 0, before[2]

    _append_half_a_record(log, keys)

    assert invoke(*args) == before


def test_a_proof_beyond_the_records_written_names_only_the_complete_ones(
    log: Path, keys: Path
) -> None:
    _append_half_a_record(log, keys)

    code, _, err = invoke("audit", "prove", "--log", str(log), "--index", "3", "--size", "4")

    assert code != 0
    assert "the log has 3 records" in err


def test_verify_still_reports_a_log_ending_in_half_a_record(log: Path, keys: Path) -> None:
    _append_half_a_record(log, keys)

    code, out, _ = invoke(
        "audit", "verify", "--log", str(log), "--key", str(keys / "audit-signing.pub"), "--json"
    )

    failure = json.loads(out)
    assert (code, failure["valid"], failure["sequence"]) == (1, False, 3)
    assert failure["kind"] == "malformed record"
    assert "torn tail" in failure["error"]

"""``gateway audit export`` and the commands that default to the configured log, on the
embedded file log: the export is the file itself, byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gateway.toml").write_text("")
    return tmp_path


def test_the_export_of_the_file_log_is_the_file_and_verifies_with_its_checkpoint(
    workdir: Path,
) -> None:
    code, out, err = invoke("audit", "export", "--output", "empty.jsonl", "--json")
    assert code == 0, err
    assert json.loads(out)["records"] == 0  # no record yet: an empty log
    code, _, err = invoke(
        "authorize", "--actor", "tom", "--action", "password.reset", "--resource", "account:tom"
    )
    assert code == 0, err
    code, out, err = invoke("audit", "record", "--event", '{"type": "manual.action"}', "--json")
    assert code == 0, err
    assert json.loads(out)["seq"] == 1
    code, out, err = invoke("keys", "rotate")
    assert code == 0, err
    assert f"(record 2 of {workdir / 'var' / 'audit.log'})" in out

    code, out, err = invoke(
        "audit", "export", "--output", "out/audit.jsonl", "--checkpoint", "out/audit.note"
    )
    assert code == 0, err
    assert out == f"exported 3 records from {workdir / 'var' / 'audit.log'} to out/audit.jsonl\n"
    assert (workdir / "out/audit.jsonl").read_bytes() == (workdir / "var/audit.log").read_bytes()
    code, out, err = invoke(
        "audit", "verify", "--log", "out/audit.jsonl", "--key", "keys/audit-signing.pub",
        "--checkpoint", "out/audit.note",
    )  # fmt: skip
    assert code == 0, err
    assert "contains checkpoint it-support-gateway/audit at size 3" in out

    code, out, err = invoke("audit", "show", "--seq", "1")
    assert code == 0, err
    assert out.startswith("#1 ")
    assert "manual.action" in out

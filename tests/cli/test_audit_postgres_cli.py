"""The command line on a gateway whose audit log is in PostgreSQL: every command that
writes or reads the log uses the shared one, and the export verifies as a file does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.postgres import PostgresServer, storage_toml

pytestmark = pytest.mark.postgresql

REPO = Path(__file__).resolve().parents[2]
DSN_VARIABLE = "GATEWAY_TEST_AUDIT_CLI_DSN"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer,
    prefix: str,
) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DSN_VARIABLE, postgres_server.dsn)
    (tmp_path / "gateway.toml").write_text(storage_toml(prefix, DSN_VARIABLE, pool_size=2))
    return tmp_path


def test_commands_write_and_read_the_shared_log_and_its_export_verifies(workdir: Path) -> None:
    code, _, err = invoke(
        "authorize", "--actor", "tom", "--action", "password.reset", "--resource", "account:tom"
    )
    assert code == 0, err
    note = {
        "type": "manual.action", "actor": "elena", "action": "laptop.handover",
        "resource": "user:tom", "payload": {"note": "Handed Tom Becker a new laptop"},
    }  # fmt: skip
    code, out, err = invoke("audit", "record", "--event", json.dumps(note), "--json")
    assert code == 0, err
    assert json.loads(out)["seq"] >= 1  # after the decision, in the same chain

    code, out, err = invoke("audit", "show", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert [row["type"] for row in shown][-2:] == ["decision", "manual.action"]
    assert shown[-1]["payload"]["note"] == "Handed Tom Becker a new laptop"  # sealed, opened

    code, out, err = invoke("keys", "rotate", "--json")
    assert code == 0, err
    rotation = json.loads(out)
    code, _, err = invoke(
        "authorize", "--actor", "elena", "--action", "password.reset", "--resource", "account:tom"
    )
    assert code == 0, err

    code, out, err = invoke("privacy", "export", "--person", "tom", "--by", "grace", "--json")
    assert code == 0, err
    # the two resets, the note, this export's own decision (2 is the key rotation)
    assert [r["seq"] for r in json.loads(out)["audit_records"]] == [0, 1, 3, 4]

    code, out, err = invoke("policy", "history", "--json")
    assert code == 0, err
    assert json.loads(out)["bundles"], out

    code, out, err = invoke("audit", "export", "--output", "out/audit.jsonl", "--json")
    assert code == 0, err
    assert json.loads(out)["from"].startswith("postgresql schema ")
    assert not (workdir / "var" / "audit.log").exists()  # nothing went to this host's file
    code, out, err = invoke(
        "audit", "verify", "--log", "out/audit.jsonl", "--key", "keys/audit-signing.pub", "--json"
    )
    assert code == 0, out + err
    report = json.loads(out)
    assert report["key_ids"] == [rotation["old_key_id"], rotation["new_key_id"]]
    assert report["records"] == rotation["rotation_record"] + 3  # two decisions after it


def test_making_an_api_key_is_recorded_in_the_shared_log_not_in_a_local_file(
    workdir: Path,
) -> None:
    code, out, err = invoke(
        "callers", "api-key", "create", "--name", "ci-bot", "--scope", "decisions:write",
        "--by", "grace", "--json",
    )  # fmt: skip
    assert code == 0, err
    secret = json.loads(out)["key"]

    code, out, err = invoke("audit", "show", "--json")
    assert code == 0, err
    made = [row for row in json.loads(out) if row["type"] == "callers.api_key_created"]
    assert [row["actor"] for row in made] == ["grace"], out
    assert secret not in out
    assert not (workdir / "var" / "audit.log").exists()  # nothing went to this host's file

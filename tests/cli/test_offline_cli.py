"""``gateway offline``: what a person reads on the terminal."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.defaults import EMBEDDED_DIRECTORY

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    (tmp_path / "gateway.toml").write_text(
        "[runtime]\nworkflows = 'automations/workflows'\n"
        "[troubleshooting]\ntrees = 'automations/troubleshooting'\n"
        "[selfservice]\ncatalog = 'automations/catalog'\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def test_a_branch_visit_reads_as_a_story(workdir: Path) -> None:
    code, out, err = invoke("offline", "prepare", "--technician", "elena", "--site", "branch-7")
    assert code == 0, err
    assert "facts      3 people, 4 devices" in out
    kit = re.search(r"file       (\S+)", out)
    assert kit is not None
    offline = ("--offline", kit.group(1), "offline", "request", "--actor", "elena")
    queued = invoke(*offline, "--action", "password.reset", "--resource", "account:tom",
                    "--queue", "--workflow", "password-reset", "--param", "user=tom")  # fmt: skip
    assert queued[0] == 0
    segment = kit.group(1).removesuffix(".kit.json") + ".segment.log"

    code, out, err = invoke("offline", "sync", segment)

    assert code == 0, err
    assert out.startswith("merged: kit kit-")
    assert "  replayed password.reset on account:tom: allow\n" in out
    code, out, _ = invoke("offline", "revoke", out.split()[2].rstrip(","), "--by", "omar")
    assert code == 0
    assert re.fullmatch(r"kit kit-[0-9a-f]{16} revoked \(record \d+\)\n", out)


def test_a_refused_replay_and_a_refused_segment_say_why(workdir: Path) -> None:
    code, out, _ = invoke(
        "offline", "prepare", "--technician", "elena", "--site", "branch-7", "--json"
    )
    kit = Path(json.loads(out)["kit"])
    invoke("--offline", str(kit), "offline", "request", "--actor", "elena", "--queue",
           "--action", "password.reset", "--resource", "account:tom")  # fmt: skip
    segment = kit.with_name(kit.name.removesuffix(".kit.json") + ".segment.log")
    invoke("run", "password-reset", "--actor", "elena", "--param", "user=tom")
    (workdir / "gateway.toml").write_text(
        (workdir / "gateway.toml").read_text() + "[identity]\nstatic_file = 'directory.yaml'\n"
    )
    (workdir / "directory.yaml").write_text(
        EMBEDDED_DIRECTORY.read_text().replace("[helpdesk, oncall]", "[finance]")
    )
    bad = workdir / "bad.segment.log"
    forged = segment.read_bytes().splitlines()[0].replace(b'"actor":"elena"', b'"actor":"sam"')
    bad.write_bytes(forged + b"\n")

    code, out, _ = invoke("offline", "sync", str(segment))
    refused = invoke("offline", "sync", str(bad))

    assert code == 0
    assert "  replayed password.reset on account:tom: deny (" in out
    assert "    conflict: account:tom changed centrally while offline" in out
    assert refused[0] == 1
    assert "refused: segment record 0: bad signature" in refused[2]
    assert "kept aside as" in refused[2]


def test_kits_need_the_audit_log(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text("[audit]\nunsafe_no_audit = true\n")

    code, _, err = invoke("offline", "prepare", "--technician", "elena", "--site", "branch-7")

    assert code == 5
    assert "field kits need the audit log" in err

"""The monitoring and asset answers come from a status file: the embedded one shipped with
the gateway, or the one ``[troubleshooting] status_file`` names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.config import GatewayConfig, load_config
from gateway.errors import SourceError
from gateway.troubleshooting.diagnostics import DiagnosticRunner, default_checks, status_sources
from gateway.troubleshooting.status import load_status
from tests.troubleshooting.support import REPO

PRINTER_9_DOWN = """\
# a lab printer, switched off
monitoring:
  "host_up:printer-9": {ok: false, value: down}
assets:
  printer-9: {model: LaserJet M404, location: lab, managed: true}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def _printer_session(printer: str) -> dict[str, object]:
    code, out, _ = invoke("tree", "start", "printer", "--technician", "elena", "--json")
    assert code == 0
    sid = json.loads(out)["id"]
    invoke("tree", "answer", sid, "nothing_prints")
    code, out, err = invoke("tree", "answer", sid, printer, "--json")
    assert code == 0, err
    view: dict[str, object] = json.loads(out)
    return view


def test_the_embedded_status_file_does_not_know_a_printer_it_does_not_list(workdir: Path) -> None:
    view = _printer_session("printer-9")
    assert view["status"] == "escalated"
    assert view["outcome"]["summary"] == "printer-9 is not in the asset inventory."  # type: ignore[index]


def test_a_configured_status_file_changes_what_a_session_sees(workdir: Path) -> None:
    (workdir / "status.yaml").write_text(PRINTER_9_DOWN, encoding="utf-8")
    (workdir / "gateway.toml").write_text('[troubleshooting]\nstatus_file = "status.yaml"\n')
    view = _printer_session("printer-9")
    assert view["status"] == "active"
    assert view["current"] == "ask-printer-display"
    facts = view["facts"]
    assert facts["printer_asset"]["asset"] == {  # type: ignore[index]
        "model": "LaserJet M404",
        "location": "lab",
        "managed": True,
    }
    assert facts["printer_monitoring"]["value"] == "down"  # type: ignore[index]
    assert facts["printer_online"] is False  # type: ignore[index]


def test_a_configured_status_file_replaces_the_embedded_answers(workdir: Path) -> None:
    (workdir / "status.yaml").write_text(PRINTER_9_DOWN, encoding="utf-8")
    (workdir / "gateway.toml").write_text('[troubleshooting]\nstatus_file = "status.yaml"\n')
    view = _printer_session("printer-3f")
    assert view["status"] == "escalated"
    assert view["outcome"]["summary"] == "printer-3f is not in the asset inventory."  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'monitoring:\n  "host_up:a": {ok: false, value: down}\n  "host_up:b": {ok: maybe,'
            " value: up}\n",
            ":3: monitoring.host_up:b.ok: Input should be a valid boolean",
        ),
        (
            "assets:\n  printer-9:\n    model: M404\n    owner: [tom, sam]\n",
            ":4: assets.printer-9.owner.str: Input should be a valid string",
        ),
        ("monitoring: {}\nassets: {}\nprinters: {}\n", ":3: printers: Extra inputs are not"),
        ("monitoring: {a: [\n", ":2: expected the node content, but found '<stream end>'"),
    ],
    ids=[
        "a monitoring answer that is not true or false",
        "an asset field that is a list",
        "an unknown section",
        "broken YAML",
    ],
)
def test_a_bad_status_file_is_refused_at_start_naming_file_and_line(
    workdir: Path, text: str, problem: str
) -> None:
    status = workdir / "status.yaml"
    status.write_text(text, encoding="utf-8")
    (workdir / "gateway.toml").write_text('[troubleshooting]\nstatus_file = "status.yaml"\n')
    code, _, err = invoke("tree", "start", "printer", "--technician", "elena")
    assert code == 4
    assert f"{status}{problem}" in err


def test_a_missing_status_file_is_refused_at_start(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text('[troubleshooting]\nstatus_file = "nowhere.yaml"\n')
    code, _, err = invoke("tree", "start", "printer", "--technician", "elena")
    assert code == 4
    assert f"{workdir / 'nowhere.yaml'}: FileNotFoundError" in err


def test_the_status_file_is_resolved_against_the_configuration_folder(tmp_path: Path) -> None:
    (tmp_path / "gateway.toml").write_text('[troubleshooting]\nstatus_file = "lab/status.yaml"\n')
    assert load_config(tmp_path / "gateway.toml").troubleshooting.status_file == (
        tmp_path / "lab" / "status.yaml"
    )
    embedded = GatewayConfig().troubleshooting.status_file
    assert embedded.is_file()
    assert GatewayConfig().resolved(tmp_path).troubleshooting.status_file == embedded


def test_the_embedded_status_file_gives_the_answers_the_shipped_trees_rely_on() -> None:
    status = load_status(GatewayConfig().troubleshooting.status_file)
    assert {query: (a.ok, a.value) for query, a in status.monitoring.items()} == {
        "host_up:printer-3f": (False, "down"),
        "host_up:mail": (True, "up"),
        "host_up:proxy": (True, "up"),
        "host_up:vpn": (True, "up"),
        "service:mail": (True, "up"),
        "service:wifi": (True, "up"),
    }
    assert status.assets == {
        "printer-3f": {"model": "LaserJet M607", "location": "3rd floor", "managed": True},
        "tom-laptop": {"model": "ThinkPad T14", "owner": "tom", "managed": True},
        "elena-laptop": {"model": "ThinkPad X1", "owner": "elena", "managed": True},
    }


def test_status_sources_answer_checks_from_the_file_given(tmp_path: Path) -> None:
    status = tmp_path / "status.yaml"
    status.write_text(PRINTER_9_DOWN, encoding="utf-8")
    runner = DiagnosticRunner(default_checks(*status_sources(status)))
    try:
        down = runner.run("monitoring", {"query": "host_up:printer-9"}, actor="elena")
        assert (down.status, down.detail) == ("failed", "host_up:printer-9 is down")
        found = runner.run("asset", {"key": "printer-9"}, actor="elena")
        assert found.data["asset"]["location"] == "lab"
        assert runner.run("asset", {"key": "printer-3f"}, actor="elena").status == "failed"
    finally:
        runner.close()
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        status_sources(empty)
    assert str(caught.value).startswith(f"invalid status file: {empty}:1: document: Input")

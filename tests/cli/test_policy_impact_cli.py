"""Impact analysis from the reviewer's side: past decisions of the audit log replayed
against a candidate bundle, the changes grouped, undeclared ones failing the command."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit.keys import load_signer
from gateway.audit.records import AuditEvent, parse_record, seal_record
from gateway.cli import cli
from gateway.privacy.keystore import DataKeyStore

REPO = Path(__file__).resolve().parents[2]
TIGHTER = """
@id("no-password-reset-for-employees")
@description("password resets go through the helpdesk only")
forbid (principal, action == Action::"password.reset", resource)
unless { principal in Group::"helpdesk" };
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ignore = shutil.ignore_patterns("signatures")
    shutil.copytree(REPO / "policies", tmp_path / "policies", ignore=ignore)
    shutil.copytree(REPO / "policies", tmp_path / "candidate", ignore=ignore)
    (tmp_path / "candidate" / "cedar" / "tighter.cedar").write_text(TIGHTER)
    monkeypatch.chdir(tmp_path)
    for actor, action, resource in [
        ("tom", "password.reset", "account:tom"),
        ("tom", "password.reset", "account:tom"),
        ("elena", "password.reset", "account:tom"),
        ("elena", "kb.publish", "article:x"),
        ("mallory", "password.reset", "account:tom"),
    ]:
        invoke("authorize", "--actor", actor, "--action", action, "--resource", resource)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def test_a_tighter_candidate_lists_the_past_decisions_it_would_deny(workdir: Path) -> None:
    code, out, _ = invoke("policy", "impact", "--candidate", "candidate", "--json")

    assert code == 1  # a change nobody declared
    report = json.loads(out)
    assert (report["replayed"], report["distinct_requests"]) == (4, 3)
    assert report["not_replayable"] == 1  # mallory: refused by the gateway, not the policies
    assert report["facts"] == "recorded"  # each record keeps the facts it was decided on
    assert report["not_replayable_why"] == {"refused by the gateway": 1}
    (group,) = report["groups"]
    assert (group["action"], group["change"], group["count"]) == (
        "password.reset", "allow_to_deny", 2)  # fmt: skip
    assert group["after"] == ["no-password-reset-for-employees"]
    assert "password-reset-own-account" in group["before"]
    assert [e["actor"] for e in group["examples"]] == ["tom", "tom"]
    assert report["undeclared"] == 1


def test_a_declared_change_passes_and_the_markdown_fits_a_pull_request(workdir: Path) -> None:
    (workdir / "expect.yaml").write_text(
        "expected:\n  - {action: password.reset, change: allow_to_deny}\n"
    )

    code, out, _ = invoke(
        "policy", "impact", "--candidate", "candidate", "--expect", "expect.yaml", "--markdown"
    )

    assert code == 0
    assert "| `password.reset` | allow to deny | 2 |" in out
    assert "| yes |" in out


def test_the_bundle_in_force_changes_nothing_and_since_filters(workdir: Path) -> None:
    same = invoke("policy", "impact", "--candidate", "policies")
    recent = json.loads(invoke("policy", "impact", "--candidate", "candidate", "--since", "1h",
                               "--json")[1])  # fmt: skip

    assert same[0] == 0
    assert "no decision would change" in same[1]
    assert recent["replayed"] == 4


def test_a_candidate_that_does_not_parse_is_named_with_file_and_line(workdir: Path) -> None:
    (workdir / "candidate" / "cedar" / "tighter.cedar").write_text("forbid (principal, action")

    code, _, err = invoke("policy", "impact", "--candidate", "candidate")

    assert code == 4
    assert "tighter.cedar:1" in err


def test_a_log_that_did_not_start_with_the_audit_key_is_refused(workdir: Path) -> None:
    invoke("keys", "init", "--dir", "other")

    code, out, err = invoke(
        "policy", "impact", "--candidate", "candidate", "--public-key", "other/audit-signing.pub"
    )

    assert code == 1
    assert "log from another origin" in err
    assert "not by the trusted key" in err
    assert out == ""


def test_a_checkpoint_of_another_origin_is_refused(workdir: Path) -> None:
    key = "keys/audit-signing.key"
    for name in ("it-support-gateway/audit", "elsewhere/audit"):
        invoke("audit", "checkpoint", "--log", "var/audit.log", "--key", key, "--name", name,
               "--out", name.split("/")[0] + ".note")  # fmt: skip

    ours = invoke("policy", "impact", "--candidate", "policies",
                  "--checkpoint", "it-support-gateway.note")  # fmt: skip
    theirs = invoke("policy", "impact", "--candidate", "policies", "--checkpoint", "elsewhere.note")

    assert ours[0] == 0
    assert theirs[0] == 1
    assert "log from another origin: checkpoint origin 'elsewhere/audit'" in theirs[2]


def test_a_log_that_is_not_the_one_its_checkpoint_commits_to_is_refused(workdir: Path) -> None:
    invoke("audit", "checkpoint", "--log", "var/audit.log", "--key", "keys/audit-signing.key",
           "--name", "it-support-gateway/audit", "--out", "cp.note")  # fmt: skip
    lines = (workdir / "var" / "audit.log").read_bytes().splitlines(keepends=True)
    (workdir / "var" / "audit.log").write_bytes(b"".join([lines[0], *lines[2:]]))

    code, _, err = invoke("policy", "impact", "--candidate", "policies", "--checkpoint", "cp.note")

    assert code == 1
    assert "checkpoint mismatch" in err


def test_a_line_that_is_not_a_record_is_refused_naming_it(workdir: Path) -> None:
    with (workdir / "var" / "audit.log").open("ab") as handle:
        handle.write(b'{"seq": 5}\n')

    code, _, err = invoke("policy", "impact", "--candidate", "policies")

    assert code == 1
    assert "record 5: malformed record" in err


def test_decisions_whose_sealed_facts_were_erased_are_not_replayable(workdir: Path) -> None:
    with DataKeyStore(workdir / "var" / "privacy" / "data-keys.sqlite") as keys:
        keys.erase_person("tom", datetime.now(UTC))

    code, out, _ = invoke("policy", "impact", "--candidate", "candidate", "--json")

    report = json.loads(out)
    assert (report["replayed"], report["distinct_requests"]) == (2, 2)  # elena's, on her facts
    assert report["not_replayable_why"] == {
        "facts unreadable or erased": 2,  # tom's two resets: his data key is gone
        "refused by the gateway": 1,
    }
    assert report["groups"] == []
    assert code == 0


def test_sealed_facts_without_their_key_store_are_not_replayable(workdir: Path) -> None:
    (workdir / "var" / "privacy" / "data-keys.sqlite").rename(workdir / "elsewhere.sqlite")

    report = json.loads(invoke("policy", "impact", "--candidate", "candidate", "--json")[1])

    assert report["replayed"] == 0
    assert report["not_replayable_why"]["facts unreadable or erased"] == 4


def test_the_human_report_lists_each_changed_decision_and_what_could_not_be_replayed(
    workdir: Path,
) -> None:
    code, out, _ = invoke("policy", "impact", "--candidate", "candidate")

    assert code == 1
    assert "4 decisions replayed (3 distinct requests, on the facts each record keeps)" in out
    assert "not replayable, refused by the gateway: 1" in out
    assert "password.reset: allow to deny x2  (not declared)" in out
    assert "after no-password-reset-for-employees" in out
    assert "#0 tom on account:tom\n" in out


def test_older_records_without_facts_are_marked_as_replayed_against_current_facts(
    workdir: Path,
) -> None:
    log = workdir / "var" / "audit.log"
    lines = log.read_bytes().splitlines(keepends=True)
    key = load_signer(workdir / "keys" / "audit-signing.key")
    old = parse_record(lines[0].rstrip(b"\n"), 0)
    payload = {k: v for k, v in old.payload.items() if k != "facts"}
    event = AuditEvent(type="decision", actor=old.actor, action=old.action,
                       resource=old.resource, payload=payload)  # fmt: skip
    older = seal_record(event, seq=0, prev="0" * 64, time=old.time, signer=key)
    log.write_bytes(older.line + b"\n")  # a log of one record written before facts were kept

    mixed = invoke("policy", "impact", "--candidate", "candidate")[1]

    assert "1 decisions replayed (1 distinct requests, all replayed against current facts)" in mixed
    assert "#0 tom on account:tom (replayed against current facts)" in mixed


def test_a_since_that_is_not_a_duration_and_an_unreadable_checkpoint_are_refused(
    workdir: Path,
) -> None:
    since = invoke("policy", "impact", "--candidate", "policies", "--since", "last week")
    checkpoint = invoke("policy", "impact", "--candidate", "policies", "--checkpoint", "none.note")

    assert since[0] == 2
    assert "expected a duration such as 7d, 12h or 30m" in since[2]
    assert checkpoint[0] == 1
    assert "unreadable checkpoint: none.note" in checkpoint[2]

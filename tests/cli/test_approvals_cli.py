"""``gateway approvals``: a privileged request waits for the right people, and only them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def grant_request() -> dict[str, object]:
    code, out, err = invoke(
        "approvals", "request", "--actor", "omar", "--action", "access.grant",
        "--resource", "account:tom", "--context", "system=payroll", "--json",
    )  # fmt: skip
    assert code == 0, err
    return dict(json.loads(out))


def test_a_grant_waits_for_the_beneficiarys_manager_and_no_one_else(workdir: Path) -> None:
    opened = grant_request()
    request_id, digest = str(opened["id"]), str(opened["digest"])

    assert opened["state"] == "pending"
    assert (
        json.loads(invoke("approvals", "list", "--approver", "priya", "--json")[1])[0]["id"]
        == request_id
    )
    assert (
        invoke("approvals", "list", "--approver", "grace")[1].strip() == "nothing waits for grace"
    )

    by_target = invoke("approvals", "approve", request_id, "--approver", "tom", "--digest", digest)
    by_stranger = invoke(
        "approvals", "approve", request_id, "--approver", "grace", "--digest", digest
    )
    changed = invoke(
        "approvals", "approve", request_id, "--approver", "priya", "--digest", "sha256:" + "0" * 64
    )
    approved = invoke(
        "approvals", "approve", request_id, "--approver", "priya", "--digest", digest, "--json"
    )

    assert (by_target[0], by_stranger[0], changed[0]) == (3, 3, 3)
    assert "'tom' is the target and cannot vote" in by_target[2]
    assert "request digest mismatch" in changed[2]
    assert json.loads(approved[1])["state"] == "approved"
    assert json.loads(approved[1])["obligations"][0]["approved_by"] == ["priya"]


def test_every_step_is_in_the_audit_log(workdir: Path) -> None:
    opened = grant_request()
    invoke(
        "approvals",
        "approve",
        str(opened["id"]),
        "--approver",
        "priya",
        "--digest",
        str(opened["digest"]),
    )

    types = [
        parse_record(line, n).type
        for n, line in enumerate(read_lines(workdir / "var" / "audit.log"))
    ]

    assert types[:2] == ["decision", "approval.opened"]
    assert "approval.approved" in types
    assert types.count("decision") == 2, "the voter was authorised by the decision point too"


def test_a_request_without_approval_obligations_needs_none(workdir: Path) -> None:
    code, out, _ = invoke(
        "approvals",
        "request",
        "--actor",
        "elena",
        "--action",
        "kb.publish",
        "--resource",
        "article:x",
    )

    assert code == 0
    assert out.strip() == "allowed; no approval needed"


def test_a_denied_request_opens_nothing(workdir: Path) -> None:
    code, out, _ = invoke(
        "approvals", "request", "--actor", "omar", "--action", "access.grant",
        "--resource", "account:omar", "--context", "system=payroll",
    )  # fmt: skip

    assert code == 3
    assert out.startswith("DENY  omar access.grant account:omar")


def test_show_reject_cancel_and_tick(workdir: Path) -> None:
    first, second = grant_request(), grant_request()

    shown = invoke("approvals", "show", str(first["id"]))
    rejected = invoke(
        "approvals",
        "reject",
        str(first["id"]),
        "--approver",
        "priya",
        "--digest",
        str(first["digest"]),
        "--json",
    )
    cancelled = invoke("approvals", "cancel", str(second["id"]), "--by", "omar", "--json")
    ticked = invoke("approvals", "tick", "--json")
    text_tick = invoke("approvals", "tick")

    assert "open: 1 of [manager]; approved by nobody yet" in shown[1]
    assert json.loads(rejected[1])["state"] == "rejected"
    assert json.loads(cancelled[1])["state"] == "cancelled"
    assert json.loads(ticked[1]) == []
    assert text_tick[1].strip() == "0 change(s)"


def test_disabled_approvals_are_a_configuration_error(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text("[approvals]\nenabled = false\n")

    code, _, err = invoke("approvals", "list", "--approver", "priya")

    assert code == 4
    assert "approvals are disabled" in err


def test_every_approvals_command_has_help() -> None:
    for command in ("request", "list", "show", "approve", "reject", "cancel", "tick"):
        code, out, _ = invoke("approvals", command, "--help")
        assert code == 0
        assert f"Usage: gateway approvals {command}" in out


def notifications(workdir: Path) -> list[dict[str, object]]:
    path = workdir / "var" / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_approvers_are_notified_and_the_requester_hears_the_outcome(workdir: Path) -> None:
    opened = grant_request()
    invoke(
        "approvals",
        "approve",
        str(opened["id"]),
        "--approver",
        "priya",
        "--digest",
        str(opened["digest"]),
    )

    asked, told = notifications(workdir)

    assert (asked["kind"], asked["recipients"]) == ("approval_requested", ["priya"])
    assert f"gateway approvals approve {opened['id']}" in str(asked["text"])
    assert (told["kind"], told["recipients"]) == ("approved", ["omar"])


def test_a_rejection_tells_the_requester(workdir: Path) -> None:
    opened = grant_request()
    invoke(
        "approvals",
        "reject",
        str(opened["id"]),
        "--approver",
        "priya",
        "--digest",
        str(opened["digest"]),
    )

    assert [n["kind"] for n in notifications(workdir)] == ["approval_requested", "denied"]


def test_tick_escalates_then_expires_and_tells_people(workdir: Path) -> None:
    import time

    access = workdir / "policies" / "cedar" / "access.cedar"
    access.write_text(
        access.read_text().replace(
            '@approval("approvers=manager; quorum=1; expires=24h")',
            '@approval("approvers=manager; quorum=1; expires=2s; escalate_after=1s; '
            'escalate_to=group:security-team")',
        )
    )
    opened = grant_request()

    time.sleep(1.2)
    escalated = invoke("approvals", "tick")
    time.sleep(1.0)
    expired = invoke("approvals", "tick", "--json")

    assert escalated[1].splitlines()[0] == f"escalated: {opened['id']} -> ask group:security-team"
    assert json.loads(expired[1]) == [{"kind": "expired", "id": opened["id"], "notify": []}]
    kinds = [(n["kind"], n["recipients"]) for n in notifications(workdir)]
    assert kinds == [
        ("approval_requested", ["priya"]),
        ("escalated", ["group:security-team"]),
        ("expired", ["omar"]),
    ]


def approved_grant(workdir: Path) -> str:
    opened = grant_request()
    code, _, err = invoke(
        "approvals",
        "approve",
        str(opened["id"]),
        "--approver",
        "priya",
        "--digest",
        str(opened["digest"]),
    )
    assert code == 0, err
    return str(opened["id"])


def use_directory_copy(workdir: Path) -> Path:
    """The embedded sample directory, copied so a test can change the facts."""
    from gateway.config import EMBEDDED_DIRECTORY

    copy = workdir / "directory.yaml"
    copy.write_text(EMBEDDED_DIRECTORY.read_text())
    (workdir / "gateway.toml").write_text("[identity]\nstatic_file = 'directory.yaml'\n")
    return copy


def test_an_approval_that_still_suffices_is_confirmed(workdir: Path) -> None:
    approval = approved_grant(workdir)

    code, out, _ = invoke("approvals", "confirm", approval, "--json")

    assert code == 0
    assert json.loads(out)["decision"] == "allow"


def test_an_approval_by_someone_who_is_no_longer_the_manager_does_not_suffice(
    workdir: Path,
) -> None:
    directory = use_directory_copy(workdir)
    approval = approved_grant(workdir)
    directory.write_text(
        directory.read_text().replace("    manager: priya\n", "    manager: omar\n", 1)
    )

    code, out, _ = invoke("approvals", "confirm", approval)

    assert code == 3
    assert (
        f"approval {approval} no longer suffices: approval of access-grant-with-manager-approval"
        in out
    )
    assert "approvals that still count: []" in out


def test_a_policy_that_now_asks_for_more_makes_the_approval_insufficient(workdir: Path) -> None:
    approval = approved_grant(workdir)
    access = workdir / "policies" / "cedar" / "access.cedar"
    access.write_text(
        access.read_text().replace(
            '"approvers=manager; quorum=1; expires=24h"',
            '"approvers=manager; quorum=2; expires=24h"',
        )
    )

    code, out, _ = invoke("approvals", "confirm", approval)

    assert code == 3
    assert "needs 2 of [manager]; approvals that still count: [priya]" in out


def test_a_request_that_is_now_denied_is_not_confirmed(workdir: Path) -> None:
    directory = use_directory_copy(workdir)
    approval = approved_grant(workdir)
    directory.write_text(
        directory.read_text().replace(
            "    display_name: Omar Haddad\n",
            "    display_name: Omar Haddad\n    status: disabled\n",
        )
    )

    code, out, _ = invoke("approvals", "confirm", approval)

    assert code == 3
    assert "forbidden by inactive-actor" in out


def test_a_pending_approval_is_not_confirmed(workdir: Path) -> None:
    opened = grant_request()

    code, out, _ = invoke("approvals", "confirm", str(opened["id"]))

    assert code == 3
    assert f"approval {opened['id']} is pending, not approved" in out


def test_an_approver_who_left_the_directory_no_longer_counts(workdir: Path) -> None:
    directory = use_directory_copy(workdir)
    approval = approved_grant(workdir)
    text = directory.read_text().replace("manager: priya", "manager: omar")
    start, end = text.index("  priya:\n"), text.index("  lena:\n")
    directory.write_text(text[:start] + text[end:])  # priya has left the company

    code, out, _ = invoke("approvals", "confirm", approval)

    assert code == 3
    assert "approvals that still count: []" in out


def test_an_install_nobody_can_approve_is_refused_at_once_with_the_reason(
    workdir: Path,
) -> None:
    shutil.copytree(REPO / "automations", workdir / "automations")

    code, out, _ = invoke(
        "run", "software-install", "-p", "title=visio", "-p", "device=priya-laptop",
        "--actor", "priya",
    )  # fmt: skip

    assert code == 3
    assert "FAILED" in out
    assert "priya has no manager" in out
    records = [
        parse_record(line, i) for i, line in enumerate(read_lines(workdir / "var/audit.log"))
    ]
    (refused,) = [r for r in records if r.type == "approval.refused"]
    assert (refused.actor, refused.action, refused.resource) == (
        "priya",
        "software.install",
        "software:visio",
    )
    assert refused.payload["reason"] == "no_approver"
    assert "software-install-licensed-title" in str(refused.payload["message"])
    assert not [r for r in records if r.type == "approval.opened"]
    path = workdir / "var" / "notifications.jsonl"
    sent = notifications(workdir) if path.exists() else []
    assert all("manager" not in n["recipients"] for n in sent)  # type: ignore[operator]
    assert invoke("approvals", "list", "--approver", "omar")[1].strip() == "nothing waits for omar"


def test_an_approval_without_a_manager_goes_to_the_escalation_at_once(workdir: Path) -> None:
    software = workdir / "policies" / "cedar" / "software.cedar"
    software.write_text(
        software.read_text().replace(
            '@approval("approvers=manager; quorum=1; expires=3d")',
            '@approval("approvers=manager; quorum=1; expires=3d; escalate_after=1d; '
            'escalate_to=user:omar")',
        )
    )

    code, out, err = invoke(
        "approvals", "request", "--actor", "priya", "--action", "software.install",
        "--resource", "software:visio", "--json",
    )  # fmt: skip

    assert code == 0, err
    opened = json.loads(out)
    (asked,) = notifications(workdir)
    assert (asked["kind"], asked["recipients"]) == ("approval_requested", ["omar"])
    waiting = json.loads(invoke("approvals", "list", "--approver", "omar", "--json")[1])
    assert [item["id"] for item in waiting] == [opened["id"]]
    approved = invoke(
        "approvals", "approve", opened["id"], "--approver", "omar", "--digest", opened["digest"]
    )
    assert approved[0] == 0, approved[2]


@pytest.mark.parametrize(
    ("actor", "action", "resource", "code", "decision"),
    [
        ("tom", "access.grant", "account:sam", 3, "deny"),
        ("elena", "password.reset", "account:tom", 0, "allow"),
    ],
    ids=["a denied request", "a request that needs no approval"],
)
def test_a_request_that_opens_no_approval_prints_its_decision_as_json(
    workdir: Path, actor: str, action: str, resource: str, code: int, decision: str
) -> None:
    found = invoke(
        "approvals", "request", "--actor", actor, "--action", action, "--resource", resource,
        "--context", "system=payroll", "--json",
    )  # fmt: skip

    shown = json.loads(found[1])
    assert (found[0], shown["decision"]) == (code, decision)
    assert shown["request"]["actor"] == actor
    assert not [o for o in shown["obligations"] if o["type"] == "approval"]

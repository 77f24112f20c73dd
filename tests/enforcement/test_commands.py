"""Every command in the authorization table, run as a person would: the weakest caller a
policy-decided command can name is refused (exit 3) and changes nothing, and a command that
changes state writes the audit event the table names.

Each recipe is a list of command lines; a step whose output is JSON keeps its ``id`` (and
``digest``) under the step's name for later steps (``{approval}``, ``{approval.digest}``).
A command whose story needs more than command lines (a clock moved on, a help desk server)
names the test that tells it instead; that test must exist.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.cli import cli
from gateway.enforcement.table import Entry, commands

REPO = Path(__file__).resolve().parents[2]

Step = tuple[str, ...]  # a command line; a first word ending in ":" names the step


@dataclass(frozen=True)
class Recipe:
    setup: tuple[Step, ...] = ()
    refused: Step | None = None  # the weakest caller: exit 3, nothing audited but a deny
    allowed: Step | None = None  # writes the entry's audit event
    exit_code: int = 0  # of the allowed step
    extra: dict[str, str] = field(default_factory=dict)


APPROVAL = (
    "approval:",
    "approvals",
    "request",
    "--actor",
    "omar",
    "--action",
    "access.grant",
    "--resource",
    "account:tom",
    "--context",
    "system=payroll",
    "--json",
)
SESSION = (
    "session:",
    "tree",
    "start",
    "email",
    "--technician",
    "elena",
    "--fact",
    "client=outlook",
    "--json",
)
RESET = ("execution:", "run", "password-reset", "-p", "user=tom", "--actor", "elena", "--json")
SIGN_IN = ("tree", "answer", "{session}", "cannot_sign_in")

RECIPES: dict[str, Recipe] = {
    "gateway authorize": Recipe(
        refused=("authorize", "--actor", "tom", "--action", "access.grant", "--resource",
                 "account:sam", "--context", "system=payroll"),
        allowed=("authorize", "--actor", "elena", "--action", "password.reset", "--resource",
                 "account:tom"),
    ),
    "gateway keys rotate": Recipe(
        setup=(("authorize", "--actor", "elena", "--action", "kb.publish", "--resource",
                "article:x"),),
        allowed=("keys", "rotate", "--log", "var/audit.log", "--dir", "keys"),
    ),
    "gateway stepup enrol": Recipe(
        refused=("stepup", "enrol", "--user", "sam", "--by", "tom"),
        allowed=("stepup", "enrol", "--user", "tom"),
    ),
    "gateway approvals request": Recipe(
        refused=("approvals", "request", "--actor", "tom", "--action", "access.grant",
                 "--resource", "account:sam", "--context", "system=payroll"),
        allowed=APPROVAL[1:],
    ),
    "gateway approvals approve": Recipe(
        setup=(APPROVAL,),
        refused=("approvals", "approve", "{approval}", "--approver", "tom", "--digest",
                 "{approval.digest}"),
        allowed=("approvals", "approve", "{approval}", "--approver", "priya", "--digest",
                 "{approval.digest}"),
    ),
    "gateway approvals reject": Recipe(
        setup=(APPROVAL,),
        refused=("approvals", "reject", "{approval}", "--approver", "tom", "--digest",
                 "{approval.digest}"),
        allowed=("approvals", "reject", "{approval}", "--approver", "priya", "--digest",
                 "{approval.digest}"),
    ),
    "gateway approvals cancel": Recipe(
        setup=(APPROVAL,),
        refused=("approvals", "cancel", "{approval}", "--by", "tom"),
        allowed=("approvals", "cancel", "{approval}", "--by", "omar"),
    ),
    "gateway approvals confirm": Recipe(
        setup=(APPROVAL, ("approvals", "approve", "{approval}", "--approver", "priya",
                          "--digest", "{approval.digest}")),
        allowed=("approvals", "confirm", "{approval}"),
    ),
    "gateway run": Recipe(
        refused=("run", "access-grant", "-p", "user=sam", "-p", "system=payroll", "--actor",
                 "tom"),
        allowed=RESET[1:],
    ),
    "gateway executions cancel": Recipe(
        setup=(("execution:", "run", "password-reset", "-p", "user=tom", "--actor", "tom",
                "--json"),),
        allowed=("executions", "cancel", "{execution}", "--by", "tom"),
    ),
    "gateway executions secret": Recipe(
        setup=(RESET,),
        allowed=("executions", "secret", "{execution}", "temporary_password", "--actor",
                 "elena"),
        refused=("executions", "secret", "{execution}", "temporary_password", "--actor",
                 "priya"),
    ),
    "gateway callers api-key create": Recipe(
        allowed=("callers", "api-key", "create", "--name", "ci-bot", "--scope", "audit:read"),
    ),
    "gateway callers api-key revoke": Recipe(
        setup=(("callers", "api-key", "create", "--name", "ci-bot", "--scope", "audit:read"),),
        allowed=("callers", "api-key", "revoke", "ci-bot"),
    ),
    "gateway callers token": Recipe(
        refused=("callers", "token", "--user", "lena"),
        allowed=("callers", "token", "--user", "elena"),
    ),
    "gateway catalog list": Recipe(allowed=("catalog", "list", "--actor", "tom")),
    "gateway catalog show": Recipe(allowed=("catalog", "show", "install-software", "--actor",
                                            "tom")),
    "gateway catalog run": Recipe(
        refused=("catalog", "run", "install-software", "--actor", "lena", "-p", "title=7zip",
                 "-p", "devices=lena-laptop"),
        allowed=("catalog", "run", "install-software", "--actor", "tom", "-p", "title=7zip",
                 "-p", "devices=tom-laptop"),
    ),
    "gateway tree start": Recipe(allowed=SESSION[1:]),
    "gateway tree answer": Recipe(
        setup=(SESSION,),
        refused=(*SIGN_IN, "--by", "tom"),
        allowed=(*SIGN_IN, "--by", "omar"),
    ),
    "gateway tree show": Recipe(
        setup=(SESSION,),
        refused=("tree", "show", "{session}", "--by", "tom"),
        allowed=("tree", "show", "{session}", "--by", "omar"),
    ),
    "gateway tree undo": Recipe(
        setup=(SESSION, SIGN_IN),
        refused=("tree", "undo", "{session}", "--by", "tom"),
        allowed=("tree", "undo", "{session}"),
    ),
    "gateway tree resume": Recipe(
        setup=(SESSION,),
        refused=("tree", "resume", "{session}", "--by", "tom"),
    ),
    "gateway demo": Recipe(allowed=("demo",)),
    "gateway offline prepare": Recipe(
        refused=("offline", "prepare", "--technician", "tom", "--site", "branch-7"),
        allowed=("offline", "prepare", "--technician", "elena", "--site", "branch-7"),
    ),
}  # fmt: skip

# Commands whose story needs more than command lines, and the test that tells it.
TOLD_ELSEWHERE: dict[str, tuple[str, str]] = {
    "gateway privacy export": (
        "tests/cli/test_privacy_cli.py", "test_the_helpdesk_cannot_export_a_persons_data"),
    "gateway privacy erase": (
        "tests/cli/test_privacy_cli.py",
        "test_erase_shreds_the_person_and_the_log_still_verifies"),
    "gateway privacy sweep": (
        "tests/cli/test_privacy_cli.py", "test_a_sweep_over_records_under_legal_hold_is_refused"),
    "gateway offline revoke": (
        "tests/offline/test_prepare.py", "test_a_kit_is_revoked_once_decided_and_audited"),
    "gateway offline request": (
        "tests/offline/test_mode.py", "test_a_refused_password_reset_is_queued_in_the_segment"),
    "gateway offline sync": (
        "tests/offline/test_sync.py",
        "test_a_merged_segment_is_part_of_the_verified_central_history"),
    "gateway offline close-segment": (
        "tests/offline/test_sync_segments.py",
        "test_a_closed_segment_and_the_new_one_after_it_merge_in_order"),
    "gateway stepup verify": (
        "tests/cli/test_stepup_cli.py", "test_an_enrolled_user_steps_up_once_per_code"),
    "gateway approvals tick": (
        "tests/cli/test_approvals_cli.py", "test_tick_escalates_then_expires_and_tells_people"),
    "gateway executions resume": (
        "tests/cli/test_executions_cli.py",
        "test_a_reset_of_ones_own_password_waits_for_a_step_up_then_resumes"),
    "gateway executions tick": (
        "tests/cli/test_executions_cli.py",
        "test_executions_are_listed_shown_cancelled_and_ticked"),
    "gateway catalog resume": (
        "tests/selfservice/test_cli.py",
        "test_waiting_runs_show_the_next_step_and_can_be_cancelled"),
    "gateway catalog cancel": (
        "tests/selfservice/test_cli.py",
        "test_waiting_runs_show_the_next_step_and_can_be_cancelled"),
    "gateway kb record": ("tests/knowledge/test_cli.py", "test_record_search_show_and_reindex"),
    "gateway kb publish": ("tests/knowledge/test_cli.py", "test_publish_goes_through_the_runtime"),
    "gateway tickets replay": (
        "tests/tickets/test_cli.py",
        "test_replay_reports_every_line_by_number_and_goes_on_after_bad_ones"),
    "gateway tickets poll": (
        "tests/tickets/test_cli.py",
        "test_poll_without_help_desks_does_nothing_and_follow_up_reports"),
    "gateway tickets follow-up": (
        "tests/tickets/test_cli.py",
        "test_poll_without_help_desks_does_nothing_and_follow_up_reports"),
    "gateway tickets dead-letters replay": (
        "tests/tickets/test_cli.py", "test_dead_letters_are_listed_and_replayed"),
    "gateway tree run": (
        "tests/troubleshooting/test_cli.py", "test_run_guides_a_session_interactively"),
    "gateway policy sign": (
        "tests/cli/test_policy_signing_cli.py",
        "test_two_signers_meet_a_threshold_of_two_and_decisions_name_them"),
}  # fmt: skip


def test_every_command_that_decides_or_writes_has_a_story() -> None:
    needing = {e.name for e in commands() if e.action is not None or e.audit is not None}

    assert sorted(needing - set(RECIPES) - set(TOLD_ELSEWHERE)) == []
    assert sorted((set(RECIPES) | set(TOLD_ELSEWHERE)) - {e.name for e in commands()}) == []


@pytest.mark.parametrize("name", sorted(TOLD_ELSEWHERE))
def test_the_test_that_tells_it_exists(name: str) -> None:
    path, test = TOLD_ELSEWHERE[name]

    assert f"def {test}(" in (REPO / path).read_text(encoding="utf-8")


class Workdir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.found: dict[str, str] = {}

    def run(self, step: Step) -> tuple[int, str, str]:
        name = step[0][:-1] if step[0].endswith(":") else None
        args = [self._fill(arg) for arg in (step[1:] if name else step)]
        result = CliRunner().invoke(cli, args, prog_name="gateway")
        if name is not None:
            data = json.loads(result.stdout)
            self.found[name] = data["id"]
            if "digest" in data:
                self.found[f"{name}.digest"] = data["digest"]
        return result.exit_code, result.stdout, result.stderr

    def _fill(self, arg: str) -> str:
        return re.sub(r"\{([a-z.]+)\}", lambda m: self.found[m.group(1)], arg)

    def events(self) -> list[tuple[str, str | None, str | None]]:
        log = self.root / "var" / "audit.log"
        if not log.exists():
            return []
        records = [parse_record(line, n) for n, line in enumerate(read_lines(log))]
        return [(r.type, r.action, str(r.payload.get("decision"))) for r in records]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workdir:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    return Workdir(tmp_path)


def entry(name: str) -> Entry:
    return next(e for e in commands() if e.name == name)


REFUSED = sorted(name for name, recipe in RECIPES.items() if recipe.refused is not None)
ALLOWED = sorted(name for name, recipe in RECIPES.items() if recipe.allowed is not None)


@pytest.mark.parametrize("name", REFUSED)
def test_the_weakest_caller_is_refused_and_nothing_but_a_deny_is_written(
    workdir: Workdir, name: str
) -> None:
    recipe = RECIPES[name]
    for step in recipe.setup:
        assert workdir.run(step)[0] in (0, 6), step
    before = len(workdir.events())

    assert recipe.refused is not None
    code, _, err = workdir.run(recipe.refused)

    written = workdir.events()[before:]
    assert code == 3, err
    # a decision, the refusal, and the request's own record (a catalog run admitted until
    # its decision, an execution started and finished as refused) may be written; nothing
    # that records a change in another system
    bookkeeping = {"decision", "execution.started", "execution.finished"}
    changes = [kind for kind, _, _ in written if kind not in bookkeeping
               and not kind.endswith(("refused", "_admitted"))]  # fmt: skip
    assert changes == []
    assert all(decision != "allow" for kind, _, decision in written if kind == "decision") or (
        entry(name).action == "*"  # a workflow's first steps may be allowed, its change not
    )


@pytest.mark.parametrize("name", ALLOWED)
def test_the_audit_event_the_table_names_is_written(workdir: Workdir, name: str) -> None:
    recipe = RECIPES[name]
    for step in recipe.setup:
        assert workdir.run(step)[0] in (0, 6), step
    before = len(workdir.events())

    assert recipe.allowed is not None
    code, _, err = workdir.run(recipe.allowed)

    written = {kind for kind, _, _ in workdir.events()[before:]}
    assert code == recipe.exit_code, err
    expected = entry(name).audit
    if expected is None:  # a read: nothing but decisions
        assert written <= {"decision"}
    else:
        assert expected in written

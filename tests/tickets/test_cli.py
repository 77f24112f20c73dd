"""``gateway tickets`` and the ticket demo scenario, as a person at a terminal sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.app import Gateway, open_runtime
from gateway.cli import cli
from gateway.cli.demo_tickets import run_tickets_scenario
from gateway.tickets import Ticket
from tests.tickets.conftest import generic, write_config

RESET = ("I forgot my password", "Please reset my password.")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def test_replay_feeds_a_file_and_says_what_happened(workdir: Path) -> None:
    lines = [
        generic(1, "tom@example.com", *RESET),
        b"not json",
        generic(2, "tom@example.com", "Hi"),
    ]
    (workdir / "tickets.jsonl").write_bytes(b"\n".join(lines))

    code, out, _ = invoke("tickets", "replay", "tickets.jsonl")

    assert code == 1
    assert out.splitlines()[0].startswith(
        "line 1: STARTED          embedded:T-1: started password-reset"
    )
    assert "waiting for tom to step up for reset" in out.splitlines()[1]
    assert out.splitlines()[2] == (
        "line 2: DEAD_LETTER      dead letter 1: invalid JSON: Expecting value at line 1 column 1"
    )
    assert out.splitlines()[-1] == (
        "3 events from 3 lines: 1 dead_letter, 1 humans, 1 started; problems on lines 2"
    )

    code, out, _ = invoke("tickets", "replay", "tickets.jsonl", "--json")
    assert [item["outcome"] for item in json.loads(out)] == [
        "duplicate",
        "dead_letter",
        "duplicate",
    ]


def test_dead_letters_are_listed_and_replayed(workdir: Path) -> None:
    (workdir / "bad.jsonl").write_bytes(b'{"ticket": {"id": "T-1"}}\n')
    invoke("tickets", "replay", "bad.jsonl")

    code, out, _ = invoke("tickets", "dead-letters", "list")
    assert code == 0
    assert "replay/replay  25 bytes  ticket.subject: Field required" in out
    assert out.splitlines()[-1] == "1 dead letters"
    code, out, _ = invoke("tickets", "dead-letters", "replay", "1", "--json")
    assert code == 1
    assert json.loads(out)[0]["outcome"] == "dead_letter"
    code, out, _ = invoke("tickets", "dead-letters", "list", "--all", "--json")
    assert json.loads(out)[0]["replays"] == 1
    code, _, err = invoke("tickets", "dead-letters", "replay", "7")
    assert code == 4
    assert "error: unknown dead letter 7" in err


def test_a_fixed_dead_letter_replays(workdir: Path) -> None:
    (workdir / "t.jsonl").write_bytes(generic(1, "tom@example.com", *RESET, kind="updated"))
    invoke("tickets", "replay", "t.jsonl")
    (workdir / "t.jsonl").write_bytes(generic(1, "tom@example.com", *RESET, event="e-first"))
    invoke("tickets", "replay", "t.jsonl")

    code, out, _ = invoke("tickets", "dead-letters", "replay", "1")
    assert code == 0
    assert out.startswith("IN_PROGRESS      embedded:T-1: execution ")


def test_route_is_a_dry_run_that_explains_itself(workdir: Path) -> None:
    (workdir / "t.json").write_bytes(generic(1, "elena@example.com", "Password reset",
                                             "please reset user: tom"))  # fmt: skip
    code, out, _ = invoke("tickets", "route", "t.json")

    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "WORKFLOW  password-reset user=tom  as elena"
    assert lines[1] == "  trigger: password-reset  route: helpdesk-for-user  confidence: 0.83"
    assert "  - route helpdesk-for-user applies: 'helpdesk' in requester.groups" in lines
    code, out, _ = invoke("tickets", "route", "t.json", "--json")
    assert json.loads(out)["route"] == "helpdesk-for-user"
    code, out, _ = invoke("executions", "list", "--json")
    assert json.loads(out) == []


@pytest.mark.parametrize(
    ("source", "body", "first"),
    [
        ("servicenow", {"sys_id": "0" * 32, "number": "INC1", "short_description": "Printer",
                        "sys_updated_on": "2024-05-01 09:00:00",
                        "caller_id.email": "tom@example.com"}, "PEOPLE    queue service-desk"),
        ("jira", {"webhookEvent": "jira:issue_created", "issue": {"key": "IT-1", "fields": {
            "summary": "Printer", "updated": "2024-05-01T09:00:00.000+0000",
            "reporter": {"emailAddress": "tom@example.com"}}}}, "PEOPLE    queue service-desk"),
    ],
)  # fmt: skip
def test_route_reads_vendor_shapes_too(
    workdir: Path, source: str, body: dict[str, object], first: str
) -> None:
    (workdir / "t.json").write_text(json.dumps(body), encoding="utf-8")
    code, out, _ = invoke("tickets", "route", "t.json", "--source", source)

    assert code == 0
    assert out.splitlines()[0] == first


def test_route_names_the_problem_with_a_bad_file(workdir: Path) -> None:
    (workdir / "t.json").write_text("[]", encoding="utf-8")
    code, _, err = invoke("tickets", "route", "t.json")

    assert code == 1
    assert "t.json: expected a JSON object, found list" in err


def test_poll_without_help_desks_does_nothing_and_follow_up_reports(workdir: Path) -> None:
    assert invoke("tickets", "poll") == (0, "nothing\n", "")
    _, out, _ = invoke("tickets", "poll", "--json")
    assert json.loads(out) == {"results": [], "errors": {}, "watermarks": {}}
    assert invoke("tickets", "follow-up")[1] == (
        "0 automations changed; write-backs: 0 delivered, 0 waiting, 0 failed\n"
    )


def test_poll_reports_a_help_desk_that_cannot_be_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLI_SN_PASSWORD", "x")
    write_config(tmp_path, '[tickets.servicenow]\ninstance_url = "http://127.0.0.1:9"\n'
                 'username = "u"\npassword_env = "CLI_SN_PASSWORD"\n')  # fmt: skip
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("tickets", "poll")

    assert code == 5
    assert "servicenow: ServiceNow GET /api/now/table/incident: cannot reach the help desk" in err


def test_the_demo_scenario_resets_toms_password_from_a_ticket(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(workdir)
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        run_tickets_scenario(config, gateway, executor)
    finally:
        executor.close()
        gateway.close()
    out = capsys.readouterr().out
    assert ": started: started password-reset as tom" in out
    assert "sam is a privileged account" in out
    assert "a broken line: dead_letter" in out
    assert "comment: Your password was reset." in out
    assert "resolve: Resolved by the IT support gateway" in out


def _demo(config_folder: Path, extra: str = "", *, busy: bool = False) -> str:
    config = write_config(config_folder, extra)
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        if busy:
            executor.start("password-reset", {"user": "tom"}, actor="elena")
        run_tickets_scenario(config, gateway, executor)
    finally:
        executor.close()
        gateway.close()
    return ""


def test_the_demo_scenario_says_when_the_reset_cannot_start(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _demo(workdir, busy=True)

    assert "the reset did not start (see above): a person takes the ticket" in (
        capsys.readouterr().out
    )


def test_the_demo_scenario_without_step_up_leaves_the_ticket_with_people(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _demo(workdir, "[stepup]\nenabled = false\n")

    out = capsys.readouterr().out
    assert "step-up is disabled. Left for a person." in out
    assert "resolve:" not in out


LONG_URGENCY = (
    b'{"event_id": "e-2", "ticket": {"id": "T-2", "subject": "x", "urgency": ' + b"1" * 5000 + b"}}"
)


def test_replay_reports_every_line_by_number_and_goes_on_after_bad_ones(workdir: Path) -> None:
    lines = [
        generic(1, "tom@example.com", "Hi"),
        LONG_URGENCY,
        b"",
        b"not json",
        generic(3, "tom@example.com", "Hello"),
    ]
    (workdir / "tickets.jsonl").write_bytes(b"\n".join(lines))

    code, out, _ = invoke("tickets", "replay", "tickets.jsonl")

    assert code == 1
    printed = out.splitlines()
    assert printed[0].startswith("line 1: HUMANS           embedded:T-1: ")
    assert printed[1] == (
        "line 2: DEAD_LETTER      dead letter 1: ticket.urgency: an integer of 5000 digits; "
        "at most 4300 are read"
    )
    assert printed[2].startswith("line 4: DEAD_LETTER      dead letter 2: invalid JSON")
    assert printed[3].startswith("line 5: HUMANS           embedded:T-3: ")
    assert printed[-1] == "4 events from 5 lines: 2 dead_letter, 2 humans; problems on lines 2, 4"
    code, out, _ = invoke("tickets", "replay", "tickets.jsonl", "--json")
    assert [(item["line"], item["outcome"]) for item in json.loads(out)] == [
        (1, "duplicate"), (2, "dead_letter"), (4, "dead_letter"), (5, "duplicate"),
    ]  # fmt: skip


def test_replay_goes_on_when_the_directory_is_down_and_exits_unavailable(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.errors import DirectoryUnavailableError
    from gateway.tickets.service import TicketService

    handle = TicketService._handle

    def down_for_t2(self: TicketService, ticket: Ticket) -> object:
        if ticket.id == "T-2":
            raise DirectoryUnavailableError("directory is unavailable: outage")
        return handle(self, ticket)

    monkeypatch.setattr(TicketService, "_handle", down_for_t2)
    lines = [generic(n, "tom@example.com", "Hi") for n in (1, 2, 3)]
    (workdir / "tickets.jsonl").write_bytes(b"\n".join(lines))

    code, out, _ = invoke("tickets", "replay", "tickets.jsonl")

    assert code == 5
    printed = out.splitlines()
    assert printed[1] == "line 2: NOT_TAKEN        event: directory is unavailable: outage"
    assert printed[2].startswith("line 3: HUMANS           embedded:T-3: ")
    assert printed[-1] == "3 events from 3 lines: 2 humans, 1 not_taken; problems on lines 2"
    monkeypatch.setattr(TicketService, "_handle", handle)
    code, out, _ = invoke("tickets", "replay", "tickets.jsonl", "--json")
    assert code == 0
    assert [item["outcome"] for item in json.loads(out)] == ["duplicate", "humans", "duplicate"]

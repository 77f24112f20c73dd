"""The intake on the embedded defaults: exactly once, conflicts, people, dead letters."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyotp
import pytest

from gateway.errors import DirectoryUnavailableError
from gateway.runtime.model import ExecutionState
from gateway.tickets import (
    Outcome,
    TicketEventError,
    TicketService,
    UnknownDeadLetterError,
    UnknownTicketError,
)
from gateway.tickets.store import TicketStore
from tests.tickets.conftest import Desk, MakeDesk, generic

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


RESET = ("I forgot my password", "Please reset my password, I cannot log on.")


def test_a_reset_asked_by_its_owner_starts_the_workflow_as_them_and_waits_for_a_step_up(
    desk: Desk,
) -> None:
    result = desk.service.receive_delivery("generic", generic(1, "tom@example.com", *RESET), {})

    assert result.outcome is Outcome.STARTED
    assert result.execution is not None
    assert result.execution.workflow == "password-reset"
    assert result.execution.actor == "tom"
    assert result.execution.ticket == "embedded:T-1"
    assert result.execution.state is ExecutionState.AWAITING_STEP_UP
    assert result.decision is not None
    assert result.decision.route == "own-account"
    entries = desk.entries("embedded:T-1")
    assert [kind for kind, _ in entries] == ["comment", "comment"]
    assert "Next step for tom: verify that it is you" in entries[1][1]
    routed = desk.audited("ticket.routed")
    assert routed[0].payload["route"] == "own-account"
    assert routed[0].payload["explanation"][1] == "requester verified as tom"


def test_after_the_step_up_the_ticket_gets_next_steps_and_is_resolved(desk: Desk) -> None:
    result = desk.service.receive_delivery("generic", generic(1, "tom@example.com", *RESET), {})
    execution = result.execution
    assert execution is not None
    assert execution.waiting is not None
    stepup = desk.gateway.stepup
    assert stepup is not None
    seed = stepup.enrol("tom").seed.get_secret_value()
    stepup.verify("tom", pyotp.TOTP(seed).now(), bound_to=str(execution.waiting["digest"]))
    done = desk.executor.advance(execution.id)

    assert done.state is ExecutionState.SUCCEEDED
    assert desk.service.follow_up() == 1
    assert desk.service.follow_up() == 0
    kinds = [kind for kind, _ in desk.entries("embedded:T-1")]
    assert kinds == ["comment", "comment", "comment", "resolve"]
    comment = desk.entries("embedded:T-1")[2][1]
    assert f"gateway executions secret {execution.id} temporary_password --actor tom" in comment
    password = desk.executor.reveal(execution.id, "temporary_password", "tom")
    everything = json.dumps(desk.entries("embedded:T-1"))
    assert password not in everything
    assert desk.service.embedded.fetch("embedded:T-1").closed


def test_an_event_delivered_twice_starts_one_workflow(desk: Desk) -> None:
    body = generic(1, "tom@example.com", *RESET)
    first = desk.service.receive_delivery("generic", body, {})
    again = desk.service.receive_delivery("generic", body, {})

    assert first.outcome is Outcome.STARTED
    assert again.outcome is Outcome.DUPLICATE
    assert len(desk.executor.recent()) == 1


def test_an_update_to_a_ticket_whose_workflow_runs_starts_nothing(desk: Desk) -> None:
    desk.service.receive_delivery("generic", generic(1, "tom@example.com", *RESET), {})
    update = generic(1, "tom@example.com", *RESET, kind="updated", event="e-1b")
    result = desk.service.receive_delivery("generic", update, {})

    assert result.outcome is Outcome.IN_PROGRESS
    assert "is already running" in result.message
    assert desk.service.follow_up() == 0
    assert len(desk.executor.recent()) == 1


def test_an_update_after_the_workflow_finished_starts_nothing(desk: Desk) -> None:
    install = ("Please install 7-Zip", "I need 7-Zip installed on tom-laptop")
    first = desk.service.receive_delivery("generic", generic(1, "tom@example.com", *install), {})
    assert first.execution is not None
    assert first.execution.state is ExecutionState.SUCCEEDED
    update = generic(1, "tom@example.com", *install, kind="updated", event="e-1b")
    result = desk.service.receive_delivery("generic", update, {})

    assert result.outcome is Outcome.ALREADY_HANDLED
    assert desk.entries("embedded:T-1")[-1][0] == "resolve"


def test_two_tickets_on_one_account_note_the_conflict_on_both(desk: Desk) -> None:
    desk.service.receive_delivery("generic", generic(1, "tom@example.com", *RESET), {})
    other = generic(2, "elena@example.com", "Password reset", "Please reset user: tom")
    result = desk.service.receive_delivery("generic", other, {})

    assert result.outcome is Outcome.CONFLICT
    assert "is already acting on account:tom" in result.message
    assert desk.entries("embedded:T-1")[-1] == (
        "work_note",
        "Conflict: ticket embedded:T-2 asks for work on account:tom too; it was not started "
        "while this automation runs.",
    )
    assert desk.entries("embedded:T-2")[0][1].startswith("Not started: execution ")
    assert desk.audited("ticket.conflict")[0].payload["other_ticket"] == "embedded:T-1"


def test_a_conflict_with_an_execution_started_elsewhere_is_noted_on_the_ticket(
    desk: Desk,
) -> None:
    desk.executor.start("password-reset", {"user": "tom"}, actor="elena")
    other = generic(2, "elena@example.com", "Password reset", "Please reset user: tom")
    result = desk.service.receive_delivery("generic", other, {})

    assert result.outcome is Outcome.CONFLICT
    assert "for ticket" not in result.message


@pytest.mark.parametrize(
    ("email", "subject", "description", "note"),
    [
        pytest.param(
            "elena@example.com", "Password reset", "please reset user: sam",
            "sam is a privileged account", id="a privileged account goes to security",
        ),
        pytest.param(
            "priya@example.com", "Password reset", "please reset the password for user: tom",
            "priya asks about the account tom, which is not theirs",
            id="someone else's account stays with people",
        ),
        pytest.param(
            "elena@example.com", "Password reset", "please reset the password of user: lena",
            "account lena is disabled", id="a disabled account stays with people",
        ),
        pytest.param(
            "lena@example.com", *RESET, "the requester could not be verified",
            id="a disabled requester is not verified",
        ),
        pytest.param(
            "tom@example.com", "Printer jammed", "paper stuck in tray 2",
            "no trigger matches anything", id="an unclassified ticket stays with people",
        ),
    ],
)  # fmt: skip
def test_tickets_that_need_a_person_get_a_work_note_saying_why(
    desk: Desk, email: str, subject: str, description: str, note: str
) -> None:
    result = desk.service.receive_delivery("generic", generic(1, email, subject, description), {})

    assert result.outcome is Outcome.HUMANS
    assert note in result.message
    ((kind, text),) = desk.entries("embedded:T-1")
    assert kind == "work_note"
    assert note in text
    assert "Why: " in text
    assert desk.executor.recent() == []


def test_a_ticket_left_for_people_is_routed_again_when_it_changes(desk: Desk) -> None:
    desk.service.receive_delivery("generic", generic(1, "tom@example.com", "Help", "hi"), {})
    same = generic(1, "tom@example.com", "Help", "hi", kind="updated", event="e-1b")
    desk.service.receive_delivery("generic", same, {})
    better = generic(1, "tom@example.com", *RESET, kind="updated", event="e-1c")
    result = desk.service.receive_delivery("generic", better, {})

    assert result.outcome is Outcome.STARTED
    assert desk.entries("embedded:T-1")[0][0] == "work_note"
    assert len([k for k, _ in desk.entries("embedded:T-1") if k == "work_note"]) == 1


def test_a_closed_ticket_is_ignored(desk: Desk) -> None:
    body = generic(1, "tom@example.com", *RESET, closed=True, state="resolved")
    result = desk.service.receive_delivery("generic", body, {})

    assert result.outcome is Outcome.IGNORED
    assert result.message == "ticket is closed (resolved)"


def test_parameters_a_workflow_refuses_leave_the_ticket_with_people(desk: Desk) -> None:
    body = generic(
        1, "tom@example.com", "Install 7-Zip", "I need 7-Zip installed on tom_laptop.x-pc"
    )
    result = desk.service.receive_delivery("generic", body, {})

    assert result.outcome is Outcome.STARTED or result.outcome is Outcome.HUMANS
    body = generic(
        2, "tom@example.com", "Install 7-Zip", "Please install 7-Zip on printer-" + "x" * 140
    )
    result = desk.service.receive_delivery("generic", body, {})
    assert result.outcome is Outcome.HUMANS
    assert "software-install could not start: invalid parameters" in result.message


def test_a_directory_that_cannot_answer_releases_the_event_for_another_try(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = generic(1, "tom@example.com", *RESET)

    def down(**_: object) -> list[object]:
        raise DirectoryUnavailableError("directory is unavailable: test outage")

    with monkeypatch.context() as patch:
        patch.setattr(desk.gateway.directory, "find_users", down)
        with pytest.raises(DirectoryUnavailableError):
            desk.service.receive_delivery("generic", body, {})
    assert desk.service.receive_delivery("generic", body, {}).outcome is Outcome.STARTED


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        pytest.param(b"{not json", {}, "invalid JSON: Expecting property name enclosed in "
                     "double quotes at line 1 column 2", id="invalid JSON"),
        pytest.param(b"[1, 2]", {}, "expected a JSON object, found list", id="not an object"),
        pytest.param(b"\xff\xfe{}", {}, "body is not valid UTF-8 (byte 0)", id="not UTF-8"),
        pytest.param(b"{}", {"Content-Type": "application/json; charset=utf-16"},
                     "unknown encoding 'utf-16': events must be UTF-8 JSON",
                     id="an unknown encoding"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, {}, "invalid JSON: nested too deeply",
                     id="nested too deeply"),
        pytest.param(json.dumps({"ticket": {"id": "T-1"}}).encode(), {},
                     "ticket.subject: Field required", id="a missing field"),
        pytest.param(json.dumps({"ticket": {"id": "T-1", "subject": 7}}).encode(), {},
                     "ticket.subject: Input should be a valid string", id="a wrongly typed field"),
        pytest.param(json.dumps({"ticket": {"id": "T 1", "subject": "x", "urgency": 9,
                                            "impact": 0, "priority": 0}}).encode(), {},
                     "(and 1 more)", id="many problems"),
    ],
)  # fmt: skip
def test_bad_events_go_to_the_dead_letter_store_with_the_reason(
    desk: Desk, body: bytes, headers: dict[str, str], reason: str
) -> None:
    result = desk.service.receive_delivery("generic", body, headers)

    assert result.outcome is Outcome.DEAD_LETTER
    assert reason in result.message
    with desk.service.store.transaction(write=False) as tx:
        (letter,) = tx.dead_letters()
    assert reason in letter.reason
    assert letter.as_json()["state"] == "open"
    (audited,) = desk.audited("ticket.dead_lettered")
    assert audited.payload["dead_letter"] == letter.id
    assert "body" not in audited.payload


def test_a_payload_of_many_megabytes_is_refused_and_kept_only_in_part(desk: Desk) -> None:
    body = generic(1, "tom@example.com", "x", "y" * 3_000_000)
    result = desk.service.receive_delivery("generic", body, {})

    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == f"event is {len(body)} bytes; the limit is 1048576"
    assert result.dead_letter is not None
    with pytest.raises(TicketEventError, match="was kept only in part"):
        desk.service.replay_dead_letter(result.dead_letter)


def test_an_update_for_a_ticket_nobody_has_is_a_dead_letter(desk: Desk) -> None:
    body = generic(9, "tom@example.com", *RESET, kind="updated")
    result = desk.service.receive_delivery("generic", body, {})

    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == "ticket embedded:T-9 does not exist in the embedded desk"


def test_a_dead_letter_is_replayed_after_a_fix_and_the_intake_goes_on(desk: Desk) -> None:
    bad = json.dumps({"source": "nowhere", "event": {}}).encode()
    lines = [bad, b"", generic(1, "tom@example.com", *RESET)]
    results = desk.service.replay_lines(lines)
    assert [r.outcome for r in results] == [Outcome.DEAD_LETTER, Outcome.STARTED]
    letter = results[0].dead_letter
    assert letter is not None
    assert results[0].message == "source: unknown 'nowhere'"

    again = desk.service.replay_dead_letter(letter)
    assert again.outcome is Outcome.DEAD_LETTER
    with desk.service.store.transaction() as tx:  # the fix: the line is corrected
        tx.db.execute(
            "UPDATE dead_letters SET body = ? WHERE id = ?",
            (
                generic(
                    2, "tom@example.com", "Install 7-Zip", "I need 7-Zip installed on tom-laptop"
                ),
                letter,
            ),
        )
    fixed = desk.service.replay_dead_letter(letter)

    assert fixed.outcome is Outcome.STARTED
    with desk.service.store.transaction(write=False) as tx:
        assert tx.dead_letters() == []
        (replayed,) = tx.dead_letters(state=None)
    assert replayed.state == "replayed"
    assert replayed.attempts == 2
    assert desk.audited("ticket.dead_letter_replayed")[0].payload["outcome"] == "started"
    with pytest.raises(UnknownDeadLetterError, match=f"unknown dead letter {letter}"):
        desk.service.replay_dead_letter(letter)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ({"source": "servicenow"}, "event: required (an object) for a replayed event"),
        ({"source": "jira", "event": {"issue": {}}}, "webhookEvent: required (a string)"),
        ({"source": "jira", "event": {"webhookEvent": "jira:issue_created"}},
         "issue: required for jira:issue_created"),
        ({"source": "servicenow", "event": {"record": 5}}, "record: expected an object"),
        ({"source": "jira", "event": {"webhookEvent": "x", "issue": 5}},
         "issue: expected an object"),
        ({"source": "jira", "event": {"webhookEvent": "x", "issue": {"key": "IT-1", "fields": 5}}},
         "issue.fields: Value error, expected an object"),
    ],
)  # fmt: skip
def test_replayed_vendor_events_are_checked_like_delivered_ones(
    desk: Desk, line: dict[str, object], reason: str
) -> None:
    (result,) = desk.service.replay_lines([json.dumps(line).encode()])

    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == reason


def test_background_advance_leaves_the_run_to_the_worker(make_desk: MakeDesk) -> None:
    desk = make_desk(advance="background")
    install = ("Please install 7-Zip", "I need 7-Zip installed on tom-laptop")
    result = desk.service.receive_delivery("generic", generic(1, "tom@example.com", *install), {})

    assert result.outcome is Outcome.STARTED
    assert result.execution is not None
    assert result.execution.state is ExecutionState.QUEUED
    deadline = time.monotonic() + 30
    while not desk.executor.get(result.execution.id).state.finished:
        assert time.monotonic() < deadline, "the background run never finished"
        time.sleep(0.01)
    assert desk.service.follow_up() == 1
    assert desk.entries("embedded:T-1")[-1][0] == "resolve"


def test_a_generic_event_without_an_id_is_recognised_by_its_content(desk: Desk) -> None:
    line = json.dumps({"ticket": {"id": "T-1", "subject": "Hi"}}).encode()
    first, again = desk.service.replay_lines([line, line])

    assert first.outcome is Outcome.HUMANS
    assert again.outcome is Outcome.DUPLICATE
    with pytest.raises(UnknownTicketError, match="ticket embedded:T-2 does not exist"):
        desk.service.embedded.fetch("embedded:T-2")


def test_a_ticket_whose_key_was_used_for_another_request_is_already_handled(desk: Desk) -> None:
    desk.executor.start(
        "software-install", {"title": "visio", "device": "tom-laptop"}, actor="tom",
        idempotency_key="ticket:embedded:T-1",
    )  # fmt: skip
    body = generic(1, "tom@example.com", "Install 7-Zip", "I need 7-Zip installed on tom-pc")
    result = desk.service.receive_delivery("generic", body, {})

    assert result.outcome is Outcome.ALREADY_HANDLED
    assert result.message.endswith("already handled this ticket")


def test_without_advancing_the_workflow_is_only_started(make_desk: MakeDesk) -> None:
    desk = make_desk(advance="none")
    body = generic(
        1, "elena@example.com", "Account locked", "user: tom is locked out of his account"
    )
    result = desk.service.receive_delivery("generic", body, {})

    assert result.outcome is Outcome.STARTED
    assert result.execution is not None
    assert result.execution.state is ExecutionState.QUEUED
    assert result.decision is not None
    assert result.decision.route == "helpdesk-for-user"
    assert desk.entries("embedded:T-1") == []
    assert desk.service.follow_up() == 0


def test_a_service_without_an_audit_log_still_works(desk: Desk, tmp_path: Path) -> None:
    quiet = TicketService(
        store=TicketStore(tmp_path / "quiet.db"),
        router=desk.service.router,
        executor=desk.executor,
    )
    try:
        result = quiet.receive_delivery("generic", generic(1, "tom@example.com", "Hi"), {})
        assert result.outcome is Outcome.HUMANS
        assert quiet.flush_outbox().delivered == 1
        assert quiet.replay_lines([b"nope"])[0].outcome is Outcome.DEAD_LETTER
    finally:
        quiet.close()

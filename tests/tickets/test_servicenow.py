"""ServiceNow against a local server speaking the Table API: polling by watermark,
webhooks from business rules, write-back, rate limits and outages."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import httpx
import pytest

from gateway.errors import DirectoryUnavailableError
from gateway.tickets import HelpDeskUnavailableError, Outcome
from gateway.tickets.servicenow import ServiceNowDesk
from gateway.tickets.settings import ServiceNowSettings
from tests.tickets.conftest import Desk, MakeDesk
from tests.tickets.servicenow_server import TABLE, ServiceNowServer, incident

PASSWORD_ENV = "TICKETS_TEST_SN_PASSWORD"


@pytest.fixture
def server() -> Iterator[ServiceNowServer]:
    running = ServiceNowServer()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def sn_desk(make_desk: MakeDesk, server: ServiceNowServer, monkeypatch: pytest.MonkeyPatch) -> Desk:
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    return make_desk(
        "[tickets.servicenow]\n"
        f'instance_url = "{server.base_url}"\n'
        f'username = "{server.user}"\n'
        f'password_env = "{PASSWORD_ENV}"\n'
        "page_size = 2\n"
        "max_wait_seconds = 0\n"
    )


def _tom(
    seq: int, updated: str, subject: str, description: str = "", **fields: object
) -> dict[str, object]:
    caller = {"caller_id.user_name": "tom", "caller_id.email": "tom@example.com"}
    return incident(
        seq, updated, short_description=subject, description=description, **caller, **fields
    )


def test_polling_pages_through_changes_and_keeps_the_watermark(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    server.add(
        _tom(1, "2024-05-01 09:00:00", "Install 7-Zip", "I need 7-Zip installed on tom-laptop")
    )
    server.add(_tom(2, "2024-05-01 09:05:00", "Printer jammed"))
    server.add(_tom(3, "2024-05-01 09:10:00", "Question", "what is the wifi name?"))
    server.add(incident(4, "2024-05-01 09:20:00", active="false", state="7"))

    report = sn_desk.service.poll()

    assert report.errors == {}
    assert [r.outcome for r in report.results] == [Outcome.STARTED, Outcome.HUMANS, Outcome.HUMANS]
    assert report.watermarks == {"servicenow": "2024-05-01 09:10:00"}
    pages = [r.query for r in server.requests if r.method == "GET" and r.path == TABLE]
    assert [p["sysparm_offset"] for p in pages] == ["0", "2"]
    assert pages[0]["sysparm_query"] == "active=true^ORDERBYsys_updated_on^ORDERBYsys_id"
    assert pages[0]["sysparm_limit"] == "2"

    server.add(_tom(5, "2024-05-01 09:30:00", "Hello"))
    again = sn_desk.service.poll()
    query = [r.query for r in server.requests if r.path == TABLE][-1]["sysparm_query"]
    assert query.startswith("active=true^sys_updated_on>=2024-05-01 09:10:00^")
    assert [r.outcome for r in again.results] == [Outcome.DUPLICATE, Outcome.HUMANS]


def test_write_back_patches_standard_fields_only(sn_desk: Desk, server: ServiceNowServer) -> None:
    server.add(
        _tom(1, "2024-05-01 09:00:00", "Install 7-Zip", "I need 7-Zip installed on tom-laptop")
    )
    sn_desk.service.poll()
    sn_desk.service.follow_up()
    flushed = sn_desk.service.flush_outbox()

    assert flushed.as_json() == {"delivered": 3, "waiting": 0, "failed": 0}
    patches = [r.body for r in server.requests if r.method == "PATCH"]
    assert [sorted(body) for body in patches] == [
        ["comments"],
        ["comments"],
        ["close_code", "close_notes", "state"],
    ]
    assert patches[2]["state"] == "6"
    assert patches[2]["close_code"] == "Solution provided"
    record = server.records[f"{1:032x}"]
    assert record["state"] == "6"


def test_an_outage_leaves_the_watermark_and_loses_nothing(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    server.add(_tom(1, "2024-05-01 09:00:00", "Question"))
    server.fail(4)
    report = sn_desk.service.poll()

    assert "HTTP 500 after 4 attempts: Internal error: try later" in report.errors["servicenow"]
    assert report.results == []
    with sn_desk.service.store.transaction(write=False) as tx:
        assert tx.watermark("servicenow") is None
    assert [r.outcome for r in sn_desk.service.poll().results] == [Outcome.HUMANS]


def test_rate_limits_are_waited_out(sn_desk: Desk, server: ServiceNowServer) -> None:
    server.add(_tom(1, "2024-05-01 09:00:00", "Question"))
    server.rate_limit(2)

    assert [r.outcome for r in sn_desk.service.poll().results] == [Outcome.HUMANS]


def test_a_bad_record_is_dead_lettered_and_the_rest_goes_on(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    server.add(incident(1, "2024-05-01 09:00:00", number=""))
    server.add(_tom(2, "2024-05-01 09:01:00", "Question", urgency="high"))
    server.add(_tom(3, "2024-05-01 09:02:00", "Question"))
    report = sn_desk.service.poll()

    assert [r.outcome for r in report.results] == [
        Outcome.DEAD_LETTER, Outcome.DEAD_LETTER, Outcome.HUMANS
    ]  # fmt: skip
    assert report.results[0].message == "number: String should have at least 1 character"
    assert report.results[1].message == "urgency: expected 1 to 5, found 'high'"
    assert report.watermarks["servicenow"] == "2024-05-01 09:02:00"
    letter = report.results[1].dead_letter
    assert letter is not None
    assert sn_desk.service.replay_dead_letter(letter).outcome is Outcome.DEAD_LETTER
    server.records[f"{2:032x}"].update(urgency="2", sys_updated_on="2024-05-01 09:03:00")
    fixed = sn_desk.service.poll()  # fixed in the desk: a new change, polled again
    assert [r.outcome for r in fixed.results] == [Outcome.DUPLICATE, Outcome.HUMANS]


def test_a_business_rule_webhook_is_checked_against_the_table(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    record = server.add(_tom(1, "2024-05-01 09:00:00", "Question", cmdb_ci="tom-laptop"))
    body = json.dumps({"table": "incident", "operation": "insert", "record": record}).encode()
    result = sn_desk.service.receive_delivery("servicenow", body, {})
    assert result.outcome is Outcome.HUMANS

    ghost = json.dumps({"record": _tom(9, "2024-05-01 09:00:00", "Hi")}).encode()
    missing = sn_desk.service.receive_delivery("servicenow", ghost, {})
    assert missing.outcome is Outcome.DEAD_LETTER
    assert missing.message == f"ticket {9:032x} does not exist in ServiceNow"


def test_a_help_desk_that_is_down_during_a_webhook_raises_for_a_later_retry(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    record = server.add(_tom(1, "2024-05-01 09:00:00", "Question"))
    server.rate_limit(4, retry_after="7")
    with pytest.raises(HelpDeskUnavailableError) as raised:
        sn_desk.service.receive_delivery("servicenow", json.dumps(record).encode(), {})
    assert raised.value.retry_after == 7.0


def test_a_retry_after_date_is_carried_by_the_unavailable_error(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    record = server.add(_tom(1, "2024-05-01 09:00:00", "Question"))
    server.rate_limit(4, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    with pytest.raises(HelpDeskUnavailableError) as raised:
        sn_desk.service.receive_delivery("servicenow", json.dumps(record).encode(), {})
    assert raised.value.retry_after == 0.0  # a moment already past: try again now
    assert "rate limited (HTTP 429) after 4 attempts" in str(raised.value)


def test_write_backs_wait_in_the_outbox_while_the_desk_is_down(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    server.add(_tom(1, "2024-05-01 09:00:00", "Question"))
    sn_desk.service.poll()
    server.fail(4, status=503)
    first = sn_desk.service.flush_outbox()
    assert first.as_json() == {"delivered": 0, "waiting": 1, "failed": 0}
    with sn_desk.service.store.transaction(write=False) as tx:
        (item,) = tx.outbox()
    assert item.state == "pending"
    assert item.attempts == 1
    assert "HTTP 503 after 4 attempts" in str(item.last_error)
    with sn_desk.service.store.transaction() as tx:
        tx.db.execute("UPDATE outbox SET next_at = '2000-01-01T00:00:00.000000Z'")
    assert sn_desk.service.flush_outbox().delivered == 1


def test_refusals_are_not_retried(sn_desk: Desk, server: ServiceNowServer) -> None:
    server.add(_tom(1, "2024-05-01 09:00:00", "Question"))
    sn_desk.service.poll()
    server.fail(1, status=403)

    assert sn_desk.service.flush_outbox().failed == 1
    (failed,) = sn_desk.audited("ticket.writeback_failed")
    assert failed.payload["error"].endswith("HTTP 403: Internal error: try later")


def test_a_desk_answer_that_is_not_the_table_api_is_refused(server: ServiceNowServer) -> None:
    settings = ServiceNowSettings(
        instance_url=server.base_url, username=server.user, password="wrong"
    )
    desk = ServiceNowDesk(settings)
    try:
        with pytest.raises(Exception, match="HTTP 401: User Not Authenticated: Required"):
            desk.changes(None)
        assert "wrong" not in repr(desk)
    finally:
        desk.close()


def test_a_directory_outage_stops_the_round_without_moving_the_watermark(
    sn_desk: Desk, server: ServiceNowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add(_tom(1, "2024-05-01 09:00:00", "I forgot my password", "reset it please"))

    def down(**_: object) -> list[object]:
        raise DirectoryUnavailableError("directory is unavailable: outage")

    with monkeypatch.context() as patch:
        patch.setattr(sn_desk.gateway.directory, "find_users", down)
        report = sn_desk.service.poll()
    assert report.errors == {
        "servicenow": "stopped at servicenow:INC0000001: directory is unavailable: outage"
    }
    assert report.watermarks == {"servicenow": None}
    assert [r.outcome for r in sn_desk.service.poll().results] == [Outcome.STARTED]


@pytest.fixture
def long_integers() -> Iterator[None]:
    """Let the local server write integers longer than Python reads by default."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    yield
    sys.set_int_max_str_digits(before)


def test_a_polled_record_with_a_long_integer_is_dead_lettered_and_the_round_goes_on(
    sn_desk: Desk, server: ServiceNowServer, long_integers: None
) -> None:
    server.add(_tom(1, "2024-05-01 09:00:00", "Printer jammed"))
    server.add(_tom(2, "2024-05-01 09:05:00", "Hello", urgency=int("7" * 5000)))
    server.add(_tom(3, "2024-05-01 09:10:00", "Question", "what is the wifi name?"))

    report = sn_desk.service.poll()

    assert report.errors == {}
    assert [r.outcome for r in report.results] == [
        Outcome.DEAD_LETTER, Outcome.HUMANS, Outcome.HUMANS,
    ]  # fmt: skip
    assert report.results[0].message == (
        "urgency: an integer of 5000 digits; at most 4300 are read"
    )
    assert report.watermarks == {"servicenow": "2024-05-01 09:10:00"}
    with sn_desk.service.store.transaction(write=False) as tx:
        (letter,) = tx.dead_letters()
    assert b'"urgency": "<an integer of 5000 digits>"' in letter.body


def test_a_webhook_whose_record_reads_back_with_a_long_integer_is_dead_lettered(
    sn_desk: Desk, server: ServiceNowServer, long_integers: None
) -> None:
    record = server.add(_tom(1, "2024-05-01 09:00:00", "Hello", impact=int("3" * 4301)))
    body = json.dumps({"table": "incident", "record": {**record, "impact": "3"}}).encode()

    result = sn_desk.service.receive_delivery("servicenow", body, {})

    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == "impact: an integer of 4301 digits; at most 4300 are read"


def test_error_answers_that_cannot_be_read_are_described_as_such() -> None:
    from gateway.http.servicenow_errors import servicenow_error_text as servicenow_error
    from gateway.tickets.jira import describe_error as jira_error

    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"error": ' + b"9" * 5000 + b"}"):
        answer = httpx.Response(400, content=body)
        assert servicenow_error(answer) == "no error details"
        assert jira_error(answer) == "no error details"

"""Help desks that answer oddly: not JSON, no result, unreadable Retry-After, limits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.tickets import HelpDeskError, HelpDeskUnavailableError, UnknownTicketError
from gateway.tickets.jira import JiraDesk
from gateway.tickets.servicenow import ServiceNowDesk
from gateway.tickets.settings import JiraSettings, ServiceNowSettings
from gateway.tickets.writeback import WriteBack, WriteBackKind
from tests.tickets.jira_server import issue
from tests.tickets.servicenow_server import incident


def _answers(*answers: tuple[int, Any, dict[str, str]]) -> httpx.MockTransport:
    queue = list(answers)

    def reply(request: httpx.Request) -> httpx.Response:
        status, body, headers = queue.pop(0) if len(queue) > 1 else queue[0]
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=headers)

    return httpx.MockTransport(reply)


def _sn(*answers: tuple[int, Any, dict[str, str]], **settings: Any) -> ServiceNowDesk:
    values = {"instance_url": "https://x.example", "username": "u", "password": "p"}
    return ServiceNowDesk(
        ServiceNowSettings.model_validate(values | settings),
        transport=_answers(*answers),
        sleep=lambda _: None,
    )


def _jira(*answers: tuple[int, Any, dict[str, str]], **settings: Any) -> JiraDesk:
    values = {"base_url": "https://x.example", "email": "e", "api_token": "t",
              "edition": "datacenter", "request_types": False}  # fmt: skip
    return JiraDesk(JiraSettings.model_validate(values | settings), transport=_answers(*answers))


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ((200, b"oops", {}), HelpDeskError, "ServiceNow: answer is not JSON"),
        ((200, {"result": 5}, {}), HelpDeskError, "ServiceNow: answer has no result list"),
        ((400, b"<html>", {}), HelpDeskError, "HTTP 400: no error details"),
        ((429, {}, {"Retry-After": "soon"}), HelpDeskUnavailableError,
         "rate limited (HTTP 429) after 4 attempts"),
    ],
)  # fmt: skip
def test_servicenow_answers_that_are_not_the_table_api(
    answer: tuple[int, Any, dict[str, str]], error: type[Exception], message: str
) -> None:
    desk = _sn(answer)
    try:
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
            desk.changes(None)
    finally:
        desk.close()


def test_servicenow_polling_stops_at_max_records_and_skips_non_objects() -> None:
    page = {"result": [5, incident(1, "2024-05-01 09:00:00")]}
    desk = _sn((200, page, {}), page_size=2, max_records=2)
    try:
        batch = desk.changes(None)
    finally:
        desk.close()

    assert [event.ticket.number for event in batch.events] == ["INC0000001"]
    assert [rejected.reason for rejected in batch.rejected] == ["record: expected an object"]


def test_servicenow_reads_references_and_refuses_empty_answers() -> None:
    record = incident(
        1, "2024-05-01 09:00:00", caller_id="", cmdb_ci={"value": "abc", "display_value": "pc-7"}
    )
    desk = _sn((200, {"result": record}, {}), (200, {"result": []}, {}), (404, {}, {}))
    try:
        assert desk.fetch("x").fields == {"cmdb_ci": "pc-7", "cmdb_ci_sys_id": "abc"}
        with pytest.raises(HelpDeskError, match="ServiceNow: answer has no record"):
            desk.fetch("x")
        item = WriteBack("servicenow:INC1", "servicenow", "x", WriteBackKind.WORK_NOTE, "hi")
        with pytest.raises(UnknownTicketError, match="ticket servicenow:INC1 does not exist"):
            desk.deliver(item)
    finally:
        desk.close()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((200, {"total": 1}, {}), "Jira: search answer has no issues list"),
        ((500, b"down", {}), "HTTP 500 after 1 attempts: no error details"),
    ],
)
def test_jira_answers_that_are_not_a_search(
    answer: tuple[int, Any, dict[str, str]], message: str
) -> None:
    desk = _jira(answer, max_retries=0)
    try:
        with pytest.raises(HelpDeskError if answer[0] < 500 else HelpDeskUnavailableError,
                           match=message):  # fmt: skip
            desk.changes(None)
    finally:
        desk.close()


def test_jira_polling_stops_at_max_records() -> None:
    found = [issue(f"IT-{n}", "2024-05-01T09:00:00.000+0000", "x") for n in (1, 2)]
    desk = _jira((200, {"total": 9, "issues": found}, {}), page_size=2, max_records=2)
    try:
        assert len(desk.changes(None).events) == 2
    finally:
        desk.close()


def test_a_description_in_document_format_is_read_as_text() -> None:
    deep: dict[str, Any] = {"type": "text", "text": "deep"}
    for _ in range(60):
        deep = {"type": "paragraph", "content": [deep]}
    doc = {"type": "doc", "content": ["stray", {"type": "paragraph", "content": [
        {"type": "text", "text": "VPN fails"}]}, deep]}  # fmt: skip
    desk = _jira((200, issue("IT-1", "2024-05-01T09:00:00.000+0000", "x", description=doc), {}))
    try:
        assert desk.fetch("IT-1").description == "VPN fails"
    finally:
        desk.close()

"""ServiceNow records as the Table API really sends them: pages of records, references
(``{"link", "value"}``) without dot-walked fields, the incident fields kept for triggers,
and configuration items and asset tags as devices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.tickets import Outcome
from gateway.tickets.model import Ticket, TicketId
from gateway.tickets.servicenow import ServiceNowDesk
from gateway.tickets.servicenow_records import servicenow_ticket
from gateway.tickets.servicenow_refs import ReferenceCache, ServiceNowReferences, unresolvable
from gateway.tickets.settings import ServiceNowSettings
from tests.tickets.conftest import REPO, Desk, MakeDesk
from tests.tickets.servicenow_server import ServiceNowServer

PASSWORD_ENV = "TICKETS_TEST_SN_REFS_PASSWORD"
TOM = "46c6f9efa9fe198101ddf5eed9adf6e7"
GHOST = "0123456789abcdef0123456789abcdef"
DESK_GROUP = "8a4dde73c6112278017a6a4baf547aa7"
TOM_LAPTOP_CI = "a9c0c8d2c6112276018f7705562f9cb0"


@pytest.fixture
def server() -> Iterator[ServiceNowServer]:
    running = ServiceNowServer()
    running.start()
    running.add_user(TOM, "tom", "tom@example.com", "Tom Becker")
    running.add_group(DESK_GROUP, "Service Desk")
    running.add_ci(TOM_LAPTOP_CI, "TOM-LT-01", asset_tag="FIN-0101")
    yield running
    running.stop()


def _settings(server: ServiceNowServer, extra: str = "") -> str:
    catalog = json.dumps(str(REPO / "automations" / "catalog"))
    return (
        "[tickets.servicenow]\n"
        f'instance_url = "{server.base_url}"\n'
        f'username = "{server.user}"\n'
        f'password_env = "{PASSWORD_ENV}"\n'
        "max_wait_seconds = 0\n"
        f"{extra}"
        f"[selfservice]\ncatalog = {catalog}\n"
    )


@pytest.fixture
def sn_desk(make_desk: MakeDesk, server: ServiceNowServer, monkeypatch: pytest.MonkeyPatch) -> Desk:
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    return make_desk(_settings(server))


def record(
    server: ServiceNowServer, seq: int, subject: str, description: str = "", **fields: Any
) -> dict[str, Any]:
    """An incident as ``GET /api/now/table/incident`` returns it by default: every value a
    string, references as ``{"link", "value"}``, no dot-walked fields."""
    body: dict[str, Any] = {
        "sys_id": f"{seq:032x}",
        "number": f"INC{seq:07d}",
        "short_description": subject,
        "description": description,
        "caller_id": server.reference("sys_user", TOM),
        "opened_by": server.reference("sys_user", TOM),
        "assigned_to": "",
        "assignment_group": server.reference("sys_user_group", DESK_GROUP),
        "cmdb_ci": "",
        "category": "inquiry",
        "subcategory": "",
        "contact_type": "self-service",
        "urgency": "3",
        "impact": "3",
        "priority": "5",
        "state": "1",
        "active": "true",
        "opened_at": "2024-05-01 08:59:00",
        "sys_updated_on": "2024-05-01 09:00:00",
        "sys_class_name": "incident",
    }
    body.update(fields)
    return body


def _replay(desk: Desk, *lines: dict[str, Any]) -> list[Any]:
    return desk.service.replay_lines([json.dumps(line).encode() for line in lines])


def test_a_webhook_record_with_only_references_verifies_the_requester_and_runs_the_workflow(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    incident = server.add(
        record(
            server, 1, "Install 7-Zip", "Please install 7-Zip on my laptop.",
            category="software", cmdb_ci=server.reference("cmdb_ci", TOM_LAPTOP_CI),
        )
    )  # fmt: skip
    body = json.dumps({"table": "incident", "operation": "insert", "record": incident}).encode()

    result = sn_desk.service.receive_delivery("servicenow", body, {})

    assert result.outcome is Outcome.STARTED, result.message
    assert result.decision is not None
    assert result.decision.actor == "tom"
    assert result.decision.parameters == {"title": "7zip", "device": "tom-laptop"}
    assert "requester verified as tom" in result.decision.explanation


def test_a_replayed_table_api_page_resolves_each_reference_once(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    page = {
        "result": [
            record(server, 1, "Question", "what is the wifi name?"),
            record(server, 2, "Printer jammed", opened_by=server.reference("sys_user", GHOST)),
            record(server, 3, "I forgot my password", "please reset it"),
        ]
    }

    results = _replay(sn_desk, {"source": "servicenow", "event": page})

    assert [(r.line, r.outcome) for r in results] == [
        (1, Outcome.HUMANS), (1, Outcome.HUMANS), (1, Outcome.STARTED),
    ]  # fmt: skip
    assert server.lookups("sys_user") == [TOM, GHOST]
    assert server.lookups("sys_user_group") == [DESK_GROUP]
    started = results[2].decision
    assert started is not None
    assert started.actor == "tom"
    ticket = started.scope["ticket"]
    assert ticket["fields"] == {
        "caller_id_sys_id": TOM,
        "opened_by_sys_id": TOM,
        "opened_by": "tom",
        "assignment_group_sys_id": DESK_GROUP,
        "assignment_group": "Service Desk",
        "contact_type": "self-service",
        "opened_at": "2024-05-01 08:59:00",
    }


def test_a_bare_table_api_page_is_replayed_too(sn_desk: Desk, server: ServiceNowServer) -> None:
    (result,) = _replay(sn_desk, {"result": [record(server, 1, "Question")]})
    assert (result.line, result.outcome) == (1, Outcome.HUMANS)


def test_a_reference_to_nothing_goes_to_people_with_the_reason(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    lost = record(server, 1, "I forgot my password", caller_id=server.reference("sys_user", GHOST))

    (result,) = _replay(sn_desk, {"source": "servicenow", "event": lost})

    assert result.outcome is Outcome.HUMANS
    reason = (
        f"the requester could not be verified: caller_id refers to sys_user {GHOST}, which "
        "ServiceNow does not have (or does not show to the gateway's account)"
    )
    assert result.message == f"Left for a person: {reason}."
    assert sn_desk.entries("servicenow:INC0000001") == []  # the note goes to ServiceNow
    (note,) = [r.body for r in server.requests if r.method == "PATCH"]
    assert reason in note["work_notes"]


def test_a_user_without_user_name_or_email_is_not_guessed(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    server.add_user(GHOST, "", "", "Tom Becker")
    lost = record(server, 1, "I forgot my password", caller_id=GHOST)  # a bare sys_id

    (result,) = _replay(sn_desk, {"source": "servicenow", "event": lost})

    assert result.outcome is Outcome.HUMANS
    assert f"sys_user {GHOST} has neither a user_name nor an email" in result.message


def test_without_a_servicenow_instance_a_reference_leaves_the_requester_unverified(
    desk: Desk,
) -> None:
    alone = {
        "sys_id": "1" * 32, "number": "INC0000001", "short_description": "I forgot my password",
        "caller_id": {"link": "https://x.service-now.com/api/now/table/sys_user/" + TOM,
                      "value": TOM},
        "sys_updated_on": "2024-05-01 09:00:00",
    }  # fmt: skip

    event = {"table": "incident", "operation": "insert", "record": alone}
    (result,) = _replay(desk, {"source": "servicenow", "event": event})

    assert result.outcome is Outcome.HUMANS
    assert "caller_id is only a reference (sys_user " + TOM in result.message
    assert "no ServiceNow instance is set up to look it up" in result.message


def test_the_cache_limits_look_ups_to_one_per_reference_per_ttl(
    make_desk: MakeDesk, server: ServiceNowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    desk = make_desk(_settings(server, "reference_ttl_seconds = 0\n"))
    page = {"result": [record(server, n, "Question") for n in range(1, 4)]}
    _replay(desk, {"source": "servicenow", "event": page})
    assert server.lookups("sys_user") == [TOM] * 6  # opened_by and caller; a TTL of 0 keeps nothing

    server.requests.clear()
    cached = make_desk(_settings(server))
    page = {"result": [record(server, n, "Question") for n in range(1, 40)]}
    _replay(cached, {"source": "servicenow", "event": page})
    assert server.lookups("sys_user") == [TOM]
    assert server.lookups("sys_user_group") == [DESK_GROUP]


def test_the_reference_cache_is_bounded_and_expires() -> None:
    now = [0.0]
    cache = ReferenceCache(10.0, 2, clock=lambda: now[0])
    cache.put(("sys_user", "a"), {"user_name": "a"})
    cache.put(("sys_user", "b"), None)
    assert cache.get(("sys_user", "a")) == (True, {"user_name": "a"})
    cache.put(("sys_user", "c"), {"user_name": "c"})  # "b" is the oldest used: dropped
    assert len(cache) == 2
    assert cache.get(("sys_user", "b")) == (False, None)
    now[0] = 10.0
    assert cache.get(("sys_user", "c")) == (False, None)
    assert len(cache) == 1


def test_pages_with_missing_fields_dead_letter_each_bad_record_and_go_on(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    good = record(server, 3, "Question")
    missing = record(server, 2, "Question")
    del missing["sys_updated_on"]
    page = {"result": [{"number": "INC0000001"}, missing, good, "nonsense"]}

    results = _replay(sn_desk, {"source": "servicenow", "event": page})

    assert [r.outcome for r in results] == [
        Outcome.DEAD_LETTER, Outcome.DEAD_LETTER, Outcome.HUMANS, Outcome.DEAD_LETTER,
    ]  # fmt: skip
    assert results[0].message == "result[0]: sys_id: Field required; sys_updated_on: Field required"
    assert results[1].message == "result[1]: sys_updated_on: Field required"
    assert results[3].message == "result[3]: expected a JSON object, found str"
    with sn_desk.service.store.transaction(write=False) as tx:
        letters = tx.dead_letters()
    assert [letter.reason for letter in letters] == [r.message for r in results if r.dead_letter]
    replayable = json.loads(letters[1].body)
    assert replayable == {"source": "servicenow", "event": missing}
    (dead,) = sn_desk.audited("ticket.dead_lettered")[1:2]
    assert dead.payload["reason"] == "result[1]: sys_updated_on: Field required"


def test_a_result_that_is_not_records_is_refused_whole(sn_desk: Desk) -> None:
    body = json.dumps({"result": "INC0000001"}).encode()
    result = sn_desk.service.receive_delivery("servicenow", body, {})
    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == "result: expected a list of records or one record, found str"


def test_a_webhook_page_answers_for_each_record(sn_desk: Desk, server: ServiceNowServer) -> None:
    first = server.add(record(server, 1, "Question"))
    page = {"result": [first, record(server, 2, "Printer jammed", number="")]}

    result = sn_desk.service.receive_delivery("servicenow", json.dumps(page).encode(), {})

    assert result.outcome is Outcome.PAGE
    assert result.message == "a page of 2 records: 1 dead_letter, 1 humans"
    assert [r.outcome for r in result.records] == [Outcome.HUMANS, Outcome.DEAD_LETTER]
    assert result.records[1].message == (
        "result[1]: number: String should have at least 1 character"
    )
    assert result.as_json()["records"][0]["ticket"] == "servicenow:INC0000001"


def test_a_single_record_answer_is_one_event(sn_desk: Desk, server: ServiceNowServer) -> None:
    one = server.add(record(server, 1, "Question"))
    body = json.dumps({"result": one}).encode()
    result = sn_desk.service.receive_delivery("servicenow", body, {})
    assert result.outcome is Outcome.HUMANS
    assert result.records == ()


def test_incident_fields_are_kept_for_trigger_conditions(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    server.add(
        record(
            server, 1, "I forgot my password", "please reset it", subcategory="email",
            contact_type="phone", assigned_to=server.reference("sys_user", TOM),
            cmdb_ci=server.reference("cmdb_ci", TOM_LAPTOP_CI),
        )
    )  # fmt: skip

    report = sn_desk.service.poll()

    (result,) = report.results
    assert result.decision is not None
    fields = result.decision.scope["ticket"]["fields"]
    assert (fields["subcategory"], fields["contact_type"]) == ("email", "phone")
    assert fields["opened_at"] == "2024-05-01 08:59:00"
    assert (fields["cmdb_ci"], fields["cmdb_ci_asset_tag"]) == ("TOM-LT-01", "FIN-0101")
    assert fields["assigned_to"] == "tom"
    extracted = result.decision.scope["extracted"]
    assert extracted["asset_tags"] == ["FIN-0101"]
    assert extracted["device"] == "tom-laptop"
    # dot-walked in the polling query: no look-up was needed for caller or CI
    assert server.lookups("sys_user") == []
    assert server.lookups("cmdb_ci") == []


def test_an_asset_tag_in_the_text_names_the_device(sn_desk: Desk, server: ServiceNowServer) -> None:
    server.add(
        record(server, 1, "Install 7-Zip", "Please install 7-Zip on FIN-0102.", category="software")
    )
    (result,) = sn_desk.service.poll().results
    assert result.outcome is Outcome.STARTED, result.message
    assert result.decision is not None
    assert result.decision.parameters == {"title": "7zip", "device": "tom-desktop"}


def test_an_unknown_asset_tag_is_not_a_device(sn_desk: Desk, server: ServiceNowServer) -> None:
    server.add(
        record(server, 1, "Install 7-Zip", "Please install 7-Zip on LT-0452.", category="software")
    )
    (result,) = sn_desk.service.poll().results
    assert result.outcome is Outcome.HUMANS
    assert "does not say which device 7zip goes on" in result.message


def test_a_help_desk_that_is_down_during_a_look_up_keeps_the_watermark(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    desk = sn_desk.service.desks["servicenow"]
    assert isinstance(desk, ServiceNowDesk)
    server.add(record(server, 1, "Question", opened_by=server.reference("sys_user", GHOST)))
    server.add(record(server, 2, "Question", sys_updated_on="2024-05-01 09:05:00"))
    original = server.handle

    def down_for_users(method: str, path: str, *rest: Any) -> Any:
        if "/sys_user/" in path:
            return 503, {"error": {"message": "Down", "detail": ""}}, {}
        return original(method, path, *rest)

    server.handle = down_for_users  # type: ignore[method-assign]
    report = sn_desk.service.poll()
    assert "HTTP 503" in report.errors["servicenow"]
    assert report.watermarks == {"servicenow": None}
    server.handle = original  # type: ignore[method-assign]
    assert [r.outcome for r in sn_desk.service.poll().results] == [Outcome.HUMANS] * 2
    assert server.lookups("sys_user") == [GHOST] * 5  # 4 attempts, not cached; asked again
    assert desk.references.lookups == 2


def test_a_closed_ticket_or_a_known_requester_needs_no_look_up() -> None:
    references = ServiceNowReferences(None, ReferenceCache(60, 10))  # type: ignore[arg-type]
    fields = {"caller_id_sys_id": TOM, "opened_by_sys_id": GHOST}
    closed = Ticket("servicenow", TicketId("1" * 32), "INC1", "Hi", closed=True, fields=fields)
    known = Ticket("servicenow", TicketId("1" * 32), "INC1", "Hi", requester_username="tom",
                   fields=fields)  # fmt: skip
    assert references.complete(closed) is closed
    assert unresolvable(known) is known
    assert references.lookups == 0


def test_a_replayed_configuration_item_is_read_and_becomes_the_device(
    sn_desk: Desk, server: ServiceNowServer
) -> None:
    asks = {"category": "software", "description": "Please install 7-Zip on my laptop."}
    known = record(server, 1, "Install 7-Zip", **asks,
                   cmdb_ci=server.reference("cmdb_ci", TOM_LAPTOP_CI))  # fmt: skip
    unknown = record(server, 2, "Install 7-Zip", **asks, cmdb_ci=GHOST)
    event = {"source": "servicenow", "event": {"result": [known, unknown]}}

    first, second = _replay(sn_desk, event)

    assert first.outcome is Outcome.STARTED, first.message
    assert first.decision is not None
    assert first.decision.parameters == {"title": "7zip", "device": "tom-laptop"}
    assert second.outcome is Outcome.HUMANS
    assert "does not say which device" in second.message
    assert server.lookups("cmdb_ci") == [TOM_LAPTOP_CI, GHOST]


def test_an_empty_answer_for_a_reference_is_no_record() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": {}})

    settings = ServiceNowSettings(instance_url="https://x.example", username="u", password="p")
    desk = ServiceNowDesk(settings, transport=httpx.MockTransport(reply))
    try:
        plain = {"sys_id": "1" * 32, "number": "INC1", "sys_updated_on": "2024-05-01 09:00:00"}
        ticket = desk.references.complete(servicenow_ticket(plain | {"caller_id": TOM}))
    finally:
        desk.close()
    assert ticket.requester_unverified.startswith(f"caller_id refers to sys_user {TOM}, which")


PHONE_TRIGGER = """
id: phoned-mail
title: Mail problems phoned in
min_confidence: 0.5
target: requester
signals:
  - {field: subcategory, equals: [email], weight: 1.0}
routes:
  - id: by-phone
    when: "has(ticket.fields.contact_type) && ticket.fields.contact_type == 'phone'"
    humans:
      queue: mail-team
      note: "Phoned in: {{ ticket.fields.subcategory }} since {{ ticket.fields.opened_at }}."
  - id: other
    humans: {note: "Not phoned in."}
"""


def test_trigger_conditions_read_the_incident_fields(
    make_desk: MakeDesk, server: ServiceNowServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    folder = tmp_path / "triggers"
    folder.mkdir()
    (folder / "phoned-mail.yaml").write_text(PHONE_TRIGGER, encoding="utf-8")
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    desk = make_desk(_settings(server), triggers=folder)
    phoned = record(server, 1, "Mail is broken", subcategory="email", contact_type="phone")
    typed = record(server, 2, "Mail is broken", subcategory="email", contact_type="email")

    first, second = _replay(desk, {"result": [phoned, typed]})

    assert first.message == "Phoned in: email since 2024-05-01 08:59:00."
    assert first.decision is not None
    assert first.decision.queue == "mail-team"
    assert second.message == "Not phoned in."


def test_a_page_inside_a_page_is_a_bad_record_not_a_page(sn_desk: Desk) -> None:
    nested: dict[str, Any] = {"result": [{"result": []}]}
    for _ in range(400):
        nested = {"result": [nested]}

    result = sn_desk.service.receive_delivery("servicenow", json.dumps(nested).encode(), {})

    assert result.outcome is Outcome.PAGE
    (inner,) = result.records
    assert inner.outcome is Outcome.DEAD_LETTER
    assert inner.message.startswith("result[0]: sys_id: Field required")


def test_a_body_that_is_not_an_object_is_refused_as_before(sn_desk: Desk) -> None:
    result = sn_desk.service.receive_delivery("servicenow", b"[]", {})
    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == "expected a JSON object, found list"

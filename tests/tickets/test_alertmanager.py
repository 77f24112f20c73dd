"""Alertmanager webhooks as a trigger source, over HTTP.

The payloads follow the Prometheus documentation, "Alertmanager configuration",
``<webhook_config>`` (prometheus.io/docs/alerting/latest/configuration/#webhook_config):
``version`` "4", ``groupKey``, ``truncatedAlerts``, ``status``, ``receiver``,
``groupLabels``, ``commonLabels``, ``commonAnnotations``, ``externalURL`` and ``alerts[]``
with ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``generatorURL``
and ``fingerprint``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.api import DEFAULT_ROUTERS
from gateway.api.routes import tickets as ticket_routes
from gateway.app import open_runtime, open_ticket_service
from gateway.callers import scopes
from gateway.runtime.executor import Executor
from gateway.tickets import TicketService
from gateway.tickets.intake_limits import IntakeLimits
from gateway.tickets.store import DeadLetter
from tests.api.conftest import Api, build_api
from tests.tickets.conftest import REPO, TRIGGERS

ROUTE = "/v1/tickets/alertmanager"
MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeApi]:
    monkeypatch.setitem(scopes.SCOPES, scopes.TICKETS_WRITE, "deliver ticket events")
    made: list[tuple[Api, Executor, TicketService]] = []

    def make(
        *,
        tickets: str = "",
        alertmanager: str = "[tickets.alertmanager]",
        triggers: Path = TRIGGERS,
    ) -> Api:
        extra = "\n".join(
            [
                "[runtime]",
                f"workflows = {json.dumps(str(REPO / 'automations' / 'workflows'))}",
                "[tickets]",
                f"triggers = {json.dumps(str(triggers))}",
                tickets,
                alertmanager,
            ]
        )
        folder = tmp_path / f"api-{len(made)}"
        folder.mkdir()
        api = build_api(folder, extra, routers=[*DEFAULT_ROUTERS, ticket_routes.router])
        executor = open_runtime(api.config, api.gateway)
        service = open_ticket_service(api.config, api.gateway, executor)
        api.services.tickets = service
        made.append((api, executor, service))
        return api

    yield make
    for api, executor, service in made:
        service.close()
        executor.close()
        api.close()


def alert(
    fingerprint: str = "1a30ba71cca2921f",
    status: str = "firing",
    name: str = "TargetDown",
    **labels: str,
) -> dict[str, Any]:
    labels = {"alertname": name, "instance": "printer-3f", "severity": "critical", **labels}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": f"{labels['instance']} does not answer"},
        "startsAt": "2026-12-07T01:08:45.828Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-07T01:20:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=up+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any], **overrides: Any) -> bytes:
    first = alerts[0] if alerts else alert()
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="TargetDown"}',
        "truncatedAlerts": 0,
        "status": first["status"],
        "receiver": "gateway",
        "groupLabels": {"alertname": "TargetDown"},
        "commonLabels": first["labels"],
        "commonAnnotations": first["annotations"],
        "externalURL": "http://alertmanager.example.org:9093",
        "alerts": list(alerts),
    } | overrides
    return json.dumps(body).encode()


def post(api: Api, body: bytes) -> Any:
    headers = api.as_service(scopes.TICKETS_WRITE) | {"Content-Type": "application/json"}
    return api.client.post(ROUTE, content=body, headers=headers)


def tickets(api: Api) -> TicketService:
    service = api.services.tickets
    assert service is not None
    return service


def dead_letters(api: Api) -> list[DeadLetter]:
    service = tickets(api)
    with service.store.transaction(write=False) as tx:
        return tx.dead_letters(state=None)


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    return make_api()


def test_a_firing_alert_starts_the_routed_workflow_once_and_its_resolution_is_recorded(
    api: Api,
) -> None:
    first = post(api, notification(alert()))
    repeated = post(api, notification(alert()))
    resolved = post(api, notification(alert(status="resolved")))

    assert first.status_code == 202, first.text
    started = first.json()["alerts"][0]
    assert started["outcome"] == "started"
    assert started["execution_state"] == "succeeded"
    assert started["decision"]["trigger"] == "target-down"
    assert started["decision"]["workflow"] == "alert-notify"
    assert started["decision"]["actor"] == "svc-gateway"
    assert started["decision"]["parameters"]["instance"] == "printer-3f"
    assert repeated.json()["alerts"][0]["outcome"] == "duplicate"
    assert resolved.json()["alerts"][0]["outcome"] == "already_handled"
    executions = api.audited("execution.started")
    assert [r.payload["workflow"] for r in executions] == ["alert-notify"]
    routed = api.audited("ticket.routed")
    assert routed[0].actor == "svc-gateway"
    assert routed[0].resource == "ticket:alertmanager:1a30ba71cca2921f-20261207T010845Z"
    received = [r.payload for r in api.audited("alert.received")]
    assert [p["outcomes"] for p in received] == [
        {"started": 1}, {"duplicate": 1}, {"already_handled": 1}
    ]  # fmt: skip
    assert received[2]["status"] == "resolved"


def test_alert_triggers_see_only_alerts_and_an_alert_without_instance_goes_to_people(
    api: Api,
) -> None:
    unknown = post(api, notification(alert(name="DiskFull")))
    no_instance = alert(fingerprint="b2")
    del no_instance["labels"]["instance"]
    to_people = post(api, notification(no_instance))
    worded = post(api, notification(alert(fingerprint="c3", name="password reset")))

    assert unknown.json()["alerts"][0]["outcome"] == "humans"
    assert to_people.json()["alerts"][0]["outcome"] == "humans"
    assert to_people.json()["alerts"][0]["decision"]["queue"] == "operations"
    # an alert is never read as a help desk ticket, whatever it says
    assert worded.json()["alerts"][0]["decision"]["trigger"] is None
    assert api.audited("execution.started") == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (notification(alert(), version="5"), "version: expected '4', found '5'"),
        (notification(alert(), version=None), "version: expected '4', found 'None'"),
        (notification(), "alerts: List should have at least 1 item"),
        (notification({**alert(), "fingerprint": None}), "alerts.0.fingerprint:"),
        (notification({k: v for k, v in alert().items() if k != "startsAt"}),
         "alerts.0.startsAt: Field required"),
        (notification({**alert(), "startsAt": "2026-12-07T01:08:45"}),
         "alerts.0.startsAt: Value error, expected an RFC 3339 time with its offset"),
        (notification({**alert(), "labels": {"instance": "x"}}),
         "alerts.0.labels: Value error, alertname: required"),
        (notification(alert(), groupKey=""), "groupKey: String should have at least 1"),
        (b"[1, 2]", "expected a JSON object, found list"),
    ],
    ids=[
        "an unknown version",
        "no version",
        "no alerts",
        "an alert without a fingerprint",
        "an alert without startsAt",
        "a start without its offset",
        "an alert without alertname",
        "an empty group key",
        "not an object",
    ],
)  # fmt: skip
def test_a_notification_that_cannot_be_read_is_dead_lettered_and_runs_nothing(
    api: Api, body: bytes, reason: str
) -> None:
    answer = post(api, body)

    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:it-support-gateway:problem:event-refused"
    assert reason in answer.json()["detail"]
    letters = dead_letters(api)
    assert [(letter.source, letter.body) for letter in letters] == [("alertmanager", body)]
    assert reason in letters[0].reason
    assert api.audited("ticket.dead_lettered")[0].payload["source"] == "alertmanager"
    assert api.audited("execution.started") == []


def test_an_alert_storm_is_bounded_and_the_rest_is_dead_lettered_with_the_reason(
    make_api: MakeApi,
) -> None:
    api = make_api(tickets="unauthenticated_per_minute = 6\nunauthenticated_burst = 3")
    storm = [alert(fingerprint=f"{n:04x}", instance=f"host-{n}") for n in range(10)]

    answer = post(api, notification(*storm, truncatedAlerts=4))

    assert answer.status_code == 202
    found = answer.json()
    assert (len(found["alerts"]), found["dropped"], found["truncated"]) == (3, 7, 4)
    letters = dead_letters(api)
    assert [letter.id for letter in letters] == [found["dead_letter"]]
    assert letters[0].reason == (
        "alert storm: 7 of 10 alerts over the intake limit (6 a minute, bursts of 3) were not taken"
    )
    kept = json.loads(letters[0].body)
    assert [a["fingerprint"] for a in kept["alerts"]] == [f"{n:04x}" for n in range(3, 10)]
    assert kept["version"] == "4"
    assert len(api.audited("execution.started")) == 3
    assert api.audited("alert.received")[0].payload["dropped"] == 7


def test_without_the_alertmanager_table_the_route_is_not_found_and_nothing_is_kept(
    make_api: MakeApi,
) -> None:
    api = make_api(alertmanager="")

    answer = post(api, notification(alert()))

    assert answer.status_code == 404
    assert answer.json()["type"] == "urn:it-support-gateway:problem:source-not-configured"
    assert dead_letters(api) == []
    service = tickets(api)
    assert service.refused() == {"alertmanager": {"not_configured": 1}}


def test_the_webhook_needs_an_api_key_with_the_tickets_scope(api: Api) -> None:
    anonymous = api.client.post(ROUTE, content=notification(alert()))
    wrong_scope = api.client.post(
        ROUTE, content=notification(alert()), headers=api.as_service("knowledge:read")
    )

    assert (anonymous.status_code, wrong_scope.status_code) == (401, 403)
    assert api.audited("alert.received") == []


UNLOCK_ON_ALERT = """
id: locked-service-account
title: A service account is locked
events: alerts
target: none
signals:
  - {field: alertname, equals: [ServiceAccountLocked], weight: 1}
routes:
  - id: unlock
    workflow: account-unlock
    with: {user: "{{ ticket.fields.account }}"}
"""


def test_a_privileged_workflow_an_alert_starts_is_decided_by_policy_for_the_alert_actor(
    make_api: MakeApi, tmp_path: Path
) -> None:
    triggers = tmp_path / "triggers"
    triggers.mkdir()
    (triggers / "locked.yaml").write_text(UNLOCK_ON_ALERT, encoding="utf-8")
    api = make_api(triggers=triggers)

    answer = post(api, notification(alert(name="ServiceAccountLocked", account="tom")))

    assert answer.status_code == 202, answer.text
    taken = answer.json()["alerts"][0]
    assert (taken["outcome"], taken["decision"]["actor"]) == ("started", "svc-gateway")
    assert taken["execution_state"] == "failed"
    unlock = [r for r in api.audited("decision") if r.action == "account.unlock"]
    assert [(r.actor, r.resource, r.payload["decision"]) for r in unlock] == [
        ("svc-gateway", "account:tom", "deny")
    ]
    assert api.audited("account.unlocked") == []


def test_the_alerts_a_storm_dropped_are_taken_when_their_dead_letter_is_replayed(
    make_api: MakeApi,
) -> None:
    api = make_api(tickets="unauthenticated_per_minute = 6\nunauthenticated_burst = 2")
    storm = [alert(fingerprint=f"{n:04x}", instance=f"host-{n}") for n in range(5)]
    letter = post(api, notification(*storm)).json()["dead_letter"]
    service = tickets(api)
    service.limits = IntakeLimits(600, 10)  # the storm is over

    replayed = service.replay_dead_letter(letter)
    again = post(api, notification(*storm))

    assert (replayed.outcome, replayed.message) == ("started", "replayed 3 alerts (3 started)")
    assert [d.state for d in dead_letters(api)] == ["replayed"]
    assert api.audited("ticket.dead_letter_replayed")[0].payload["dead_letter"] == letter
    assert len(api.audited("execution.started")) == 5
    assert again.json()["outcomes"] == {"duplicate": 5}


def test_a_replayed_storm_still_over_the_limit_keeps_the_rest_in_a_new_dead_letter(
    make_api: MakeApi,
) -> None:
    api = make_api(tickets="unauthenticated_per_minute = 1\nunauthenticated_burst = 1")
    storm = [alert(fingerprint=f"{n:04x}", instance=f"host-{n}") for n in range(3)]
    letter = post(api, notification(*storm)).json()["dead_letter"]
    service = tickets(api)

    replayed = service.replay_dead_letter(letter)

    assert replayed.outcome == "dead_letter"
    assert replayed.message == (
        f"replayed 0 alerts (none taken); 2 over the limit in dead letter {letter + 1}"
    )
    assert [d.state for d in dead_letters(api)] == ["replayed", "open"]


def test_an_unreadable_alertmanager_dead_letter_stays_open_with_the_reason(api: Api) -> None:
    letter = post(api, notification(alert(), version="5")).json()["detail"]
    number = int(letter.rsplit(" ", 1)[1])
    service = tickets(api)

    replayed = service.replay_dead_letter(number)

    assert (replayed.outcome, replayed.dead_letter) == ("dead_letter", number)
    assert [(d.state, d.reason) for d in dead_letters(api)] == [
        ("open", "version: expected '4', found '5'")
    ]
    assert api.audited("execution.started") == []

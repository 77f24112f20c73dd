"""``/v1/catalog``: the same catalog as the command line, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI, Request

from gateway.api.problems import problem_for, problem_response
from gateway.api.routes import catalog
from gateway.api.services import get_services
from gateway.callers.caller import Caller, CallerKind
from gateway.errors import GatewayError
from gateway.selfservice import SelfService
from tests.api.client import ApiClient
from tests.selfservice.harness import Stack

TOM = Caller(CallerKind.PERSON, "tom", "tom", frozenset({"catalog:run"}))
BOT = Caller(CallerKind.API_KEY, "k1", "helpdesk-bot", frozenset({"catalog:run"}))


@dataclass
class _Services:
    selfservice: SelfService | None


@pytest.fixture
def client(stack: Stack) -> Iterator[tuple[ApiClient, list[Caller], _Services]]:
    app = FastAPI()
    app.include_router(catalog.router)
    who = [TOM]
    services = _Services(stack.service)

    @app.exception_handler(GatewayError)
    async def _problem(request: Request, exc: GatewayError) -> object:
        return problem_response(problem_for(exc), request.url.path)

    app.dependency_overrides[get_services] = lambda: services
    app.dependency_overrides[catalog.runner] = lambda: who[0]
    app.dependency_overrides[catalog.usage_reader] = lambda: who[0]
    test_client = ApiClient(app)
    yield test_client, who, services
    test_client.close()


def test_browse_show_dry_run_and_run_as_a_person(
    client: tuple[ApiClient, list[Caller], _Services], stack: Stack
) -> None:
    http, _, _ = client
    listed = http.get("/v1/catalog", params={"search": "install"}).json()
    assert [i["id"] for i in listed] == ["install-software"]
    shown = http.get("/v1/catalog/items/install-software").json()
    assert shown["parameters"]["devices"]["choices"] == ["tom-desktop", "tom-laptop"]
    body = {"parameters": {"title": "7zip", "devices": "tom-laptop"}}
    plan = http.post("/v1/catalog/items/install-software/runs", json={**body, "dry_run": True})
    assert (plan.status_code, plan.json()["would_run"]) == (200, True)
    started = http.post(
        "/v1/catalog/items/install-software/runs", json=body, headers={"Idempotency-Key": "k-1"}
    )
    assert started.status_code == 202
    run_id = started.json()["id"]
    assert started.headers["Location"] == f"/v1/catalog/runs/{run_id}"
    status = http.get(f"/v1/catalog/runs/{run_id}").json()
    assert status["item"] == "install-software"
    refused = http.post(
        "/v1/catalog/items/install-software/runs",
        json={"parameters": {"title": "7zip", "devices": "priya-laptop"}},
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("run-refused-target_not_allowed")
    assert "priya-laptop is not one of your devices" in refused.json()["detail"]


def test_waiting_runs_resume_and_cancel_and_strangers_see_nothing(
    client: tuple[ApiClient, list[Caller], _Services],
) -> None:
    http, who, _ = client
    body = {"parameters": {"title": "7zip", "devices": "tom-laptop,tom-desktop"}}
    run_id = http.post("/v1/catalog/items/install-software/runs", json=body).json()["id"]
    assert http.post(f"/v1/catalog/runs/{run_id}/resume").json()["state"] == "pending_approval"
    assert http.post(f"/v1/catalog/runs/{run_id}/cancel").json()["state"] == "cancelled"
    again = http.post(f"/v1/catalog/runs/{run_id}/cancel")
    assert again.status_code == 409
    who[0] = Caller(CallerKind.PERSON, "priya", "priya", frozenset({"catalog:run"}))
    assert http.get(f"/v1/catalog/runs/{run_id}").status_code == 404
    assert http.post(f"/v1/catalog/runs/{run_id}/resume").status_code == 404
    assert http.post(f"/v1/catalog/runs/{run_id}/cancel").status_code == 404
    assert http.get("/v1/catalog/items/grant-temporary-access").status_code == 404


def test_services_name_the_person_and_people_act_as_themselves(
    client: tuple[ApiClient, list[Caller], _Services],
) -> None:
    http, who, _ = client
    mine = http.get("/v1/catalog", params={"actor": "priya"})
    assert mine.status_code == 403
    assert mine.json()["detail"] == "a person acts as themselves; leave actor out"
    who[0] = BOT
    assert http.get("/v1/catalog").status_code == 422
    assert len(http.get("/v1/catalog", params={"actor": "elena"}).json()) == 4
    started = http.post(
        "/v1/catalog/items/unlock-my-account/runs", json={"actor": "elena", "parameters": {}}
    )
    assert started.json()["actor"] == "elena"
    cancelled = http.post(f"/v1/catalog/runs/{started.json()['id']}/cancel")
    assert cancelled.status_code in (200, 409)


def test_usage_as_json_and_csv_and_a_missing_catalog(
    client: tuple[ApiClient, list[Caller], _Services],
) -> None:
    http, _, services = client
    http.post("/v1/catalog/items/nope-item/runs", json={"parameters": {}})
    assert http.get("/v1/catalog/usage").json()["items"]["nope-item"]["refusals"] == {
        "unknown_item": 1
    }
    csv_text = http.get("/v1/catalog/usage", params={"format": "csv"}).text
    assert csv_text.splitlines()[1].startswith("nope-item,")
    services.selfservice = None
    assert http.get("/v1/catalog").status_code == 404


def test_unknown_runs_and_a_broken_store_are_problems(
    client: tuple[ApiClient, list[Caller], _Services], stack: Stack
) -> None:
    http, _, _ = client
    unknown = "0" * 32
    assert http.get(f"/v1/catalog/runs/{unknown}").status_code == 404
    assert http.post(f"/v1/catalog/runs/{unknown}/resume").status_code == 404
    assert http.post(f"/v1/catalog/runs/{unknown}/cancel").status_code == 404
    stack.service.store.close()
    broken = http.get(f"/v1/catalog/runs/{unknown}")
    assert broken.status_code == 503
    assert broken.json()["type"].endswith("catalog-unavailable")

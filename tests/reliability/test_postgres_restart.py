"""PostgreSQL restarted under a running gateway: requests that need the database fail
closed with a 503 problem while it is down, nothing half-done is left, and the same
gateway process answers again once it is back (its pool reconnects)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.postgres import PostgresServer
from tests.reliability.served import Site, sites, wait_for

pytestmark = pytest.mark.postgresql

PROBLEM = "application/problem+json"
# the store the request needed, or the audit log it must write first (the data keys that
# seal its personal fields live in the database too)
UNAVAILABLE = {
    "urn:it-support-gateway:problem:storage-unavailable",
    "urn:it-support-gateway:problem:audit-unavailable",
}


class Clients:
    """The requests of the burst, each touching the store: start an execution (and one
    waiting for an approval), list and vote on approvals, run a self-service item, and
    send a (wrong) step-up code."""

    def __init__(self, site: Site, url: str) -> None:
        self.url = url
        service = site.api_key(
            "executions:write", "executions:read", "catalog:run", "decisions:write"
        )
        self.service = {"X-API-Key": service}
        self.tom = {"Authorization": f"Bearer {site.token('tom', 'stepup:write')}"}
        self.priya = {"Authorization": f"Bearer {site.token('priya', 'approvals:write')}"}
        self.http = site.client(url)
        self.left: list[Any] = []  # the executions not finished yet
        self.started: list[str] = []  # executions the gateway said it started
        self.lock = threading.Lock()

    def install(self, number: int, title: str = "7zip") -> httpx.Response:
        body = {
            "workflow": "software-install",
            "parameters": {"title": title, "device": f"tom-pc{number}"},
            "actor": "tom",
        }
        headers = {**self.service, "Idempotency-Key": f"install-{title}-{number}"}
        response = self.http.post("/v1/executions", json=body, headers=headers)
        if response.status_code == 202:
            with self.lock:
                self.started.append(response.json()["id"])
        return response

    def approvals(self, _: int) -> httpx.Response:
        return self.http.get("/v1/approvals", headers=self.priya)

    def pending(self) -> list[dict[str, Any]]:
        listed = self.approvals(0)
        assert listed.status_code == 200, listed.text
        return list(listed.json())

    def approve(self, item: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            f"/v1/approvals/{item['id']}/approve",
            json={"digest": item["digest"]},
            headers=self.priya,
        )

    def unlock(self, number: int) -> httpx.Response:
        body = {"actor": ("tom", "priya", "elena")[number % 3]}
        return self.http.post(
            "/v1/catalog/items/unlock-my-account/runs", json=body, headers=self.service
        )

    def step_up(self, _: int) -> httpx.Response:
        return self.http.post("/v1/stepup/verify", json={"code": "000000"}, headers=self.tom)

    def decide(self, _: int) -> httpx.Response:
        body = {"actor": "elena", "action": "password.reset", "resource": "account:tom"}
        return self.http.post("/v1/decisions", json=body, headers=self.service)


def assert_fails_closed(response: httpx.Response) -> None:
    """A 503 problem that says the database is unavailable."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] in UNAVAILABLE, problem
    assert "the database is unavailable" in problem["detail"], problem
    assert problem["status"] == 503
    assert "postgresql://" not in problem["detail"]


def test_a_database_restart_mid_burst_fails_closed_then_the_same_gateway_recovers(
    restartable: PostgresServer, database: str, tmp_path: Path
) -> None:
    with sites(database, tmp_path / "a") as (site,):
        site.run("stepup", "enrol", "--user", "tom")
        url = site.serve()
        clients = Clients(site, url)
        assert clients.install(0).status_code == 202  # the database is up: it works
        assert clients.install(0, title="visio").status_code == 202  # waits for priya
        (visio,) = wait_for(clients.pending, "the approval request of the visio install")

        answers: Counter[int] = Counter()
        stop = threading.Event()

        def burst(worker: int) -> None:
            number = 1 + worker * 1000
            while not stop.is_set():
                number += 1
                for response in (
                    clients.install(number),
                    clients.approvals(number),
                    clients.unlock(number),
                    clients.step_up(number),
                ):
                    answers[response.status_code] += 1
                    assert response.status_code in (200, 202, 401, 409, 429, 503), response.text
                    if response.status_code == 503:
                        assert_fails_closed(response)

        with ThreadPoolExecutor(4) as pool:
            running = [pool.submit(burst, worker) for worker in range(4)]
            time.sleep(1.0)
            restartable.stop()  # every connection cut mid-request
            with ThreadPoolExecutor(5) as asking:  # each waits out the pool's timeout
                down = list(
                    asking.map(
                        lambda ask: ask(),
                        [
                            lambda: clients.install(90_000),
                            lambda: clients.approvals(0),
                            lambda: clients.unlock(0),
                            lambda: clients.step_up(0),
                            lambda: clients.approve(visio),
                        ],
                    )
                )
            restartable.start()
            time.sleep(1.0)
            stop.set()
            for future in running:
                future.result()

        for response in down:
            assert_fails_closed(response)
        assert answers[503] >= len(down)
        # back without restarting the gateway: at once, not after its pool gave up
        wait_for(lambda: clients.install(90_001).status_code == 202, "a new execution", 10)
        assert clients.approvals(0).status_code == 200
        assert clients.unlock(1).status_code in (202, 409)
        assert clients.step_up(0).status_code in (401, 429)
        assert clients.approve(visio).status_code == 200  # and the install goes on

        try:
            executions = wait_for(lambda: settled(clients), "every execution to settle", 60)
        except AssertionError:
            raise AssertionError(f"unfinished: {clients.left}") from None
        site.stop()
        log = site.verify_audit_log()

    assert_each_ran_once(executions, log, set(clients.started))


def settled(clients: Clients) -> list[dict[str, Any]] | None:
    """Every install in the store, once each has finished or is left with a step the
    outage cut between the action and the record of its outcome (``started``)."""
    found = clients.http.get(
        "/v1/executions", params={"limit": 500}, headers=clients.service
    ).json()
    installs = [e for e in found if e["workflow"] == "software-install"]
    clients.left = [
        (e["id"], e["state"], [(x["step"], x["state"]) for x in e["steps"]])
        for e in installs
        if e["state"] != "succeeded" and not any(x["state"] == "started" for x in e["steps"])
    ]
    return None if clients.left else installs


def assert_each_ran_once(
    executions: list[dict[str, Any]], log: list[dict[str, Any]], answered: set[str]
) -> None:
    """Every execution the store holds was audited before it started, its install ran
    once with its outcome on record; an execution audited as started but not stored
    (its transaction cut by the outage) ran nothing."""

    def count(kind: str, step: str | None = None) -> Counter[str]:
        return Counter(
            r["payload"]["execution"]
            for r in log
            if r["type"] == kind and (step is None or r["payload"]["step"] == step)
        )

    stored = {execution["id"] for execution in executions}
    assert answered <= stored  # every 202 answered is in the store
    started = count("execution.started")
    assert stored <= set(started)  # none started without its record
    assert set(started.values()) == {1}
    ran, resumed = count("action.started", "install"), count("action.resumed", "install")
    uncalled = count("action.not_called", "install")  # claimed, its reply lost, never run
    assert set(ran) == stored  # each install audited before it ran
    for execution in stored:  # claimed again only when resumed (an idempotent step whose
        assert ran[execution] == 1 + resumed[execution] + uncalled[execution]  # claim was cut)
    done = count("action.succeeded", "install")
    for execution in executions:
        install = execution["steps"][0]
        if install["state"] == "succeeded":
            assert done[execution["id"]] == 1  # its outcome on record
        else:  # cut while its outcome was being stored: left for recovery, not run again
            assert install["state"] == "started"  # (the audit record of the outcome may
            assert done[execution["id"]] <= 1  # have committed before the store's did)

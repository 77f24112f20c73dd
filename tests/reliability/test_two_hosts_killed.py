"""Two ``gateway serve`` processes, as two hosts, on one PostgreSQL: one is killed with
SIGKILL in the middle of a burst of decisions and executions.  Every answer either gave
was on record first, no step ran twice unaudited, the survivor takes over the leases and
finishes or rolls back what the dead one left, and the one audit log verifies."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.served import CONFIG, Site, wait_for
from tests.reliability.test_postgres_restart import Clients

pytestmark = pytest.mark.postgresql

# leases renewed every beat, taken over 2 s after their holder stopped renewing them
TWO_HOSTS = CONFIG.replace("timeout_seconds = 2\n", "timeout_seconds = 2\nlease_seconds = 2\n")
FINAL = {"succeeded", "failed", "compensated"}


def final(clients: Clients) -> list[dict[str, Any]] | None:
    """Every install in the store, once each is finished."""
    found = clients.http.get(
        "/v1/executions", params={"limit": 500}, headers=clients.service
    ).json()
    installs = [e for e in found if e["workflow"] == "software-install"]
    clients.left = [(e["id"], e["state"]) for e in installs if e["state"] not in FINAL]
    return None if clients.left else installs


def test_a_host_killed_mid_burst_loses_nothing_and_the_other_takes_over(
    database: str, tmp_path: Path
) -> None:
    first = Site(tmp_path / "a", database, TWO_HOSTS)
    try:
        key = first.api_key("executions:write", "executions:read", "decisions:write")
        second = first.twin(tmp_path / "b")
        try:
            urls = [first.serve(), second.serve()]
            hosts = [Clients.__new__(Clients) for _ in urls]
            for client, url in zip(hosts, urls, strict=True):
                client.url, client.service = url, {"X-API-Key": key}
                client.http = second.client(url)
                client.started, client.left, client.lock = [], [], threading.Lock()
            decided: list[str] = []
            stop = threading.Event()

            def burst(worker: int) -> None:
                number = worker * 1000
                while not stop.is_set():
                    number += 1
                    client = hosts[number % 2]
                    try:
                        answers = (client.decide(number), client.install(number))
                    except httpx.TransportError:
                        continue  # the killed host: no answer, so nothing promised
                    for response in answers:
                        assert response.status_code in (200, 202), response.text
                        if response.status_code == 200:
                            decided.append(response.json()["decision_id"])

            with ThreadPoolExecutor(4) as pool:
                running = [pool.submit(burst, worker) for worker in range(4)]
                time.sleep(1.5)
                first.processes[0].send_signal(signal.SIGKILL)
                first.processes[0].wait()
                time.sleep(1.0)
                stop.set()
                for future in running:
                    future.result()

            survivor = hosts[1]
            try:
                executions = wait_for(lambda: final(survivor), "the survivor to finish all", 60)
            except AssertionError:
                raise AssertionError(f"unfinished: {survivor.left}") from None
            second.stop()
            log = second.verify_audit_log()  # one chain, both hosts' records
        finally:
            second.stop()
    finally:
        first.stop()

    answered = set(hosts[0].started) | set(hosts[1].started)
    stored = {execution["id"] for execution in executions}
    assert answered <= stored
    assert {r["decision_id"] for r in log if r["type"] == "decision"} >= set(decided)

    def count(kind: str) -> Counter[str]:
        return Counter(
            r["payload"]["execution"]
            for r in log
            if r["type"] == kind and r["payload"].get("step") in (None, "install")
        )

    started, ran, resumed, uncalled = (
        count("execution.started"),
        count("action.started"),
        count("action.resumed"),
        count("action.not_called"),  # a claim whose reply was lost: never run
    )
    for execution in stored:
        assert started[execution] == 1
        # a claim again only when audited as such
        assert ran[execution] == 1 + resumed[execution] + uncalled[execution]
    assert len({r["key_id"] for r in log}) == 1

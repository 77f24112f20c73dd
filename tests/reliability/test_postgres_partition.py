"""A network partition between a gateway process and PostgreSQL: every connection reset,
new ones refused.  No decision is answered and no execution goes on without its audit
record (the audit log lives in the database too); the process fails closed with 503
problems and goes on by itself once the network is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.postgres import PostgresServer
from tests.reliability.partition import Partition
from tests.reliability.served import sites, wait_for
from tests.reliability.test_postgres_restart import (
    Clients,
    assert_each_ran_once,
    assert_fails_closed,
    settled,
)

pytestmark = pytest.mark.postgresql


@pytest.fixture
def partition(postgres_server: PostgresServer) -> Iterator[Partition]:
    relay = Partition(postgres_server.port)
    yield relay
    relay.close()


def test_a_partition_from_the_database_answers_nothing_without_its_audit_record(
    database: str, partition: Partition, tmp_path: Path
) -> None:
    with sites(partition.dsn(database), tmp_path / "a") as (site,):
        url = site.serve()
        clients = Clients(site, url)
        decided: list[str] = []  # decision ids the gateway answered with
        refused: list[httpx.Response] = []
        stop = threading.Event()

        def burst(worker: int) -> None:
            number = worker * 1000
            while not stop.is_set():
                number += 1
                for response in (clients.decide(number), clients.install(number)):
                    assert response.status_code in (200, 202, 503), response.text
                    if response.status_code == 503:
                        refused.append(response)
                    elif "decision_id" in response.json():
                        decided.append(response.json()["decision_id"])

        with ThreadPoolExecutor(4) as pool:
            running = [pool.submit(burst, worker) for worker in range(4)]
            time.sleep(1.0)
            partition.cut()
            during = [clients.decide(0), clients.install(80_000)]
            partition.heal()
            time.sleep(1.0)
            stop.set()
            for future in running:
                future.result()

        for response in during:
            assert_fails_closed(response)
        for response in refused:
            assert_fails_closed(response)
        wait_for(lambda: clients.decide(1).status_code == 200, "a decision again", 10)
        executions = wait_for(lambda: settled(clients), "every execution to settle", 60)
        site.stop()
        log = site.verify_audit_log()

    audited = {r["decision_id"] for r in log if r["type"] == "decision"}
    assert decided
    assert set(decided) <= audited  # every decision answered was on record first
    assert_each_ran_once(executions, log, set(clients.started))

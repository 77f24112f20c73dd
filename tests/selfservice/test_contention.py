"""Guardrails under real contention: threads racing over separate store connections
(as separate processes would), counted only by the store's write transactions (SQLite's
``BEGIN IMMEDIATE``, PostgreSQL's advisory lock)."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.errors import GatewayError
from gateway.selfservice import RunRefusedError, SelfService
from gateway.selfservice.store import RunStore
from tests.selfservice.harness import Clock, Stack

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


RACE_ITEM = """
id: race-unlock
title: Unlock my account (race)
category: accounts
owner: it-support
workflow: account-unlock
minutes_saved: 10
with: {user: "{{ actor }}"}
guardrails:
  quotas: [{scope: global, max: 3, period: day}]
"""

BUSY_ITEM = """
id: busy-reset
title: Reset my password (busy)
category: accounts
owner: it-support
workflow: password-reset
with: {user: "{{ actor }}"}
guardrails:
  max_concurrent: 2
"""

PEOPLE = ["elena", "omar", "grace", "sam", "tom", "priya"]


def _services(stack: Stack, count: int) -> list[SelfService]:
    """Catalog services over the same database, each with its own connection."""
    base = stack.service
    return [
        SelfService(
            base.catalog,
            stack.gateway,
            stack.executor,
            RunStore(stack.config.selfservice.database, backend=stack.gateway.storage),
            base.inventory,
            base.sources,
            audit=None,  # the audit log is shown elsewhere; here only the counting
        )
        for _ in range(count)
    ]


def _race(
    services: list[SelfService],
    attempts: int,
    item: str,
    given: dict[str, str],
    runs: set[str] | None = None,
) -> Counter[str]:
    """What each attempt got; the ids of the runs given back are added to ``runs``."""
    outcomes: Counter[str] = Counter()
    runs = set() if runs is None else runs
    lock = threading.Lock()
    barrier = threading.Barrier(attempts)

    def attempt(index: int) -> None:
        service = services[index % len(services)]
        barrier.wait()
        try:
            run = service.run(PEOPLE[index % len(PEOPLE)], item, given)
            found = "admitted"
            with lock:
                runs.add(run.id)
        except RunRefusedError as exc:
            found = exc.reason
        except GatewayError as exc:  # pragma: no cover - shown if it ever happens
            found = type(exc).__name__
        with lock:
            outcomes[found] += 1

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _stack(config: GatewayConfig, name: str, text: str) -> Stack:
    Path(config.selfservice.catalog / f"{name}.yaml").write_text(text, encoding="utf-8")
    return Stack(config, Clock())


def test_a_quota_of_three_is_never_exceeded_by_fifty_racing_requests(
    config: GatewayConfig,
) -> None:
    stack = _stack(config, "race-unlock", RACE_ITEM)
    services = _services(stack, 5)
    try:
        runs: set[str] = set()
        outcomes = _race(services, 50, "race-unlock", {}, runs)
        # Each unlock waits for its person's step-up: a person who asks again while it
        # waits gets that run back, so only three runs exist and the rest were refused.
        assert len(runs) == 3
        assert set(outcomes) == {"admitted", "quota"}
        assert outcomes["admitted"] + outcomes["quota"] == 50
        report = stack.service.usage()
        assert report.items["race-unlock"].runs == 3
        assert report.items["race-unlock"].refusals == {"quota": outcomes["quota"]}
        owners = {stack.service.get(run_id).actor for run_id in runs}
        assert outcomes["admitted"] == sum(
            1 for index in range(50) if PEOPLE[index % len(PEOPLE)] in owners
        )
    finally:
        for service in services:
            service.close()
        stack.close()


def test_concurrent_runs_of_an_item_stay_within_its_limit(config: GatewayConfig) -> None:
    stack = _stack(config, "busy-reset", BUSY_ITEM)
    services = _services(stack, 4)
    try:
        # each reset waits for its person's step-up, so every admitted run stays
        # unfinished; six different people, so no two runs act on one account
        outcomes = _race(services, 6, "busy-reset", {})
        assert outcomes == Counter({"admitted": 2, "concurrency": 4})
        running = [r for r in stack.service.recent() if not r.state.finished]
        assert len(running) == 2
        waiting = {r.actor for r in running}
        refused = next(person for person in PEOPLE if person not in waiting)
        with pytest.raises(RunRefusedError, match="at most 2 runs of this item at once"):
            stack.service.run(refused, "busy-reset", {})
        # once one finishes, the next is admitted
        stack.service.cancel(running[0].id, running[0].actor)
        assert stack.service.run(running[0].actor, "busy-reset", {}).state == "running"
    finally:
        for service in services:
            service.close()
        stack.close()

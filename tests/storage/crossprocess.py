"""One gateway process of a cross-process race on PostgreSQL (``test_cross_process.py``).

``python -m tests.storage.crossprocess TASK JSON`` builds its part over its own folder
(its own audit log and files) and the shared PostgreSQL schemas named by the JSON's
``prefix``, prints ``ready``, waits for ``go`` on its input, races, and prints what it
saw as one JSON line.  Two of them at once are two gateways on two hosts.  The ``lease``
task instead keeps asking for a lease and prints when it holds it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from gateway.errors import GatewayError
from gateway.storage import StorageSettings
from gateway.storage.postgres import PostgresBackend


def _settings(task: dict[str, Any]) -> StorageSettings:
    return StorageSettings(
        backend="postgresql",
        dsn=SecretStr(task["dsn"]),
        schema_prefix=task["prefix"],
        pool_size=4,
    )


def executions(task: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Start (with the same idempotency keys as the other process) and run ``count``
    comments, then try to take one target that the other process wants too."""
    from tests.runtime.harness import Clock, Runtime, Ticketing, install_test_workflows
    from tests.runtime.harness import make_config as runtime_config

    root = Path(task["root"])
    config = runtime_config(root).model_copy(update={"storage": _settings(task)})
    install_test_workflows(config)
    ticketing = Ticketing()
    runtime = Runtime(config, Clock(), ticketing)

    def race() -> dict[str, Any]:
        ids = {}
        for number in range(task["count"]):
            started = runtime.executor.start(
                "comment", {"ticket": f"T-{number}"}, actor="elena", idempotency_key=f"key-{number}"
            )
            ids[f"key-{number}"] = started.id
            runtime.executor.advance(started.id)
        try:
            runtime.executor.start(
                "comment", {"ticket": "T-9999"}, actor="elena", idempotency_key=task["name"]
            )
            busy = "started"
        except GatewayError as exc:
            busy = type(exc).__name__
        runtime.close()
        return {"ids": ids, "calls": ticketing.calls, "busy": busy}

    return race


def approvals(task: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Vote as ``task["voter"]`` on every request of ``task["requests"]``."""
    from tests.approvals import Harness

    backend = PostgresBackend(task["dsn"], pool_size=4, prefix=task["prefix"])
    harness = Harness(Path(task["root"]), backend)

    def race() -> dict[str, Any]:
        outcomes = []
        for request_id, digest in task["requests"]:
            try:
                outcomes.append(
                    str(harness.service.approve(request_id, task["voter"], digest=digest).state)
                )
            except GatewayError as exc:
                outcomes.append(type(exc).__name__)
        approved = harness.types().count("approval.approved")
        harness.close()
        backend.close()
        return {"outcomes": outcomes, "approved_records": approved}

    return race


def stepup(task: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Check each ``(user, code)`` of ``task["codes"]`` once."""
    from gateway.stepup import StepUpService, StepUpSettings

    backend = PostgresBackend(task["dsn"], pool_size=4, prefix=task["prefix"])
    settings = StepUpSettings(
        database=Path(task["root"]) / "unused.db",
        seed_key_file=Path(task["seed_key_file"]),
        create_seed_key=False,
        recovery_scrypt_n=2,
    )
    service = StepUpService.open(settings, backend=backend)

    def race() -> dict[str, Any]:
        outcomes = []
        for user, code in task["codes"]:
            try:
                service.verify(user, code)
                outcomes.append("ok")
            except GatewayError as exc:
                outcomes.append(getattr(exc, "reason", type(exc).__name__))
        service.close()
        backend.close()
        return {"outcomes": outcomes}

    return race


def selfservice(task: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Ask for ``task["item"]`` once for each person of ``task["people"]``, all at once."""
    from gateway.selfservice import RunRefusedError
    from tests.selfservice.harness import Clock, Stack
    from tests.selfservice.harness import make_config as catalog_config

    root = Path(task["root"])
    config = catalog_config(root).model_copy(update={"storage": _settings(task)})
    (config.selfservice.catalog / f"{task['item']}.yaml").write_text(task["text"], "utf-8")
    stack = Stack(config, Clock())

    def race() -> dict[str, Any]:
        outcomes: list[str] = []
        runs: list[str] = []  # a person asking again while their run waits gets it back
        barrier = threading.Barrier(len(task["people"]))

        def attempt(person: str) -> None:
            barrier.wait()
            try:
                run = stack.service.run(person, task["item"], {})
                outcomes.append("admitted")
                runs.append(run.id)
            except RunRefusedError as exc:
                outcomes.append(exc.reason)
            except GatewayError as exc:
                outcomes.append(type(exc).__name__)

        threads = [threading.Thread(target=attempt, args=(p,)) for p in task["people"]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stack.close()
        return {"outcomes": outcomes, "runs": runs}

    return race


TASKS = {
    "executions": executions,
    "approvals": approvals,
    "stepup": stepup,
    "selfservice": selfservice,
}


def lease(task: dict[str, Any]) -> None:
    """Ask for the lease ``task["name"]`` every 50 ms for ``task["seconds"]``, printing
    ``held <time>`` each time it is taken (or taken back) and ``refused <time>`` each time
    it is lost or first refused; the process may be killed at any moment."""
    from gateway.storage.leases import Leases

    backend = PostgresBackend(task["dsn"], pool_size=2, prefix=task["prefix"])
    leases = Leases(backend, Path("unused.db"), ttl_seconds=task["ttl"])
    deadline = time.monotonic() + task["seconds"]
    state = None
    while time.monotonic() < deadline:
        held = leases.acquire(task["name"])
        if held != state:
            print(f"{'held' if held else 'refused'} {time.time()}", flush=True)
            state = held
        time.sleep(0.05)
    leases.close()
    backend.close()


def main() -> None:
    name, text = sys.argv[1], sys.argv[2]
    if name == "lease":
        lease(json.loads(text))
        return
    race = TASKS[name](json.loads(text))
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected go")
    print(json.dumps(race()), flush=True)


if __name__ == "__main__":
    main()

"""``gateway serve --workers 2`` on PostgreSQL: each worker is a process of its own (its own
liveness lease ``runtime.process.<host:pid>``) and finishes its own steps cut short, not
only the worker running the background beat.  A step left ``started`` by a worker that
lives and no longer runs it (the database went away under it) is taken over by nobody
else, since its process lives: if its own worker did not recover it, it would stay
``started`` for ever."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import open_services
from gateway.clock import utcnow
from gateway.config import load_config
from gateway.runtime.model import ExecutionState
from tests.reliability.served import DSN_ENV, Site, wait_for

pytestmark = pytest.mark.postgresql

# a process of another host that never took a liveness lease: taken to live, so its step
# stays as it is until the test gives it to a worker
PARKED = "another-host:1"


def test_every_worker_finishes_its_own_steps_cut_short(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, database)
    site = Site(tmp_path / "site", database)
    try:
        with open_services(load_config(site.root / "gateway.toml")) as parts:
            runtime = parts.runtime
            cut: list[str] = []
            for device in ("tom-pc1", "tom-pc2"):
                started = runtime.start(
                    "software-install", {"title": "7zip", "device": device}, actor="tom"
                )
                with runtime.store.transaction() as tx:  # as a worker does before it acts
                    assert tx.claim_step(
                        started.id, "install", utcnow(), PARKED, decision_id=None, digest=None,
                        parameters={"title": "7zip", "device": device, "change": "standard"},
                    )  # fmt: skip
                cut.append(started.id)
            assert parts.leases is not None
            site.serve(workers=2)

            def workers() -> list[str] | None:
                with parts.leases._db.transaction(write=False) as db:
                    rows = db.execute(
                        "SELECT name FROM leases WHERE name LIKE 'runtime.process.%'"
                    ).fetchall()
                found = sorted(str(row[0]).removeprefix("runtime.process.") for row in rows)
                return found if len(found) == 2 else None

            owners = wait_for(workers, "both workers to take their liveness leases")
            with runtime.store.transaction() as tx:  # each worker's thread cut short
                for execution_id, owner in zip(cut, owners, strict=True):
                    tx.update_step(execution_id, "install", owner=owner)

            def finished() -> list[ExecutionState] | None:
                states = [runtime.get(execution_id).state for execution_id in cut]
                return states if all(state.finished for state in states) else None

            states = wait_for(finished, "each worker to finish its own step", timeout=30)
        site.stop()
        log = site.verify_audit_log()
    finally:
        site.stop()

    assert states == [ExecutionState.SUCCEEDED] * 2
    for execution_id in cut:
        trail = [
            r["type"]
            for r in log
            if r["payload"].get("execution") == execution_id
            and r["payload"].get("step") == "install"
        ]
        assert trail == ["action.resumed", "action.started", "action.succeeded"]

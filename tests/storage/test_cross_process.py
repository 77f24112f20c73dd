"""Two gateway processes on one PostgreSQL: what must happen once happens once.

Each test starts two processes (``tests/storage/crossprocess.py``), each with its own
folder and connection pool, sharing the database schemas (the audit log among them, so
both hold the same signing key); both build their part, then race on a signal.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyotp
import pytest

from gateway.approvals import ApprovalState
from gateway.audit.keys import init_keys
from gateway.runtime.store import ExecutionStore
from gateway.stepup import StepUpService, StepUpSettings
from gateway.storage.postgres import PostgresBackend
from tests.approvals import Harness, obligation
from tests.postgres import PostgresServer, start_together

pytestmark = pytest.mark.postgresql

REPO = Path(__file__).resolve().parents[2]


def race(task: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Start one process per part, wait until each is ready, let them go together and
    return what each saw."""
    commands = [
        [sys.executable, "-m", "tests.storage.crossprocess", task, json.dumps(part)]
        for part in parts
    ]
    return list(start_together(commands, cwd=REPO))


def make_roots(parts: list[dict[str, Any]], tmp_path: Path) -> None:
    """Each process's folder, with the one audit signing key of the deployment."""
    init_keys(tmp_path / "shared-keys")
    for part in parts:
        shutil.copytree(tmp_path / "shared-keys", Path(part["root"]) / "keys")


def test_two_processes_with_the_same_idempotency_keys_run_each_execution_once(
    postgres_server: PostgresServer, prefix: str, tmp_path: Path
) -> None:
    count = 15
    parts = [
        {
            "dsn": postgres_server.dsn,
            "prefix": prefix,
            "root": str(tmp_path / name),
            "name": name,
            "count": count,
        }
        for name in ("a", "b")
    ]
    make_roots(parts, tmp_path)

    first, second = race("executions", parts)

    assert first["ids"] == second["ids"]  # the same key found the same execution
    assert len(set(first["ids"].values())) == count
    tickets = Counter(call.split()[1] for call in first["calls"] + second["calls"])
    assert tickets == Counter({f"T-{number}": 1 for number in range(count)})  # each ran once
    assert sorted([first["busy"], second["busy"]]) == ["TargetConflictError", "started"]
    backend = PostgresBackend(postgres_server.dsn, prefix=prefix, pool_size=1)
    store = ExecutionStore(tmp_path / "unused.db", backend=backend)
    with store.transaction(write=False) as tx:
        assert len(tx.recent(limit=1000)) == count + 1
    store.close()
    backend.close()


def test_concurrent_votes_from_two_processes_give_one_approved_transition_each(
    postgres_server: PostgresServer, prefix: str, tmp_path: Path
) -> None:
    backend = PostgresBackend(postgres_server.dsn, prefix=prefix, pool_size=1)
    opener = Harness(tmp_path / "opener", backend)
    items = [opener.open(obligation("group:security-team")) for _ in range(12)]
    parts = [
        {
            "dsn": postgres_server.dsn,
            "prefix": prefix,
            "root": str(tmp_path / voter),
            "voter": voter,
            "requests": [(item.id, item.digest) for item in items],
        }
        for voter in ("sue", "sam")
    ]
    for part in parts:
        Path(part["root"]).mkdir()

    first, second = race("approvals", parts)

    for mine, theirs in zip(first["outcomes"], second["outcomes"], strict=True):
        assert sorted([mine, theirs]) == ["RequestFinishedError", "approved"]
    assert first["approved_records"] + second["approved_records"] == len(items)
    for item in items:
        done = opener.service.get(item.id)
        assert done.state is ApprovalState.APPROVED
        assert len(done.votes) == 1
    opener.close()
    backend.close()


def test_a_code_sent_to_two_processes_at_once_is_accepted_by_one(
    postgres_server: PostgresServer, prefix: str, tmp_path: Path
) -> None:
    backend = PostgresBackend(postgres_server.dsn, prefix=prefix, pool_size=1)
    settings = StepUpSettings(
        database=tmp_path / "unused.db",
        seed_key_file=tmp_path / "seeds.key",
        recovery_scrypt_n=2,
    )
    service = StepUpService.open(settings, backend=backend)
    users = [f"user{number}" for number in range(10)]
    seeds = {user: service.enrol(user).seed.get_secret_value() for user in users}
    codes = [(user, pyotp.TOTP(seeds[user]).now()) for user in users]
    parts = [
        {
            "dsn": postgres_server.dsn,
            "prefix": prefix,
            "root": str(tmp_path),
            "seed_key_file": str(settings.seed_key_file),
            "codes": codes,
        }
        for _ in range(2)
    ]

    first, second = race("stepup", parts)

    for mine, theirs in zip(first["outcomes"], second["outcomes"], strict=True):
        assert sorted([mine, theirs]) == ["ok", "replayed"]
    service.close()
    backend.close()


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


def test_a_quota_holds_across_two_processes(
    postgres_server: PostgresServer, prefix: str, tmp_path: Path
) -> None:
    parts = [
        {
            "dsn": postgres_server.dsn,
            "prefix": prefix,
            "root": str(tmp_path / name),
            "item": "race-unlock",
            "text": RACE_ITEM,
            "people": people,
        }
        for name, people in (
            ("a", ["elena", "omar", "grace"] * 5),
            ("b", ["sam", "tom", "priya"] * 5),
        )
    ]
    make_roots(parts, tmp_path)

    first, second = race("selfservice", parts)

    # Each unlock waits for its person's step-up, so a person asking again meanwhile gets
    # that run back: three runs exist in all, and every other attempt met the quota.
    assert len(set(first["runs"] + second["runs"])) == 3
    outcomes = Counter(first["outcomes"] + second["outcomes"])
    assert set(outcomes) == {"admitted", "quota"}
    assert outcomes["admitted"] + outcomes["quota"] == 30

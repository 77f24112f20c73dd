"""One audit log for several gateway processes on PostgreSQL: one chain, the record before
the change, and nothing at all when the database is gone."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.audit.database import DatabaseAuditLog, DatabaseAuditRecords
from gateway.audit.keys import init_keys
from gateway.audit.records import parse_record
from gateway.cli import cli
from gateway.errors import AuditWriteError
from gateway.policy.request import AccessRequest
from gateway.runtime.actions import ActionCall
from gateway.storage import StorageSettings
from gateway.storage.postgres import PostgresBackend
from tests.api.conftest import build_api
from tests.postgres import (
    INSTALL_HINT,
    PostgresServer,
    binaries,
    in_ci,
    running_postgres,
    start_together,
)
from tests.postgres import storage_toml as shared_storage_toml

pytestmark = pytest.mark.postgresql

REPO = Path(__file__).resolve().parents[2]
DSN_VARIABLE = "GATEWAY_TEST_AUDIT_DSN"


def storage_toml(prefix: str, timeout: float = 2) -> str:
    return shared_storage_toml(prefix, DSN_VARIABLE, timeout_seconds=timeout)


def gateway_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.output


def test_two_processes_appending_together_write_one_chain_that_verifies_from_the_export(
    tmp_path: Path,
    prefix: str,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    init_keys(tmp_path / "keys")
    config = tmp_path / "gateway.toml"
    config.write_text(storage_toml(prefix), encoding="utf-8")
    monkeypatch.setenv(DSN_VARIABLE, postgres_server.dsn)
    task = {
        "dsn": postgres_server.dsn,
        "prefix": prefix,
        "key": str(tmp_path / "keys" / "audit-signing.key"),
        "count": 300,
        "threads": 3,
    }
    commands = [
        [sys.executable, "-m", "tests.audit.appender", json.dumps({**task, "name": name})]
        for name in ("host-a", "host-b")
    ]
    seen = [ran["seqs"] for ran in start_together(commands, cwd=REPO)]
    assert len(seen[0]) == len(seen[1]) == 300
    assert sorted(seen[0] + seen[1]) == list(range(600))  # one order, no place taken twice

    exported = tmp_path / "export" / "audit.jsonl"
    note = tmp_path / "export" / "audit.checkpoint"
    code, out = gateway_cli(
        "--config", str(config), "audit", "export", "--output", str(exported),
        "--checkpoint", str(note),
    )  # fmt: skip
    assert code == 0, out
    assert "600 records" in out
    code, out = gateway_cli(
        "audit", "verify", "--log", str(exported),
        "--key", str(tmp_path / "keys" / "audit-signing.pub"), "--checkpoint", str(note), "--json",
    )  # fmt: skip
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["valid"], summary["records"], summary["checkpoint_size"]) == (True, 600, 600)
    actors = {
        parse_record(line, n).actor for n, line in enumerate(exported.read_bytes().splitlines())
    }
    assert actors == {"host-a", "host-b"}


@pytest.mark.parametrize("storage_kind", ["postgresql"])
def test_an_execution_on_postgresql_is_in_the_shared_log_before_it_reaches_the_system(
    tmp_path: Path, storage_settings: StorageSettings, postgres_server: PostgresServer
) -> None:
    from tests.runtime.harness import Clock, Runtime, Ticketing, install_test_workflows
    from tests.runtime.harness import make_config as runtime_config

    config = runtime_config(tmp_path).model_copy(update={"storage": storage_settings})
    install_test_workflows(config)
    other_host = PostgresBackend(
        postgres_server.dsn, pool_size=2, prefix=storage_settings.schema_prefix
    )
    reader = DatabaseAuditRecords(other_host)  # another process's view
    seen_at_call: list[list[Any]] = []

    def look(call: ActionCall) -> None:
        records = [parse_record(line, n) for n, line in enumerate(reader.lines())]
        seen_at_call.append([(r.type, r.action, r.payload.get("execution")) for r in records])

    ticketing = Ticketing(during=look)
    runtime = Runtime(config, Clock(), ticketing)
    try:
        assert isinstance(runtime.gateway.audit, DatabaseAuditLog)
        done = runtime.run("comment", "elena", ticket="T-1")
        assert done.status == "succeeded"
    finally:
        runtime.close()
        reader.close()
        other_host.close()
    assert len(seen_at_call) == 1
    before = seen_at_call[0]
    assert ("execution.started", None, done.id) in before
    assert ("action.started", "ticket.comment", done.id) in before  # the record, then the call
    assert not (config.audit.log).exists()  # nothing went to a file of this host


@contextmanager
def private_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own, which it may stop."""
    bin_dir = binaries()
    if bin_dir is None:
        if in_ci():
            pytest.fail(f"PostgreSQL not found: its tests need it in CI; {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    yield from running_postgres(bin_dir)


def test_with_postgresql_stopped_a_decision_fails_closed_with_503_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_postgres() as server:
        monkeypatch.setenv(DSN_VARIABLE, server.dsn)
        # step-up off: the decision then needs nothing from the database but its record
        api = build_api(tmp_path, storage_toml("gateway_", 0.5) + "[stepup]\nenabled = false\n")
        try:
            assert isinstance(api.gateway.audit, DatabaseAuditLog)
            service = api.as_person("elena", "decisions:write")  # no key look-up in the database
            allowed = {"actor": "elena", "action": "ticket.comment", "resource": "ticket:T-1"}
            assert (
                api.client.post("/v1/decisions", json=allowed, headers=service).status_code == 200
            )
            server.stop()
            refused = {**allowed, "resource": "ticket:T-2"}
            response = api.client.post("/v1/decisions", json=refused, headers=service)
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["type"].endswith(":storage-unavailable")  # the database is down
            assert "gateway_audit: audit append failed" in problem["detail"]
            with pytest.raises(AuditWriteError, match="postgresql schema gateway_audit"):
                api.gateway.authorize(AccessRequest(**refused))
            assert api.gateway.audit.last_failure is not None
            assert server.dsn not in api.gateway.audit.last_failure
            problem_now = api.gateway.audit.readiness_problem()
            assert problem_now is not None
            assert problem_now.startswith("audit log cannot be read")
        finally:
            server.start()
            api.close()
        backend = PostgresBackend(server.dsn, pool_size=1)
        reader = DatabaseAuditRecords(backend)  # what any host reads now
        records = [parse_record(line, n) for n, line in enumerate(reader.lines())]
        backend.close()
    decided = [r.resource for r in records if r.type == "decision"]
    assert decided == ["ticket:T-1"]

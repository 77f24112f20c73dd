"""``[storage] backend = "postgresql"``: every store of the process opens its tables in the
one configured database, none in a SQLite file."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from gateway.app import open_services
from gateway.app.runtime import take_liveness
from gateway.app.services import TICKET_LEASES
from gateway.config import GatewayConfig, IdentityConfig, NotificationsConfig, TicketsConfig
from gateway.secrets import FILE_CONTEXT
from gateway.storage.postgres import PostgresBackend
from tests.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
STORES = [
    "approvals",
    "audit",
    "notify",
    "privacy",
    "runtime",
    "selfservice",
    "stepup",
    "tickets",
    "troubleshooting",
]


def _config(
    root: Path, prefix: str, *, lease_seconds: float = 30.0, retention: dict[str, int] | None = None
) -> GatewayConfig:
    """A gateway over its own folder whose stores are in the test database, in schemas
    starting with ``prefix``, holding its leases ``lease_seconds`` unrenewed."""
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copytree(REPO / "automations", root / "automations")
    shutil.copy(REPO / "gateway" / "defaults" / "directory.yaml", root / "directory.yaml")
    storage = {
        "backend": "postgresql",
        "dsn_env": "GATEWAY_TEST_DATABASE_URL",
        "schema_prefix": prefix,
        "pool_size": 4,
        "lease_seconds": lease_seconds,
    }
    tables = {"storage": storage, "privacy": {"retention": retention or {}}}
    config = GatewayConfig.model_validate(tables, context=FILE_CONTEXT).model_copy(
        update={
            "identity": IdentityConfig(static_file=Path("directory.yaml")),
            "notifications": NotificationsConfig(channel="file"),
            "tickets": TicketsConfig(enabled=True),
        }
    )
    return config.resolved(root)


@pytest.mark.postgresql
def test_every_store_opens_in_the_configured_postgresql_database(
    tmp_path: Path,
    postgres_server: PostgresServer,
    shared_postgres: PostgresBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_DATABASE_URL", postgres_server.dsn)
    prefix = f"app{uuid.uuid4().hex[:10]}_"
    config = _config(tmp_path, prefix)

    with open_services(config) as parts:
        started = parts.runtime.start(
            "access-grant", {"user": "tom", "system": "payroll", "duration_hours": 8}, actor="omar"
        )
        waiting = parts.runtime.advance(started.id)
        assert waiting.state == "pending_approval"
        assert parts.selfservice is parts.selfservice
        assert parts.troubleshooting is parts.troubleshooting
        assert parts.tickets is parts.tickets
        assert parts.gateway.stepup is not None
        assert parts.gateway.stepup.last_step_up("tom") is None

    with shared_postgres.pool.connection() as db:
        found = [
            name
            for (name,) in db.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY 1",
                (prefix,),
            ).fetchall()
        ]
        pending = db.execute(
            f'SELECT count(*) FROM "{prefix}approvals".requests WHERE state = %s', ("pending",)
        ).fetchone()
        for name in found:
            db.execute(f'DROP SCHEMA "{name}" CASCADE')
    assert found == [f"{prefix}{store}" for store in STORES]
    assert pending == (1,)
    for path in (
        config.approvals.database,
        config.runtime.database,
        config.stepup.database,
        config.selfservice.database,
        config.tickets.database,
        config.troubleshooting.database,
        config.notifications.outbox,
        config.privacy.key_store,
    ):
        assert not path.exists(), path


@pytest.mark.postgresql
def test_the_background_work_on_shared_state_runs_in_one_of_two_gateways(
    tmp_path: Path,
    postgres_server: PostgresServer,
    shared_postgres: PostgresBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_DATABASE_URL", postgres_server.dsn)
    prefix = f"app{uuid.uuid4().hex[:10]}_"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        open_services(_config(tmp_path / "a", prefix)) as first,
        open_services(_config(tmp_path / "b", prefix)) as second,
    ):
        for job in first.background_jobs() + second.background_jobs():
            job()
        assert first.leases is not None
        assert second.leases is not None
        take_liveness(first.runtime, first.leases, wait_seconds=5)  # as a serving one does
        for work in ("runtime.tick", "approvals.tick", "notify.flush", *TICKET_LEASES):
            assert second.leases.holder_of(work) == first.leases.holder
        assert second.notifier.outbox.holder != first.notifier.outbox.holder
    with shared_postgres.pool.connection() as db:
        left = db.execute(
            f'SELECT count(*) FROM "{prefix}leases".leases'
            " WHERE NOT starts_with(name, 'runtime.process.')"
        ).fetchone()
        alive = db.execute(
            f'SELECT name FROM "{prefix}leases".leases WHERE starts_with(name, %s)',
            ("runtime.process.",),
        ).fetchall()
        for (name,) in db.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall():
            db.execute(f'DROP SCHEMA "{name}" CASCADE')
    assert left == (0,)  # both released their leases on work as they closed
    assert len(alive) == 1, "the process's liveness lease is left to expire"

"""A database that cannot serve: the store fails closed with its own error, raised from
``StorageUnavailableError`` (HTTP 503 ``storage-unavailable``, exit code 5), and the
pool's connections the database cut are replaced before a transaction begins."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from gateway.errors import ExitCode
from gateway.storage import Database, StorageUnavailableError
from gateway.storage.dialect import lock_key
from gateway.storage.errors import LeaseStoreError, unavailable_cause
from gateway.storage.postgres import PostgresBackend
from tests.postgres import PostgresServer
from tests.storage.test_backends import SCHEMA, ThingStoreError

IDLE = TransactionStatus.IDLE

pytestmark = pytest.mark.postgresql


@pytest.fixture
def backend(postgres_server: PostgresServer, prefix: str) -> Iterator[PostgresBackend]:
    """A pool of its own (named, so a test can cut its connections), schemas of its own."""
    name = f"cut{uuid.uuid4().hex[:8]}"
    opened = PostgresBackend(
        f"{postgres_server.dsn} application_name={name} options='-c lock_timeout=200'",
        pool_size=3,
        prefix=prefix,
        timeout_seconds=1,
    )
    opened.name_for_tests = name  # type: ignore[attr-defined]
    yield opened
    opened.close()


def things(backend: PostgresBackend, tmp_path: Path) -> Database:
    return backend.open(SCHEMA, tmp_path / "unused.db", what="thing store", error=ThingStoreError)


def cut(postgres_server: PostgresServer, name: str) -> int:
    """End every session of the pool named ``name``, as a restart would; how many."""
    with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        ).fetchall()
    return len(rows)


def test_connections_the_database_cut_are_replaced_before_a_transaction_begins(
    backend: PostgresBackend, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    database = things(backend, tmp_path)
    held = [backend.pool.getconn() for _ in range(3)]  # three idle connections in the pool
    for connection in held:
        backend.pool.putconn(connection)
    assert cut(postgres_server, backend.name_for_tests) == 3  # type: ignore[attr-defined]

    with database.transaction() as db:  # no error: the cut ones are dropped, a new one used
        db.execute("INSERT INTO things (name) VALUES ('lamp')")
    with database.transaction(write=False) as db:
        assert db.execute("SELECT name FROM things").fetchall() == [("lamp",)]


def test_a_connection_cut_mid_transaction_fails_closed_as_storage_unavailable(
    backend: PostgresBackend, tmp_path: Path
) -> None:
    database = things(backend, tmp_path)

    def cut_midway() -> None:
        with database.transaction() as db:
            db.execute("INSERT INTO things (name) VALUES ('lamp')")
            db.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(
        ThingStoreError, match="thing store failed: the database is unavailable"
    ) as caught:
        cut_midway()
    cause = unavailable_cause(caught.value)
    assert isinstance(cause, StorageUnavailableError)
    assert str(cause) == str(caught.value)
    with database.transaction(write=False) as db:  # nothing was written
        assert db.execute("SELECT count(*) FROM things").fetchone() == (0,)


def test_a_store_lock_held_too_long_elsewhere_fails_closed_as_storage_unavailable(
    backend: PostgresBackend, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    database = things(backend, tmp_path)
    with psycopg.connect(postgres_server.dsn) as other:  # another host, mid-transaction
        other.execute(f"SELECT pg_advisory_xact_lock({lock_key(backend.prefix + 'things')})")
        with (
            pytest.raises(ThingStoreError, match="lock timeout") as caught,
            database.transaction(),
        ):
            pass
    assert unavailable_cause(caught.value) is not None


def test_a_writer_waits_its_turn_in_the_process_and_gives_up_after_the_timeout(
    backend: PostgresBackend, tmp_path: Path
) -> None:
    database = things(backend, tmp_path)
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with database.transaction():
            inside.set()
            leave.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(10)
        with database.transaction(write=False) as db:  # readers do not wait
            assert db.execute("SELECT count(*) FROM things").fetchone() == (0,)
        with (
            pytest.raises(ThingStoreError, match="no turn to write after 1 sec") as caught,
            database.transaction(),
        ):
            pass
        assert unavailable_cause(caught.value) is not None
    finally:
        leave.set()
        holder.join()


def test_other_errors_are_not_taken_for_an_unavailable_database() -> None:
    error = ThingStoreError("constraint")
    error.__cause__ = ValueError("unique")
    assert unavailable_cause(error) is None
    assert StorageUnavailableError.exit_code is ExitCode.UNAVAILABLE
    assert LeaseStoreError.exit_code is ExitCode.UNAVAILABLE


def test_a_latest_read_replaces_cut_connections_and_leaves_none_in_a_transaction(
    backend: PostgresBackend, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    database = things(backend, tmp_path)
    held = [backend.pool.getconn() for _ in range(3)]
    for connection in held:
        backend.pool.putconn(connection)
    assert cut(postgres_server, backend.name_for_tests) == 3  # type: ignore[attr-defined]
    with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
        while admin.execute(  # until the sessions have ended, not only been told to
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (backend.name_for_tests,),  # type: ignore[attr-defined]
        ).fetchone() != (0,):
            time.sleep(0.01)

    assert database.read_latest("SELECT count(*) FROM things") == (0,)  # no error: replaced

    held = [backend.pool.getconn() for _ in range(3)]
    try:
        assert [connection.info.transaction_status for connection in held] == [IDLE] * 3
    finally:
        for connection in held:
            backend.pool.putconn(connection)


def test_a_latest_read_kept_waiting_fails_closed_as_storage_unavailable(
    backend: PostgresBackend, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    database = things(backend, tmp_path)
    with psycopg.connect(postgres_server.dsn) as other:  # another host, mid-migration
        other.execute(f"LOCK TABLE {backend.prefix}things.things IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(ThingStoreError, match="lock timeout") as caught:
            database.read_latest("SELECT count(*) FROM things")
    assert unavailable_cause(caught.value) is not None
    assert database.read_latest("SELECT count(*) FROM things") == (0,)
    held = [backend.pool.getconn() for _ in range(3)]
    try:  # the connection kept waiting went back to the pool out of its transaction
        assert [connection.info.transaction_status for connection in held] == [IDLE] * 3
    finally:
        for connection in held:
            backend.pool.putconn(connection)

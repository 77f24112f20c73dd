"""A network that drops packets silently (no reset): a statement does not hang until TCP
gives up; it fails closed as storage unavailable within the store's timeout.  The
connection string gets safe bounds (connect, keepalives, statement and lock timeouts)
unless it sets its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from gateway.storage import StorageUnavailableError
from gateway.storage.deadlines import safe_conninfo
from gateway.storage.errors import unavailable_cause
from gateway.storage.postgres import PostgresBackend
from tests.postgres import PostgresServer
from tests.reliability.partition import Partition
from tests.storage.test_backends import SCHEMA, ThingStoreError


@pytest.fixture
def relay(postgres_server: PostgresServer) -> Iterator[Partition]:
    opened = Partition(postgres_server.port)
    yield opened
    opened.close()


def finished_within(seconds: float, work: Callable[[], object]) -> BaseException | None:
    """Run ``work`` in a thread; the error it raised (None if none); fails the test if it
    is still waiting after ``seconds`` (as a hung statement would be)."""
    raised: list[BaseException | None] = [None]

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test
            raised[0] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds:g} s"
    return raised[0]


@pytest.mark.postgresql
def test_a_statement_to_a_peer_that_never_answers_fails_closed_in_time(
    relay: Partition, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    backend = PostgresBackend(
        relay.dsn(postgres_server.dsn),
        pool_size=2,
        prefix=f"t{uuid.uuid4().hex[:12]}_",
        timeout_seconds=1,
    )
    try:
        things = backend.open(SCHEMA, tmp_path / "x.db", what="thing store", error=ThingStoreError)
        with things.transaction() as db:
            db.execute("INSERT INTO things (name) VALUES ('lamp')")

        relay.freeze()

        def read() -> None:
            with things.transaction(write=False) as db:
                db.execute("SELECT name FROM things").fetchall()

        error = finished_within(15, read)
        assert isinstance(error, ThingStoreError)
        assert unavailable_cause(error) is not None
        assert backend.readiness_problem() is not None
    finally:
        backend.close()


@pytest.mark.postgresql
def test_a_database_behind_a_peer_that_never_answers_is_unavailable_at_start(
    relay: Partition, postgres_server: PostgresServer
) -> None:
    relay.freeze()

    error = finished_within(
        15, lambda: PostgresBackend(relay.dsn(postgres_server.dsn), timeout_seconds=1)
    )

    assert isinstance(error, StorageUnavailableError)
    assert str(error).startswith("cannot reach the PostgreSQL database")


def test_the_connection_string_gets_safe_bounds_it_does_not_set() -> None:
    dsn, watched = safe_conninfo("host=db.example user=gateway password=s3cret", 2.5)

    found = conninfo_to_dict(dsn)
    assert watched == 2.5
    assert (found["host"], found["user"], found["password"]) == ("db.example", "gateway", "s3cret")
    assert found["connect_timeout"] == "2"
    assert (found["keepalives"], found["keepalives_idle"], found["keepalives_count"]) == (
        "1",
        "2",
        "3",
    )
    assert found["tcp_user_timeout"] == "2500"
    assert found["options"] == "-c statement_timeout=2500 -c lock_timeout=2500"


def test_bounds_the_connection_string_sets_are_kept() -> None:
    dsn, watched = safe_conninfo(
        "postgresql://gateway@db.example/gw?connect_timeout=30&keepalives=0"
        "&options=-c%20statement_timeout%3D0",
        10,
    )

    found = conninfo_to_dict(dsn)
    assert watched is None, "its own statement timeout: the watchdog leaves it alone"
    assert (found["connect_timeout"], found["keepalives"]) == ("30", "0")
    assert found["options"] == "-c statement_timeout=0 -c lock_timeout=10000"

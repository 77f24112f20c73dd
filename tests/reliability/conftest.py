"""Fixtures of the reliability tests: a fresh database per test on the worker's server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.storage.postgres import PostgresBackend
from tests.postgres import PostgresServer, fresh_database


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[str]:
    """The connection string of a database no other test uses, dropped afterwards."""
    with fresh_database(postgres_server) as dsn:
        yield dsn
        if postgres_server.process is None:  # a test that stopped it and failed
            postgres_server.start()


@pytest.fixture
def restartable(
    postgres_server: PostgresServer, shared_postgres: PostgresBackend
) -> Iterator[PostgresServer]:
    """The worker's server, for a test that stops or restarts it: running again after the
    test, and the other tests' shared pool rid of the connections the restart cut."""
    yield postgres_server
    if postgres_server.process is None:
        postgres_server.start()
    shared_postgres.pool.check()

"""Fixtures every test folder may use."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from gateway.storage import Backend, SqliteBackend, StorageSettings
from gateway.storage.postgres import PostgresBackend
from tests.postgres import INSTALL_HINT as POSTGRES_HINT
from tests.postgres import (
    FreshSchemas,
    PostgresServer,
    drop_schemas,
    new_prefix,
    running_postgres,
)
from tests.postgres import binaries as postgres_binaries
from tests.postgres import in_ci as postgres_in_ci


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that lets files be made group- and world-readable (0022, a common default),
    so that a test of file modes shows what the gateway asks for, not what the runner's
    umask happens to allow."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postgresql: needs a PostgreSQL server, started by the tests (tests/postgres.py); "
        "run them alone with pytest -m postgresql",
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for this test process (one per xdist worker), started the first
    time a test asks for it and stopped at the end of the session."""
    bin_dir = postgres_binaries()
    if bin_dir is None:
        if postgres_in_ci():
            pytest.fail(f"PostgreSQL not found: its tests need it in CI; {POSTGRES_HINT}")
        pytest.skip(POSTGRES_HINT)
    yield from running_postgres(bin_dir)


@pytest.fixture(scope="session")
def shared_postgres(postgres_server: PostgresServer) -> Iterator[PostgresBackend]:
    """One pool to the worker's PostgreSQL, shared by every test of the session."""
    backend = PostgresBackend(postgres_server.dsn, pool_size=20)
    yield backend
    backend.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def storage_kind(request: pytest.FixtureRequest) -> str:
    """Each store test twice: on SQLite files and on the tests' PostgreSQL."""
    return str(request.param)


@pytest.fixture
def storage_backend(storage_kind: str, request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The backend of ``storage_kind``: SQLite files, or fresh schemas on the shared pool."""
    if storage_kind == "sqlite":
        yield SqliteBackend()
        return
    backend = FreshSchemas(request.getfixturevalue("shared_postgres"))
    yield backend
    backend.close()


@pytest.fixture
def storage_settings(
    storage_kind: str, request: pytest.FixtureRequest
) -> Iterator[StorageSettings]:
    """``[storage]`` settings of ``storage_kind``, for tests that build the gateway from its
    configuration; on PostgreSQL, schemas no other test uses, dropped afterwards."""
    if storage_kind == "sqlite":
        yield StorageSettings()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    prefix = request.getfixturevalue("prefix")
    yield StorageSettings(
        backend="postgresql", dsn=SecretStr(server.dsn), schema_prefix=prefix, pool_size=4
    )


@pytest.fixture
def prefix(shared_postgres: PostgresBackend) -> Iterator[str]:
    """A schema prefix no other test uses on the tests' PostgreSQL, for the stores a test
    (or the gateway processes it starts) opens; their schemas are dropped afterwards."""
    chosen = new_prefix()
    yield chosen
    drop_schemas(shared_postgres, chosen)
